//go:build e2e

// Package e2e drives the program through the real Pulumi engine: the CLI
// built from its Go module (scripts/pulumi-toolchain.sh), the program as an
// Automation API inline program, the policy pack as a prebuilt executable,
// and test-only stand-in providers (./standin) instead of the real plugins.
// It proves the engine, config, program and policy layers, not AWS's answers.
//
//	make e2e        (or: go test -tags e2e ./e2e -v -timeout 60m)
package e2e

import (
	"context"
	"encoding/json"
	"fmt"

	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/blang/semver"
	"github.com/eduai/infra/internal/mockstack"
	"github.com/eduai/infra/internal/preview"
	"github.com/eduai/infra/policies/rules"
	"github.com/eduai/infra/stacks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-eks/sdk/v2/go/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// standIns are the provider plugins the stand-in binary is installed as.
var standIns = map[string]string{
	"aws":        "github.com/pulumi/pulumi-aws/sdk/v6",
	"eks":        "github.com/pulumi/pulumi-eks/sdk/v2",
	"kubernetes": "github.com/pulumi/pulumi-kubernetes/sdk/v4",
	"random":     "github.com/pulumi/pulumi-random/sdk/v4",
}

type harness struct {
	root       string // the repository
	tmp        string
	cli        auto.PulumiCommand
	cliPath    string // the CLI binary
	cliVersion string
	policyPack string // the pack, built as an executable
	mrsummary  string // cmd/mrsummary, built
	home       string // PULUMI_HOME with the stand-ins installed
	pathDir    string
}

var h harness

func TestMain(m *testing.M) {
	code, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(2)
	}
	if code == 0 {
		code = m.Run()
	}
	_ = os.RemoveAll(h.tmp)
	os.Exit(code)
}

func run(dir string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func moduleVersion(root, module string) (string, error) {
	return run(root, "go", "list", "-m", "-f", "{{.Version}}", module)
}

func setup() (int, error) {
	var err error
	if h.root, err = filepath.Abs(".."); err != nil {
		return 0, err
	}
	if h.tmp, err = os.MkdirTemp("", "eduai-e2e-"); err != nil {
		return 0, err
	}
	start := time.Now()
	cliPath, err := run(h.root, "bash", "scripts/pulumi-toolchain.sh")
	if err != nil {
		return 0, err
	}
	cliPath = lastLine(cliPath)
	h.cliPath = cliPath
	fmt.Printf("e2e: Pulumi CLI at %s (%s)\n", cliPath, time.Since(start).Round(time.Second))
	sdk, err := moduleVersion(h.root, "github.com/pulumi/pulumi/sdk/v3")
	if err != nil {
		return 0, err
	}
	h.cliVersion = strings.TrimPrefix(sdk, "v")
	h.cli, err = auto.NewPulumiCommand(&auto.PulumiCommandOptions{
		Root: filepath.Dir(filepath.Dir(cliPath)), Version: semver.MustParse(h.cliVersion)})
	if err != nil {
		return 0, err
	}

	// The policy pack as an executable, the way CI passes it to --policy-pack.
	h.policyPack = filepath.Join(h.tmp, "bin", "eduai-policy")
	if _, err := run(h.root, "go", "build", "-o", h.policyPack, "./policies"); err != nil {
		return 0, err
	}
	h.mrsummary = filepath.Join(h.tmp, "bin", "mrsummary")
	if _, err := run(h.root, "go", "build", "-o", h.mrsummary, "./cmd/mrsummary"); err != nil {
		return 0, err
	}

	// One stand-in binary, installed under each provider's plugin name and
	// version, in a private PULUMI_HOME and on PATH.
	var pins []string
	versions := map[string]string{}
	for pkg, module := range standIns {
		v, err := moduleVersion(h.root, module)
		if err != nil {
			return 0, err
		}
		versions[pkg] = strings.TrimPrefix(v, "v")
		pins = append(pins, pkg+"="+versions[pkg])
	}
	sort.Strings(pins)
	standin := filepath.Join(h.tmp, "bin", "standin")
	if _, err := run(h.root, "go", "build", "-tags", "e2e", "-ldflags", "-X main.versions="+strings.Join(pins, ","),
		"-o", standin, "./e2e/standin"); err != nil {
		return 0, err
	}
	h.home = filepath.Join(h.tmp, "home")
	h.pathDir = filepath.Join(h.tmp, "path")
	for pkg, v := range versions {
		bin := "pulumi-resource-" + pkg
		dir := filepath.Join(h.home, "plugins", fmt.Sprintf("resource-%s-v%s", pkg, v))
		for _, d := range []string{dir, h.pathDir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return 0, err
			}
			if err := copyFile(standin, filepath.Join(d, bin), 0o755); err != nil {
				return 0, err
			}
		}
	}
	return 0, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func copyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}

