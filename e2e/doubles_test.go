//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/eduai/infra/stacks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-eks/sdk/v2/go/eks"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The stand-ins are our model of AWS: these tests show them refusing what
// AWS and the AWS provider refuse, through the real engine.

func awsProvider(ctx *pulumi.Context) (*aws.Provider, error) {
	return aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
}

// The Global Datastore secondary of the review: atRestEncryptionEnabled next
// to globalReplicationGroupId. With the id an output of a group not created
// yet the preview cannot judge it and passes; `up` knows the id and the
// stand-in's Check refuses it, as the AWS provider does
// (hashicorp/terraform-provider-aws#19053). Given as a plain id, the
// preview already refuses it.
func TestStandInRefusesSchemaConflict(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	secondary := func(id func(*elasticache.GlobalReplicationGroup) pulumi.StringInput) pulumi.RunFunc {
		return func(ctx *pulumi.Context) error {
			p, err := awsProvider(ctx)
			if err != nil {
				return err
			}
			primary, err := elasticache.NewReplicationGroup(ctx, "primary", &elasticache.ReplicationGroupArgs{
				ReplicationGroupId: pulumi.String("eduai-e2e"), Description: pulumi.String("primary"),
				NodeType: pulumi.String("cache.r6g.large"), NumCacheClusters: pulumi.Int(2),
			}, pulumi.Provider(p))
			if err != nil {
				return err
			}
			global, err := elasticache.NewGlobalReplicationGroup(ctx, "global", &elasticache.GlobalReplicationGroupArgs{
				GlobalReplicationGroupIdSuffix: pulumi.String("eduai-e2e"), PrimaryReplicationGroupId: primary.ID(),
			}, pulumi.Provider(p))
			if err != nil {
				return err
			}
			_, err = elasticache.NewReplicationGroup(ctx, "secondary", &elasticache.ReplicationGroupArgs{
				ReplicationGroupId: pulumi.String("eduai-e2e-dr"), Description: pulumi.String("secondary"),
				GlobalReplicationGroupId: id(global), AtRestEncryptionEnabled: pulumi.Bool(true),
			}, pulumi.Provider(p))
			return err
		}
	}
	const conflict = "atRestEncryptionEnabled conflicts with globalReplicationGroupId"
	s := newStack(t, ctx, "conflict", minimalProject(t), secondary(func(g *elasticache.GlobalReplicationGroup) pulumi.StringInput {
		return g.GlobalReplicationGroupId
	}))
	if _, err := s.Preview(ctx); err != nil {
		t.Errorf("the preview, with the id unknown, should pass: %v", err)
	}
	_, err := s.Up(ctx)
	if err == nil || !strings.Contains(err.Error(), conflict) {
		t.Errorf("up with the id known: want %q, got %v", conflict, err)
	}
	plain := newStack(t, ctx, "conflict-plain", minimalProject(t), secondary(func(*elasticache.GlobalReplicationGroup) pulumi.StringInput {
		return pulumi.String("ldgnf-eduai-e2e")
	}))
	if _, err := plain.Preview(ctx); err == nil || !strings.Contains(err.Error(), conflict) {
		t.Errorf("preview with a plain id: want %q, got %v", conflict, err)
	}
}

