//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eduai/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// Issue #19, item 7: the region failover drill. The runbook's sequences
// (docs/runbooks/region-failover.md) run through the engine against the
// stand-ins with the primary region down: every call the AWS provider makes
// to us-west-2 (regional services) and every call to the primary cluster's
// API server fails, as calls to an unreachable endpoint do. The activation is
// the runbook's update with the region down (2.3: --continue-on-error, so
// the DR side and DNS change while the primary's calls fail); once the
// region is back, the full update converges; the fail-back (5.) returns to
// the primary, after unprotecting the DR instances the scale-in removes. No
// protected resource may be replaced or deleted along the way, and each
// step's end state is checked. (The promotion of the stores, cmd/promote,
// acts on AWS's side and is tested against its own model of the APIs.)
func TestRegionFailoverDrill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	env := engineEnv(t)
	dir := project(t, "prod", filepath.Join(h.root, "Pulumi.prod.yaml"))
	stackFile := filepath.Join(dir, "Pulumi.prod.yaml")
	s := newStackIn(t, ctx, "prod", dir, stacks.Run, env)
	use := func(file string) {
		t.Helper()
		useStackFile(t, stackFile, file, nil)
	}
	outageFile := filepath.Join(env["PULUMI_HOME"], "standin", "outage.json")
	var timings []string
	step := func(name string, f func() error) {
		t.Helper()
		start := time.Now()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		timings = append(timings, name+" "+time.Since(start).Round(time.Second).String())
	}
	defer func() { t.Logf("drill steps: %s", strings.Join(timings, "; ")) }()

	use(filepath.Join(h.root, "Pulumi.prod.yaml"))
	step("up", func() error { _, err := s.Up(ctx); return err })
	protected := map[string]string{} // URN -> id of every protected resource
	for _, r := range deployed(t, ctx, s) {
		if r.Protect && r.Custom {
			protected[r.URN] = r.ID
		}
	}
	if len(protected) < 20 {
		t.Fatalf("only %d protected resources in prod", len(protected))
	}

	// The primary region goes down.
	if err := os.WriteFile(outageFile, []byte(`{"regions": ["us-west-2"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// 2.3 with the region down: the whole update, continuing past the calls
	// the primary region cannot answer (a --target limited to the DR side
	// meets pulumi/pulumi#24303, a duplicate URN when the activation moves
	// the dependency edges of untargeted resources).
	use(filepath.Join(h.root, "stacks", "testdata", "prod-dr-active-secondary.yaml"))
	ch, recorded := stepRecorder()
	var upErr error
	step("activation with us-west-2 down", func() error {
		_, upErr = s.Up(ctx, optup.ContinueOnError(), optup.EventStreams(ch))
		return nil
	})
	steps, failed := recorded()
	if upErr == nil || len(failed) == 0 {
		t.Errorf("with us-west-2 down the update met no failure: %v", upErr)
	}
	for _, urn := range failed {
		// What fails is the primary region's: no DR resource, no DNS record.
		if strings.Contains(urn, "::dr-") || strings.Contains(urn, "route53") {
			t.Errorf("%s failed with us-west-2 down", urn)
		}
	}
	checkNoProtectedLoss(t, steps, protected)
	if got := failoverTarget(t, ctx, s, "dns-primary"); got != "Z26RNL4JYFTOTI" {
		t.Errorf("after the activation PRIMARY aliases zone %s, want us-east-1's", got)
	}
	// The activated DR tier: the canary runs its analysed Rollout, the database its full size.
	if r := find(deployed(t, ctx, s), "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate", "dr-service-content-service-analysis"); r == nil {
		t.Error("the activated DR region runs no canary analysis")
	}
	if n := count(deployed(t, ctx, s), "aws:rds/clusterInstance:ClusterInstance", "dr-database-global-reader-"); n != 3 {
		t.Errorf("%d instances in the promoted DR cluster, want database.instances (3)", n)
	}

	// The region is back: the full update converges (the primary tier becomes the standby).
	if err := os.Remove(outageFile); err != nil {
		t.Fatal(err)
	}
	ch, recorded = stepRecorder()
	step("full update after the region returned", func() error {
		_, err := s.Up(ctx, optup.EventStreams(ch))
		return err
	})
	steps, _ = recorded()
	checkNoProtectedLoss(t, steps, protected)

	// 5. Fail-back: the runbook unprotects the DR instances the scale-in removes, then flips back.
	unprotect(t, ctx, s, func(urn string) bool {
		return strings.HasSuffix(urn, "::dr-database-global-reader-2") || strings.HasSuffix(urn, "::dr-database-global-reader-3")
	})
	use(filepath.Join(h.root, "Pulumi.prod.yaml"))
	ch, recorded = stepRecorder()
	step("fail-back", func() error {
		_, err := s.Up(ctx, optup.EventStreams(ch))
		return err
	})
	steps, _ = recorded()
	for urn := range protected {
		if strings.HasSuffix(urn, "::dr-database-global-reader-2") || strings.HasSuffix(urn, "::dr-database-global-reader-3") {
			delete(protected, urn) // unprotected by the runbook, and gone: instances hold no data
		}
	}
	checkNoProtectedLoss(t, steps, protected)
	if got := failoverTarget(t, ctx, s, "dns-primary"); got != "Z18D5FSROUN65G" {
		t.Errorf("after the fail-back PRIMARY aliases zone %s, want us-west-2's", got)
	}
	final := deployed(t, ctx, s)
	if n := count(final, "aws:rds/clusterInstance:ClusterInstance", "dr-database-global-reader-"); n != 1 {
		t.Errorf("%d instances in the DR cluster after the fail-back, want dr.databaseReaders (1)", n)
	}
	// Every protected resource is still the one it was (same id): nothing was replaced.
	ids := map[string]string{}
	for _, r := range final {
		ids[r.URN] = r.ID
	}
	for urn, id := range protected {
		if ids[urn] != id {
			t.Errorf("%s: id %q, was %q", urn, ids[urn], id)
		}
	}
}

// stepRecorder collects the engine's steps other than same/read/refresh,
// and the URNs whose operation failed; wait returns them once the engine
// has closed the stream.
func stepRecorder() (ch chan events.EngineEvent, wait func() (steps, failed []string)) {
	ch = make(chan events.EngineEvent)
	var steps, failed []string
	done := make(chan struct{})
	go func() {
		for e := range ch {
			if p := e.ResourcePreEvent; p != nil && p.Metadata.Op != apitype.OpSame && p.Metadata.Op != apitype.OpRead &&
				p.Metadata.Op != apitype.OpRefresh {
				steps = append(steps, string(p.Metadata.Op)+" "+p.Metadata.URN)
			}
			if f := e.ResOpFailedEvent; f != nil {
				failed = append(failed, f.Metadata.URN)
			}
		}
		close(done)
	}()
	return ch, func() ([]string, []string) { <-done; return steps, failed }
}

// checkNoProtectedLoss fails on any delete or replacement of a protected resource.
func checkNoProtectedLoss(t *testing.T, steps []string, protected map[string]string) {
	t.Helper()
	for _, st := range steps {
		op, urn, _ := strings.Cut(st, " ")
		if _, ok := protected[urn]; !ok {
			continue
		}
		switch apitype.OpType(op) {
		case apitype.OpDelete, apitype.OpReplace, apitype.OpCreateReplacement, apitype.OpDeleteReplaced, apitype.OpDiscardReplaced:
			t.Errorf("protected %s: %s", urn, op)
		}
	}
}

// failoverTarget is the hosted zone a failover record aliases.
func failoverTarget(t *testing.T, ctx context.Context, s auto.Stack, name string) string {
	t.Helper()
	for _, r := range deployed(t, ctx, s) {
		if strings.HasSuffix(r.URN, "aws:route53/record:Record::"+name) {
			if aliases, _ := r.Inputs["aliases"].([]any); len(aliases) == 1 {
				zone, _ := aliases[0].(map[string]any)["zoneId"].(string)
				return zone
			}
		}
	}
	t.Fatalf("no failover record %s in the state", name)
	return ""
}

func find(rs []deployedResource, typ, name string) *deployedResource {
	for i := range rs {
		if rs[i].Type == typ && strings.HasSuffix(rs[i].URN, "::"+name) {
			return &rs[i]
		}
	}
	return nil
}

func count(rs []deployedResource, typ, prefix string) int {
	n := 0
	for _, r := range rs {
		if r.Type == typ && strings.Contains(r.URN, "::"+prefix) {
			n++
		}
	}
	return n
}

// unprotect clears protect on the matching resources, as `pulumi state
// unprotect` does: through an export and an import of the state.
func unprotect(t *testing.T, ctx context.Context, s auto.Stack, match func(urn string) bool) {
	t.Helper()
	dep, d := exportedState(t, ctx, s)
	n := 0
	for _, r := range d["resources"].([]any) {
		r := r.(map[string]any)
		if urn, _ := r["urn"].(string); match(urn) && r["protect"] == true {
			r["protect"] = false
			n++
		}
	}
	if n == 0 {
		t.Fatal("nothing to unprotect")
	}
	var err error
	if dep.Deployment, err = json.Marshal(d); err != nil {
		t.Fatal(err)
	}
	if err := s.Import(ctx, dep); err != nil {
		t.Fatal(err)
	}
}

// exportedState is the stack's state, exported, and its deployment as plain JSON.
func exportedState(t *testing.T, ctx context.Context, s auto.Stack) (apitype.UntypedDeployment, map[string]any) {
	t.Helper()
	dep, err := s.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(dep.Deployment, &d); err != nil {
		t.Fatal(err)
	}
	return dep, d
}