// project copies Pulumi.yaml and a stack file into a fresh directory, so the
// engine writes its encryption salt there and never into tracked files.
func project(t *testing.T, stack, stackFile string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "project")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(filepath.Join(h.root, "Pulumi.yaml"), filepath.Join(dir, "Pulumi.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(stackFile, filepath.Join(dir, "Pulumi."+stack+".yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// minimalProject is a project directory for a test's own inline program.
func minimalProject(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "project")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte("name: eduai\nruntime: go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// engineEnv is a local file backend and a passphrase secrets provider, with
// the stand-ins found both on PATH and in a PULUMI_HOME of the test's own:
// its plugins are the shared ones, its standin/ folder (the stand-ins'
// world, the faults to inject) is the test's, so each test meets an empty
// account. Calling it again in the same test gives the same home.
func engineEnv(t *testing.T) map[string]string { return engineEnvIn(t, "") }

// engineEnvIn is engineEnv in another account: a world of its own named world.
func engineEnvIn(t *testing.T, world string) map[string]string {
	base := t.TempDir()
	state := filepath.Join(base, "state")
	home := testHome(t, world)
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"PULUMI_BACKEND_URL":       "file://" + state,
		"PULUMI_CONFIG_PASSPHRASE": "e2e-only-passphrase",
		"PULUMI_HOME":              home,
		"PULUMI_SKIP_UPDATE_CHECK": "true",
		"PATH":                     h.pathDir + string(os.PathListSeparator) + os.Getenv("PATH"),
	}
}

// homes are the tests' PULUMI_HOMEs, by test name.
var homes = map[string]string{}

// testHome is the test's PULUMI_HOME: the shared plugins, a world of its own.
func testHome(t *testing.T, world string) string {
	key := t.Name() + "|" + world
	if home, ok := homes[key]; ok {
		return home
	}
	home := filepath.Join(t.TempDir(), "home")
	if err := os.MkdirAll(filepath.Join(home, "standin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(h.home, "plugins"), filepath.Join(home, "plugins")); err != nil {
		t.Fatal(err)
	}
	homes[key] = home
	return home
}

func newStack(t *testing.T, ctx context.Context, stack, dir string, program pulumi.RunFunc) auto.Stack {
	t.Helper()
	return newStackIn(t, ctx, stack, dir, program, engineEnv(t))
}

// newStackIn is newStack with a given engine environment (a second stack on the same backend and world).
func newStackIn(t *testing.T, ctx context.Context, stack, dir string, program pulumi.RunFunc, env map[string]string) auto.Stack {
	t.Helper()
	s, err := auto.UpsertStackInlineSource(ctx, stack, stacks.Project, program,
		auto.WorkDir(dir), auto.Pulumi(h.cli), auto.PulumiHome(env["PULUMI_HOME"]), auto.EnvVars(env),
		auto.SecretsProvider("passphrase"))
	if err != nil {
		t.Fatalf("stack %s: %v", stack, err)
	}
	return s
}

// deployedResource is a resource of the engine's state.
type deployedResource struct {
	URN     string         `json:"urn"`
	ID      string         `json:"id"`
	Type    string         `json:"type"`
	Custom  bool           `json:"custom"`
	Protect bool           `json:"protect"`
	Inputs  map[string]any `json:"inputs"`
	Outputs map[string]any `json:"outputs"`
}

// deployed reads the resources of the stack's state (pulumi stack export).
func deployed(t *testing.T, ctx context.Context, s auto.Stack) []deployedResource {
	t.Helper()
	dep, err := s.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Resources []deployedResource `json:"resources"`
	}
	if err := json.Unmarshal(dep.Deployment, &d); err != nil {
		t.Fatal(err)
	}
	return d.Resources
}

// stateURNs is the comparison set of DECISIONS.md: custom resources the
// program registers itself, without the root stack and default providers.
func stateURNs(t *testing.T, ctx context.Context, s auto.Stack) []string {
	t.Helper()
	var urns []string
	for _, r := range deployed(t, ctx, s) {
		// Children of a remote component are the provider's, not the program's
		// (the stand-in creates pulumi-eks' aws:eks/cluster:Cluster). The
		// engine's builtin provider, which an update uses because pulumi-eks is
		// handed a resource (README "Saved plans and the engine"), is the
		// engine's, not the program's.
		if !r.Custom || r.Type == "pulumi:pulumi:Stack" || strings.Contains(r.URN, "::default_") ||
			strings.Contains(r.URN, "$eks:index:Cluster$") || r.Type == "pulumi:providers:pulumi" {
			continue
		}
		urns = append(urns, r.URN)
	}
	sort.Strings(urns)
	return urns
}

func offlineURNs(t *testing.T, stack, stackFile string) []string {
	t.Helper()
	res, err := preview.Run(context.Background(), preview.Options{Root: h.root, Stack: stack, ConfigFile: stackFile},
		stacks.Run)
	if err != nil {
		t.Fatal(err)
	}
	var urns []string
	for _, r := range res.Resources {
		if r.Custom {
			urns = append(urns, r.URN)
		}
	}
	sort.Strings(urns)
	return urns
}

func TestCLIVersion(t *testing.T) {
	if got := h.cli.Version().String(); got != h.cliVersion {
		t.Errorf("CLI version %s, want %s", got, h.cliVersion)
	}
}

// Each shipped stack: preview with the pack, then up against the stand-ins;
// the engine's resource set equals the offline preview's.
func TestShippedStacksThroughEngine(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "prod"} {
		t.Run(stack, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			stackFile := filepath.Join(h.root, "Pulumi."+stack+".yaml")
			s := newStack(t, ctx, stack, project(t, stack, stackFile), stacks.Run)
			policyConfig := filepath.Join(h.root, "policies", "config", stack+".json")

			pre, err := s.Preview(ctx, optpreview.PolicyPacks(h.policyPack), optpreview.PolicyPackConfigs(policyConfig))
			if err != nil {
				t.Fatalf("preview: %v", err)
			}
			pack := rules.PackName + "@v" + rules.PackVersion.String()
			if !strings.Contains(pre.StdOut, pack) {
				t.Errorf("preview output does not show the policy pack %s:\n%s", pack, pre.StdOut)
			}
			up, err := s.Up(ctx, optup.PolicyPacks(h.policyPack), optup.PolicyPackConfigs(policyConfig))
			if err != nil {
				t.Fatalf("up: %v", err)
			}
			if up.Summary.Result != "succeeded" {
				t.Errorf("up result %q", up.Summary.Result)
			}
			if !strings.Contains(up.StdOut, pack) {
				t.Errorf("up output does not show the policy pack %s", pack)
			}
			copied, err := os.ReadFile(filepath.Join(s.Workspace().WorkDir(), "Pulumi."+stack+".yaml"))
			if err != nil || !strings.Contains(string(copied), "encryptionsalt") {
				t.Errorf("the engine did not write its salt into the temporary copy (%v)", err)
			}
			if tracked, _ := os.ReadFile(stackFile); strings.Contains(string(tracked), "encryptionsalt") {
				t.Errorf("%s: the engine wrote into the tracked stack file", stackFile)
			}
			engine, offline := stateURNs(t, ctx, s), offlineURNs(t, stack, stackFile)
			if !slices.Equal(engine, offline) {
				t.Errorf("engine and offline resource sets differ:\nengine only: %v\noffline only: %v",
					minus(engine, offline), minus(offline, engine))
			}
			// The generated master password (the stand-in's is "offline-…") is ciphertext in
			// the state file (stack export would show it decrypted).
			backend := strings.TrimPrefix(s.Workspace().GetEnvVars()["PULUMI_BACKEND_URL"], "file://")
			state, err := os.ReadFile(filepath.Join(backend, ".pulumi", "stacks", stacks.Project, stack+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(state), "offline-") || !strings.Contains(string(state), "ciphertext") {
				t.Error("the generated database password is not encrypted in the state file")
			}
			if out, ok := up.Outputs["vpcId"]; !ok || !strings.HasPrefix(fmt.Sprint(out.Value), "vpc-") {
				t.Errorf("vpcId output: %v", up.Outputs["vpcId"])
			}
		})
	}
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// One bad stack file per rule area (stacks/testdata/policy-fixtures.tsv):
// valid config, and the real engine's preview with the pack binary is
// blocked by the area's mandatory rule, named in the error. On a fresh
// stack the cluster's kubeconfig is unknown during the preview (pulumi-eks
// builds it from the cluster's endpoint), so a stack rule over Kubernetes
// objects gives no verdict then; a rule the fresh preview does not name is
// checked on the stack as it would be once deployed (up with every rule
// advisory), whose next preview knows every value.
func TestPolicyBlocksBadStack(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(h.root, "stacks", "testdata", "policy-fixtures.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	type fixture struct {
		stack    string
		policies []string
	}
	byFile := map[string]*fixture{}
	var files []string
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if byFile[f[2]] == nil {
			byFile[f[2]] = &fixture{stack: f[1]}
			files = append(files, f[2])
		}
		byFile[f[2]].policies = append(byFile[f[2]].policies, f[3])
	}
	for _, file := range files {
		fx := byFile[file]
		t.Run(file, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			path := filepath.Join(h.root, "stacks", "testdata", file)
			s := newStack(t, ctx, fx.stack, project(t, fx.stack, path), stacks.Run)
			_, err := s.Preview(ctx, optpreview.PolicyPacks(h.policyPack),
				optpreview.PolicyPackConfigs(filepath.Join(h.root, "policies", "config", fx.stack+".json")))
			if err == nil {
				t.Fatal("preview passed; the pack should have blocked it")
			}
			var later []string
			for _, policy := range fx.policies {
				if !strings.Contains(err.Error(), policy) || !strings.Contains(err.Error(), "mandatory") {
					later = append(later, policy)
				}
			}
			if len(later) == 0 {
				return
			}
			// The stack as deployed while every rule was advisory; its next preview knows every value.
			policyConfig := filepath.Join(h.root, "policies", "config", fx.stack+".json")
			advisory := filepath.Join(t.TempDir(), "advisory.json")
			if err := os.WriteFile(advisory, []byte(`{"all":"advisory"}`), 0o644); err != nil {
				t.Fatal(err)
			}
			live := s
			if _, err := live.Up(ctx, optup.PolicyPacks(h.policyPack), optup.PolicyPackConfigs(advisory)); err != nil {
				t.Fatalf("up of %s with every rule advisory: %v", file, err)
			}
			_, err = live.Preview(ctx, optpreview.PolicyPacks(h.policyPack), optpreview.PolicyPackConfigs(policyConfig))
			for _, policy := range later {
				if err == nil || !strings.Contains(err.Error(), policy) || !strings.Contains(err.Error(), "mandatory") {
					t.Errorf("neither a fresh preview nor one on the live stack is blocked by %s: %v", policy, err)
				}
			}
		})
	}
}

