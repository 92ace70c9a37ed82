package service

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/util/jsonpath"
)

// Issue #19, item 3: Pulumi waits for the release, and the schema change is
// split around it.

// ready evaluates a pulumi.com/waitFor list as pulumi-kubernetes does: every
// "jsonpath={path}=value" must hold on the same observed object (the
// printed value equal to the expected one, as kubectl wait --for=jsonpath).
func ready(t *testing.T, waitFor string, obj map[string]any) bool {
	t.Helper()
	var conds []string
	if err := json.Unmarshal([]byte(waitFor), &conds); err != nil {
		t.Fatalf("waitFor %q is not a JSON list: %v", waitFor, err)
	}
	for _, c := range conds {
		expr, ok := strings.CutPrefix(c, "jsonpath=")
		if !ok {
			t.Fatalf("condition %q", c)
		}
		path, want, _ := strings.Cut(expr, "}=")
		jp := jsonpath.New("waitFor")
		if err := jp.Parse(path + "}"); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		var got strings.Builder
		if err := jp.Execute(&got, obj); err != nil || got.String() != want {
			return false
		}
	}
	return true
}

func rolloutStatus(workloadGeneration, phase string) map[string]any {
	return map[string]any{"metadata": map[string]any{"generation": int64(4)},
		"status": map[string]any{"observedGeneration": "4", "workloadObservedGeneration": workloadGeneration, "phase": phase}}
}

func TestRolloutWaitsForTheRelease(t *testing.T) {
	rec := run(t, baseArgs(Canary))
	rollout := rec.Named("kubernetes:argoproj.io/v1alpha1:Rollout", "svc-rollout")
	ann := m(obj(rollout)["metadata"])["annotations"]
	if ann == nil {
		t.Fatal("the Rollout has no pulumi.com/waitFor: Pulumi calls a custom resource ready once it is created")
	}
	waitFor, _ := m(ann)[WaitForAnnotation].(string)
	// The mock API server starts the Deployment at generation 1.
	if waitFor != RolloutWaitFor(1) {
		t.Errorf("waitFor %q, want %q", waitFor, RolloutWaitFor(1))
	}
	if !slices.Contains(rollout.Dependencies, rec.Named("kubernetes:apps/v1:Deployment", "svc").URN) {
		t.Error("the Rollout does not follow its Deployment")
	}
	// What Pulumi would accept, for the Deployment's second generation.
	w := RolloutWaitFor(2)
	for _, c := range []struct {
		generation, phase string
		want              bool
	}{
		{"1", "Healthy", false}, // the previous release's status, before Argo Rollouts saw the new template
		{"2", "Progressing", false},
		{"2", "Paused", false},   // an inconclusive analysis, or a step's pause
		{"2", "Degraded", false}, // aborted
		{"2", "Healthy", true},
	} {
		if got := ready(t, w, rolloutStatus(c.generation, c.phase)); got != c.want {
			t.Errorf("workload generation %s, phase %s: ready %v, want %v", c.generation, c.phase, got, c.want)
		}
	}
	// The wait covers the canary's pauses and a progress deadline.
	if rollout.UpdateTimeout != "50m0s" || rollout.CreateTimeout != "50m0s" || RolloutTimeout() != 50*time.Minute {
		t.Errorf("rollout timeouts %q/%q", rollout.CreateTimeout, rollout.UpdateTimeout)
	}
	if spec(rollout)["progressDeadlineSeconds"] != float64(600) {
		t.Errorf("progress deadline %v", spec(rollout)["progressDeadlineSeconds"])
	}
}

func migrationArgs(strategy Strategy) *Args {
	args := baseArgs(strategy)
	args.Migration = &Migration{Command: []string{"/app/migrate", "-dir", "/migrations/expand", "up"},
		Contract: []string{"/app/migrate", "-dir", "/migrations/contract", "-table", "goose_contract_version", "up"}}
	return args
}

func env(t *testing.T, job map[string]any) map[string]string {
	t.Helper()
	c := m(m(m(job["template"])["spec"])["containers"].([]any)[0])
	out := map[string]string{}
	for _, e := range c["env"].([]any) {
		out[m(e)["name"].(string)] = m(e)["value"].(string)
	}
	return out
}