// clusterProgram is a pulumi-eks cluster, a Pod Identity association naming
// it by clusterName, and a ConfigMap in a namespace; plain says whether the
// association takes the name as a plain string (no dependency) or as the
// cluster's output, and namespace whether the namespace is created first.
func clusterProgram(plain, namespace bool) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		p, err := awsProvider(ctx)
		if err != nil {
			return err
		}
		skip := true
		cluster, err := eks.NewCluster(ctx, "probe", &eks.ClusterArgs{Name: pulumi.String("probe-cluster"),
			SkipDefaultNodeGroup: &skip, EndpointPrivateAccess: pulumi.Bool(true), EndpointPublicAccess: pulumi.Bool(false)},
			pulumi.Providers(p))
		if err != nil {
			return err
		}
		role, err := iam.NewRole(ctx, "reader", &iam.RoleArgs{AssumeRolePolicy: pulumi.String(`{"Version":"2012-10-17",` +
			`"Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},` +
			`"Action":["sts:AssumeRole","sts:TagSession"]}]}`)}, pulumi.Provider(p))
		if err != nil {
			return err
		}
		var name pulumi.StringInput = pulumi.String("probe-cluster")
		if !plain {
			name = cluster.KubeconfigJson.ApplyT(func(string) string { return "probe-cluster" }).(pulumi.StringOutput)
		}
		if _, err := awseks.NewPodIdentityAssociation(ctx, "reader", &awseks.PodIdentityAssociationArgs{
			ClusterName: name, Namespace: pulumi.String("apps"), ServiceAccount: pulumi.String("reader"), RoleArn: role.Arn,
		}, pulumi.Provider(p)); err != nil {
			return err
		}
		k8s, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{Kubeconfig: cluster.KubeconfigJson})
		if err != nil {
			return err
		}
		var deps []pulumi.Resource
		if namespace {
			ns, err := corev1.NewNamespace(ctx, "apps", &corev1.NamespaceArgs{
				Metadata: metav1.ObjectMetaArgs{Name: pulumi.String("apps")}}, pulumi.Provider(k8s))
			if err != nil {
				return err
			}
			deps = append(deps, ns)
		}
		_, err = corev1.NewConfigMap(ctx, "settings", &corev1.ConfigMapArgs{
			Metadata: metav1.ObjectMetaArgs{Name: pulumi.String("settings"), Namespace: pulumi.String("apps")},
			Data:     pulumi.StringMap{"k": pulumi.String("v")},
		}, pulumi.Provider(k8s), pulumi.DependsOn(deps))
		return err
	}
}

// A create before its referent exists is refused as AWS and Kubernetes
// refuse it: the association named by a plain string is created while EKS
// is still creating the cluster (ResourceNotFoundException), a ConfigMap in
// a namespace nobody creates meets `namespaces "apps" not found`. With the
// cluster's output and the namespace first, the same program comes up.
func TestStandInRefusesCreateBeforeReferent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// (The engine stops at the first failed create, so one fault per program.)
	s := newStack(t, ctx, "early", minimalProject(t), clusterProgram(true, true))
	_, err := s.Up(ctx)
	if err == nil || !strings.Contains(err.Error(), `ResourceNotFoundException: No cluster found for name (clusterName = "probe-cluster")`) {
		t.Errorf("association before its cluster: %v", err)
	}
	// Each program in an account of its own: the cluster's name is taken in the first.
	s = newStackIn(t, ctx, "no-namespace", minimalProject(t), clusterProgram(false, false), engineEnvIn(t, "second"))
	if _, err := s.Up(ctx); err == nil || !strings.Contains(err.Error(), `namespaces "apps" not found`) {
		t.Errorf("ConfigMap without its namespace: %v", err)
	}
	ok := newStackIn(t, ctx, "ordered", minimalProject(t), clusterProgram(false, true), engineEnvIn(t, "third"))
	if _, err := ok.Up(ctx); err != nil {
		t.Errorf("the ordered program: %v", err)
	}
}