// An exception by URN in the policy config lets the named resource off a
// stack rule under the real engine: the carrier policy records the
// exceptions while resources are analyzed, the stack rule reads them.
func TestExceptionThroughEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	fixture := filepath.Join(h.root, "stacks", "testdata", "prod-no-flow-logs.yaml")
	s := newStack(t, ctx, "prod", project(t, "prod", fixture), stacks.Run)
	data, err := os.ReadFile(filepath.Join(h.root, "policies", "config", "prod.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg[rules.PolicyExceptions] = map[string]any{"enforcementLevel": "advisory", "exceptions": []any{map[string]any{
		"policy": rules.VpcFlowLogs, "urn": "urn:pulumi:prod::eduai::eduai:network:Vpc$aws:ec2/vpc:Vpc::network",
		"reason": "e2e: the exception path"}}}
	out, _ := json.Marshal(cfg)
	config := filepath.Join(t.TempDir(), "prod.json")
	if err := os.WriteFile(config, out, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Preview(ctx, optpreview.PolicyPacks(h.policyPack), optpreview.PolicyPackConfigs(config)); err != nil {
		t.Errorf("the excepted VPC still blocks the preview: %v", err)
	}
}

// A config error fails the engine run with the key path and value.
func TestConfigErrorThroughEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	fixture := filepath.Join(h.root, "stacks", "testdata", "az-count.bad.yaml")
	s := newStack(t, ctx, "dev", project(t, "dev", fixture), stacks.Run)
	_, err := s.Preview(ctx)
	if err == nil || !strings.Contains(err.Error(), "network.azCount: must be 2..6 (got 9)") {
		t.Errorf("preview error: %v", err)
	}
}