func TestExpandAndContract(t *testing.T) {
	for _, c := range []struct {
		strategy Strategy
		after    []string // what the contract step waits for
	}{
		{Rolling, []string{"kubernetes:apps/v1:Deployment::svc"}},
		{Canary, []string{"kubernetes:argoproj.io/v1alpha1:Rollout::svc-rollout"}},
	} {
		rec := run(t, migrationArgs(c.strategy))
		expand := rec.Named("kubernetes:batch/v1:Job", "svc-migrate")
		contract := rec.Named("kubernetes:batch/v1:Job", "svc-contract")
		if expand == nil || contract == nil {
			t.Fatalf("%s: expand %v contract %v", c.strategy, expand != nil, contract != nil)
		}
		for _, a := range c.after {
			typ, name, _ := strings.Cut(a, "::")
			if !slices.Contains(contract.Dependencies, rec.Named(typ, name).URN) {
				t.Errorf("%s: the contract step does not wait for %s", c.strategy, a)
			}
		}
		if fmt.Sprint(m(m(m(spec(contract)["template"])["spec"])["containers"].([]any)[0])["command"]) !=
			"[/app/migrate -dir /migrations/contract -table goose_contract_version up]" {
			t.Errorf("%s: contract command", c.strategy)
		}
		if n := m(obj(contract)["metadata"])["name"]; n != "content-service-contract-v1-2-0" {
			t.Errorf("%s: contract job %v", c.strategy, n)
		}
		for _, job := range []map[string]any{spec(expand), spec(contract)} {
			if env(t, job)["PGOPTIONS"] != "-c lock_timeout=10000ms -c statement_timeout=240000ms" {
				t.Errorf("%s: session limits %v", c.strategy, env(t, job))
			}
			// Pulumi outwaits the Job's own budget: deadline 900 s over three attempts.
			if job["activeDeadlineSeconds"] != float64(900) || job["backoffLimit"] != float64(2) {
				t.Errorf("%s: job budget %v/%v", c.strategy, job["activeDeadlineSeconds"], job["backoffLimit"])
			}
		}
		for _, j := range []string{"svc-migrate", "svc-contract"} {
			if r := rec.Named("kubernetes:batch/v1:Job", j); r.CreateTimeout != "16m0s" || r.UpdateTimeout != "16m0s" {
				t.Errorf("%s: %s waits %q/%q", c.strategy, j, r.CreateTimeout, r.UpdateTimeout)
			}
		}
		if slices.Contains(expand.Dependencies, contract.URN) || !slices.Contains(
			rec.Named("kubernetes:apps/v1:Deployment", "svc").Dependencies, expand.URN) {
			t.Errorf("%s: the new version does not wait for the expand step", c.strategy)
		}
	}
	// Both the expand and the statement limits fit the Job's deadline with time to retry.
	if LockTimeout+StatementTimeout >= jobDeadline/(jobBackoffLimit+1) {
		t.Errorf("a migration attempt may outlive its share of the Job's deadline")
	}
}

// Blue-green: the contract step waits until the old color has no pods (the
// rollback target keeps its schema until then), and follows the switch.
func TestBlueGreenContractAfterIdleScaledDown(t *testing.T) {
	args := migrationArgs(BlueGreen)
	args.BlueGreen.ActiveColor = Green
	if rec := run(t, args); rec.Named("kubernetes:batch/v1:Job", "svc-contract") != nil {
		t.Error("the contract step runs while the blue color still holds pods")
	}
	args.BlueGreen.KeepIdleUntil = now.Add(-time.Hour)
	rec := run(t, args)
	contract := rec.Named("kubernetes:batch/v1:Job", "svc-contract")
	if contract == nil {
		t.Fatal("no contract step once the idle color is at zero")
	}
	for _, name := range []string{"svc-blue"} {
		if !slices.Contains(contract.Dependencies, rec.Named("kubernetes:apps/v1:Deployment", name).URN) {
			t.Errorf("the contract step does not wait for %s", name)
		}
	}
	if !slices.Contains(contract.Dependencies, rec.Named("kubernetes:networking.istio.io/v1:VirtualService", "svc-routes").URN) ||
		!slices.Contains(contract.Dependencies, rec.Named("kubernetes:argoproj.io/v1alpha1:AnalysisRun", "svc-analysis").URN) {
		t.Error("the contract step does not follow the switch and its analysis")
	}
	// The serving color's tag.
	if n := m(obj(contract)["metadata"])["name"]; n != "content-service-contract-v1-3-0" {
		t.Errorf("contract job %v", n)
	}
}