// withStackFile rewrites a project's stack file through edit, keeping the
// engine's encryption salt.
func withStackFile(t *testing.T, dir, stack string, edit func(string) string) {
	t.Helper()
	file := filepath.Join(dir, "Pulumi."+stack+".yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := edit(string(data))
	if out == string(data) {
		t.Fatalf("the edit changed nothing in %s", file)
	}
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A change of a forceNew property of a protected stateful resource — the
// Aurora cluster's master user in staging — is a replacement the engine
// refuses (protect), and the merge-request summary names it first.
func TestReplacementRefusedByProtect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	env := engineEnv(t)
	dir := project(t, "staging", filepath.Join(h.root, "Pulumi.staging.yaml"))
	s := newStackIn(t, ctx, "staging", dir, stacks.Run, env)
	if _, err := s.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	withStackFile(t, dir, "staging", func(f string) string {
		return strings.Replace(f, "  eduai:database:\n", "  eduai:database:\n    masterUsername: eduai_owner\n", 1)
	})
	_, err := s.Preview(ctx)
	if err == nil || !strings.Contains(err.Error(), "unable to replace resource") ||
		!strings.Contains(err.Error(), "aws:rds/cluster:Cluster::database") || !strings.Contains(err.Error(), "protect") {
		t.Errorf("preview of a master-user change: want the engine to refuse replacing the protected cluster, got %v", err)
	}
	// The merge-request job on the same backend: the note leads with the replacement.
	out := filepath.Join(t.TempDir(), "preview.md")
	mr := exec.Command(h.mrsummary, "--root", dir, "--stacks", "staging",
		"--policy-pack", h.policyPack, "--policy-config-dir", filepath.Join(h.root, "policies", "config"),
		"--pulumi", h.cliPath, "--pulumi-version", h.cliVersion, "--out", out)
	mr.Env = os.Environ()
	for k, v := range env {
		mr.Env = append(mr.Env, k+"="+v)
	}
	logs, err := mr.CombinedOutput()
	if err == nil {
		t.Errorf("mrsummary passed a refused replacement:\n%s", logs)
	}
	note, rerr := os.ReadFile(out)
	if rerr != nil {
		t.Fatalf("no note: %v\n%s", rerr, logs)
	}
	first := strings.SplitN(strings.SplitN(string(note), "\n| stack |", 2)[0], "\n", -1)
	if !strings.Contains(strings.Join(first, "\n"), "staging: replaces") || !strings.Contains(strings.Join(first, "\n"), "`database`") {
		t.Errorf("the note does not lead with the Aurora cluster's replacement:\n%s", note)
	}
}

// state is a deployment's resources as compared between runs: everything
// but timestamps, ciphertexts (a fresh nonce each time), where the program
// ran from, provider instance ids and the order of dependency lists.
func state(t *testing.T, ctx context.Context, s auto.Stack) (map[string]any, int) {
	t.Helper()
	dep, err := s.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Resources         []map[string]any `json:"resources"`
		PendingOperations []any            `json:"pending_operations"`
	}
	if err := json.Unmarshal(dep.Deployment, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, r := range d.Resources {
		delete(r, "created")
		delete(r, "modified")
		if strings.HasPrefix(fmt.Sprint(r["type"]), "pulumi:providers:") {
			delete(r, "id") // a provider instance's id is a fresh UUID
		}
		sortStrings(r["dependencies"])
		if pd, ok := r["propertyDependencies"].(map[string]any); ok {
			for _, v := range pd {
				sortStrings(v)
			}
		}
		out[r["urn"].(string)] = scrub(r)
	}
	return out, len(d.PendingOperations)
}

func sortStrings(v any) {
	if list, ok := v.([]any); ok {
		sort.Slice(list, func(i, j int) bool { return fmt.Sprint(list[i]) < fmt.Sprint(list[j]) })
	}
}

func scrub(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["ciphertext"]; ok {
			return "[secret]"
		}
		// Where the program ran from, and the provider instance's id, differ between runs.
		delete(x, "stackTrace")
		delete(x, "sourcePosition")
		if p, ok := x["provider"].(string); ok {
			x["provider"] = p[:max(strings.LastIndex(p, "::"), 0)]
		}
		for k, e := range x {
			x[k] = scrub(e)
		}
	case []any:
		for i, e := range x {
			x[i] = scrub(e)
		}
	}
	return v
}

func writeFaults(t *testing.T, env map[string]string, faults string) {
	t.Helper()
	dir := filepath.Join(env["PULUMI_HOME"], "standin")
	if err := os.WriteFile(filepath.Join(dir, "faults.json"), []byte(faults), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(dir, "faults.count"))
	_ = os.Remove(filepath.Join(dir, "hung"))
}

// cleanState is the state of staging brought up in one clean run.
func cleanState(t *testing.T, ctx context.Context) map[string]any {
	t.Helper()
	s := newStackIn(t, ctx, "staging", project(t, "staging", filepath.Join(h.root, "Pulumi.staging.yaml")), stacks.Run,
		engineEnvIn(t, "clean"))
	if _, err := s.Up(ctx); err != nil {
		t.Fatalf("clean up: %v", err)
	}
	st, _ := state(t, ctx, s)
	return st
}

func replaced(res auto.UpResult) int {
	if res.Summary.ResourceChanges == nil {
		return 0
	}
	c := *res.Summary.ResourceChanges
	return c["replace"] + c["create-replacement"] + c["delete-replaced"]
}