// During a preview the engine sends values it does not know yet. Here the
// security group's ingress CIDR and one of its tags come from outputs of a
// resource not created yet: the pack gives no verdict on them and does not
// crash. On `up` the values become known, and the same rule blocks.
func TestPackToleratesUnknownValues(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	program := func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2"),
			DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: pulumi.StringMap{"Environment": pulumi.String("dev"),
				"Project": pulumi.String("p"), "CostCenter": pulumi.String("c"), "ManagedBy": pulumi.String("pulumi")}}})
		if err != nil {
			return err
		}
		source, err := ec2.NewVpc(ctx, "source", &ec2.VpcArgs{CidrBlock: pulumi.String("10.1.0.0/16")},
			pulumi.Provider(p))
		if err != nil {
			return err
		}
		// The ARN is an output only: unknown during the preview of a create.
		open := source.Arn.ApplyT(func(string) string { return "0.0.0.0/0" }).(pulumi.StringOutput)
		_, err = ec2.NewSecurityGroup(ctx, "unknown-cidr", &ec2.SecurityGroupArgs{
			Description: pulumi.String("ingress CIDR not known until source exists"),
			VpcId:       source.ID(),
			Ingress: ec2.SecurityGroupIngressArray{ec2.SecurityGroupIngressArgs{Protocol: pulumi.String("tcp"),
				FromPort: pulumi.Int(22), ToPort: pulumi.Int(22), CidrBlocks: pulumi.StringArray{open}}},
			Tags: pulumi.StringMap{"copied": source.Arn},
		}, pulumi.Provider(p))
		return err
	}
	dir := minimalProject(t)
	s := newStack(t, ctx, "unknowns", dir, program)
	config := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(config, []byte(`{"all":"disabled","network-sg-no-world-ingress":"mandatory","tags-aws-required":"mandatory"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	pre, err := s.Preview(ctx, optpreview.PolicyPacks(h.policyPack), optpreview.PolicyPackConfigs(config))
	if err != nil {
		t.Fatalf("preview with unknown values failed: %v", err)
	}
	if strings.Contains(pre.StdOut, rules.NoPublicIngress) {
		t.Errorf("a verdict on a value not known yet:\n%s", pre.StdOut)
	}
	_, err = s.Up(ctx, optup.PolicyPacks(h.policyPack), optup.PolicyPackConfigs(config))
	if err == nil || !strings.Contains(err.Error(), rules.NoPublicIngress) {
		t.Errorf("up with the value known: want a %s violation, got %v", rules.NoPublicIngress, err)
	}
}

// A value set as a secret stays encrypted in the state file: in the resource
// input it flows into and in the stack output, never in plain text.
func TestSecretsEncryptedInState(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const plaintext = "e2e-secret-value-7d1f"
	program := func(ctx *pulumi.Context) error {
		secret := config.RequireSecret(ctx, "token")
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		if _, err := ec2.NewVpc(ctx, "holder", &ec2.VpcArgs{CidrBlock: pulumi.String("10.1.0.0/16"),
			Tags: pulumi.StringMap{"token": secret}}, pulumi.Provider(p)); err != nil {
			return err
		}
		ctx.Export("token", secret)
		return nil
	}
	dir := minimalProject(t)
	env := engineEnv(t)
	s, err := auto.UpsertStackInlineSource(ctx, "secrets", stacks.Project, program, auto.WorkDir(dir), auto.Pulumi(h.cli),
		auto.PulumiHome(env["PULUMI_HOME"]), auto.EnvVars(env), auto.SecretsProvider("passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetConfig(ctx, "eduai:token", auto.ConfigValue{Value: plaintext, Secret: true}); err != nil {
		t.Fatal(err)
	}
	stackFile, _ := os.ReadFile(filepath.Join(dir, "Pulumi.secrets.yaml"))
	if strings.Contains(string(stackFile), plaintext) || !strings.Contains(string(stackFile), "secure:") {
		t.Errorf("secret config is not encrypted in the stack file:\n%s", stackFile)
	}
	up, err := s.Up(ctx)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	if !up.Outputs["token"].Secret {
		t.Error("the output is not marked secret")
	}
	backend := strings.TrimPrefix(env["PULUMI_BACKEND_URL"], "file://")
	state, err := os.ReadFile(filepath.Join(backend, ".pulumi", "stacks", stacks.Project, "secrets.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(state), plaintext) {
		t.Error("the secret is in plain text in the state file")
	}
	if !strings.Contains(string(state), "ciphertext") {
		t.Error("no ciphertext in the state file")
	}
}

// A remote component (pulumi-eks Cluster) goes through the stand-in's
// Construct: the engine records the component and the outputs the program
// reads from it are the same as the offline mocks give.
func TestRemoteComponentConstruct(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	program := func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		skip := true
		cluster, err := eks.NewCluster(ctx, "probe", &eks.ClusterArgs{
			Name:                  pulumi.String("probe"),
			SkipDefaultNodeGroup:  &skip,
			EndpointPrivateAccess: pulumi.Bool(true),
			EndpointPublicAccess:  pulumi.Bool(false),
		}, pulumi.Providers(p))
		if err != nil {
			return err
		}
		ctx.Export("kubeconfigJson", cluster.KubeconfigJson)
		return nil
	}
	dir := minimalProject(t)
	s := newStack(t, ctx, "remote", dir, program)
	up, err := s.Up(ctx)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	want := mockstack.FakeKubeconfig("probe", "")
	if got := fmt.Sprint(up.Outputs["kubeconfigJson"].Value); got != want {
		t.Errorf("kubeconfigJson from Construct:\n%s\nwant\n%s", got, want)
	}
	found := false
	dep, err := s.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(dep.Deployment), "eks:index:Cluster::probe") {
		found = true
	}
	if !found {
		t.Error("the engine state has no eks:index:Cluster component")
	}
}