func compareStates(t *testing.T, got, want map[string]any) {
	t.Helper()
	var missing, differ []string
	for urn, w := range want {
		g, ok := got[urn]
		switch {
		case !ok:
			missing = append(missing, urn)
		case !reflect.DeepEqual(g, w):
			differ = append(differ, urn)
		}
	}
	sort.Strings(missing)
	sort.Strings(differ)
	for _, urn := range differ[:min(2, len(differ))] {
		g, _ := json.Marshal(got[urn])
		w, _ := json.Marshal(want[urn])
		t.Logf("%s\ngot  %s\nwant %s", urn, g, w)
	}
	if len(got) != len(want) || len(missing) > 0 || len(differ) > 0 {
		t.Errorf("the converged state is not a clean run's: %d vs %d resources; missing %v; different %v",
			len(got), len(want), missing, differ)
	}
}

// An `up` that fails midway — AWS refuses the first Aurora instance — and
// a rerun once the cause is gone converge to the state of a clean run,
// replacing nothing.
func TestFailedUpConverges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	want := cleanState(t, ctx)
	env := engineEnv(t)
	writeFaults(t, env, `[{"op":"create","match":"aws:rds/clusterInstance:ClusterInstance","nth":1,`+
		`"error":"InsufficientDBInstanceCapacity: Cannot create a db.r6g.large instance in us-west-2b"}]`)
	s := newStackIn(t, ctx, "staging", project(t, "staging", filepath.Join(h.root, "Pulumi.staging.yaml")), stacks.Run, env)
	if _, err := s.Up(ctx); err == nil || !strings.Contains(err.Error(), "InsufficientDBInstanceCapacity") {
		t.Fatalf("the injected fault did not fail the up: %v", err)
	}
	partial, _ := state(t, ctx, s)
	if len(partial) >= len(want) {
		t.Fatalf("the failed up recorded %d resources, a clean one %d", len(partial), len(want))
	}
	writeFaults(t, env, `[]`)
	upConverges(t, ctx, s, want, "the rerun")
}

// upConverges runs up and checks that it succeeds, replaces nothing, leaves
// no pending operation and reaches want, a clean run's state.
func upConverges(t *testing.T, ctx context.Context, s auto.Stack, want map[string]any, what string) {
	t.Helper()
	res, err := s.Up(ctx)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if n := replaced(res); n != 0 {
		t.Errorf("%s replaced %d resources", what, n)
	}
	got, pending := state(t, ctx, s)
	if pending != 0 {
		t.Errorf("%s left %d pending operations", what, pending)
	}
	compareStates(t, got, want)
}

// upUntilHung runs `up` until the stand-in reports the hung create, then
// kills the CLI (the Automation API's process, through its context): the
// engine never hears back, and the state keeps the pending operation.
func upUntilHung(t *testing.T, s auto.Stack, env map[string]string) string {
	t.Helper()
	ctx, kill := context.WithCancel(context.Background())
	defer kill()
	hung := filepath.Join(env["PULUMI_HOME"], "standin", "hung")
	done := make(chan error, 1)
	go func() { _, err := s.Up(ctx); done <- err }()
	deadline := time.After(5 * time.Minute)
	for {
		select {
		case err := <-done:
			t.Fatalf("up ended before the hang: %v", err)
		case <-deadline:
			t.Fatal("the stand-in never hung")
		case <-time.After(100 * time.Millisecond):
		}
		if b, err := os.ReadFile(hung); err == nil && len(b) > 0 {
			kill()
			<-done
			return strings.TrimSpace(string(b))
		}
	}
}

// pendingCreates are the URNs of the state's pending create operations.
func pendingCreates(t *testing.T, ctx context.Context, s auto.Stack) []string {
	t.Helper()
	dep, err := s.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		PendingOperations []struct {
			Resource struct {
				URN string `json:"urn"`
			} `json:"resource"`
			Type string `json:"type"`
		} `json:"pending_operations"`
	}
	if err := json.Unmarshal(dep.Deployment, &d); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, op := range d.PendingOperations {
		if op.Type == "creating" {
			out = append(out, op.Resource.URN)
		}
	}
	return out
}

// inAWS looks a resource up in the stand-ins' world (the test's view of
// the AWS console): its id, when AWS finished creating it.
func inAWS(t *testing.T, env map[string]string, urn string) (string, bool) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(env["PULUMI_HOME"], "standin", "world", "*.json"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var e struct{ URN, ID string }
		if json.Unmarshal(data, &e) == nil && e.URN == urn {
			return e.ID, true
		}
	}
	return "", false
}

// recoverInterrupted is the runbook's recovery (docs/runbooks/interrupted-deploy.md):
// remove the stale lock; adopt each pending create AWS finished (stack export,
// the operation's resource moved into the resources with its id, stack
// import, refresh); drop the others (refresh --clear-pending-creates).
// (`refresh --import-pending-creates` of CLI v3.274.1 drops the operation
// without adopting the resource: the next `up` met AlreadyExists here.)
func recoverInterrupted(t *testing.T, ctx context.Context, s auto.Stack, env map[string]string) {
	t.Helper()
	if err := s.Cancel(ctx); err != nil {
		t.Fatalf("pulumi cancel: %v", err)
	}
	dep, d := exportedState(t, ctx, s)
	ops, _ := d["pending_operations"].([]any)
	resources, _ := d["resources"].([]any)
	var keep []any
	adopted := 0
	for _, o := range ops {
		op := o.(map[string]any)
		res := op["resource"].(map[string]any)
		if id, ok := inAWS(t, env, res["urn"].(string)); ok && op["type"] == "creating" {
			res["id"] = id
			resources = append(resources, res)
			adopted++
			continue
		}
		keep = append(keep, o)
	}
	if adopted > 0 {
		d["resources"], d["pending_operations"] = resources, keep
		var err error
		if dep.Deployment, err = json.Marshal(d); err != nil {
			t.Fatal(err)
		}
		if err := s.Import(ctx, dep); err != nil {
			t.Fatalf("pulumi stack import: %v", err)
		}
	}
	if len(pendingCreates(t, ctx, s)) > 0 {
		if _, err := s.Refresh(ctx, optrefresh.ClearPendingCreates()); err != nil {
			t.Fatalf("refresh --clear-pending-creates: %v", err)
		}
	} else if _, err := s.Refresh(ctx); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if left := pendingCreates(t, ctx, s); len(left) > 0 {
		t.Fatalf("pending creates left after the recovery: %v", left)
	}
}

// An `up` whose CLI is killed mid-flight leaves its lock and pending
// creates. Without the recovery the next `up` is refused: by the stale lock,
// and, for a create AWS finished (hang "after"), by AlreadyExists. The
// runbook's recovery (recoverInterrupted) clears them, and `up` converges
// to a clean run's state, replacing nothing.
func TestInterruptedUpRecovers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	want := cleanState(t, ctx)
	const aurora = "urn:pulumi:staging::eduai::eduai:data:Aurora$aws:rds/cluster:Cluster::database"
	for _, hang := range []string{"before", "after"} {
		t.Run(hang, func(t *testing.T) {
			env := engineEnv(t)
			writeFaults(t, env, `[{"op":"create","match":"`+aurora+`","nth":1,"hang":"`+hang+`"}]`)
			s := newStackIn(t, ctx, "staging", project(t, "staging", filepath.Join(h.root, "Pulumi.staging.yaml")),
				stacks.Run, env)
			if urn := upUntilHung(t, s, env); urn != aurora {
				t.Fatalf("hung on %s", urn)
			}
			writeFaults(t, env, `[]`)
			if pending := pendingCreates(t, ctx, s); !slices.Contains(pending, aurora) {
				t.Fatalf("the interrupted up left no pending create of the cluster: %v", pending)
			}
			if _, err := s.Up(ctx); err == nil || !strings.Contains(err.Error(), "locked") {
				t.Fatalf("an up on the stale lock: want the lock error, got %v", err)
			}
			if hang == "after" {
				if err := s.Cancel(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Up(ctx); err == nil || !strings.Contains(err.Error(), "AlreadyExists") {
					t.Fatalf("up over a create AWS finished: want AlreadyExists, got %v", err)
				}
			}
			recoverInterrupted(t, ctx, s, env)
			upConverges(t, ctx, s, want, "the up after the recovery")
		})
	}
}
