package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eduai/infra/internal/preview"
	"github.com/eduai/infra/policies/rules"
	"github.com/eduai/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

func runPreview(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(append([]string{"--root", "../.."}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"dev passes with an advisory", []string{"--stack", "dev"}, 0, "[advisory] network-vpc-flow-logs", ""},
		{"prod passes", []string{"--stack", "prod"}, 0, "(0 mandatory,", ""},
		{"prod without flow logs is blocked by the pack", []string{"--stack", "prod", "--config",
			"../../stacks/testdata/prod-no-flow-logs.yaml"}, 1, "[mandatory] network-vpc-flow-logs", ""},
		{"a public EKS endpoint in prod is blocked by the pack", []string{"--stack", "prod", "--config",
			"../../stacks/testdata/prod-public-endpoint.yaml"}, 1, "[mandatory] cluster-eks-endpoint-private", ""},
		{"an image on latest in prod is blocked by the pack", []string{"--stack", "prod", "--config",
			"../../stacks/testdata/prod-latest-tag.yaml"}, 1, "[mandatory] workload-image-tag-pinned", ""},
		{"a canary without analysis in prod is blocked by the pack", []string{"--stack", "prod", "--config",
			"../../stacks/testdata/prod-canary-no-analysis.yaml"}, 1, "[mandatory] delivery-rollout-analysis", ""},
		{"a service without probes is blocked by the pack", []string{"--stack", "prod", "--config",
			"../../stacks/testdata/prod-no-probes.yaml"}, 1, "[mandatory] workload-container-probes", ""},
		{"prod without disaster recovery is blocked by the pack", []string{"--stack", "prod", "--config",
			"../../stacks/testdata/prod-dr-disabled.yaml"}, 1, "[mandatory] dr-aurora-global-member", ""},
		{"azCount 9 is a config error", []string{"--stack", "prod", "--config",
			"../../stacks/testdata/az-count.bad.yaml"}, 2, "", "network.azCount: must be 2..6 (got 9)"},
		{"unknown key is a config error", []string{"--stack", "dev", "--config",
			"../../stacks/testdata/unknown-key.bad.yaml"}, 2, "", "network.natGateways: unknown key"},
		{"no stack", nil, 2, "", "--stack is required"},
		{"missing stack file", []string{"--stack", "qa"}, 2, "", "Pulumi.qa.yaml"},
	}
	for _, c := range cases {
		code, out, errOut := runPreview(c.args...)
		if code != c.code || !strings.Contains(out, c.stdout) || !strings.Contains(errOut, c.stderr) {
			t.Errorf("%s: exit %d (want %d)\nstdout: %s\nstderr: %s", c.name, code, c.code, tail(out), errOut)
		}
		if c.code == 2 && out != "" {
			t.Errorf("%s: a failed run printed a plan", c.name)
		}
	}
}

func tail(s string) string {
	if len(s) > 600 {
		return "…" + s[len(s)-600:]
	}
	return s
}

// The text plan is a tree grouped by component with a count per type.
func TestTextPlan(t *testing.T) {
	_, out, _ := runPreview("--stack", "staging")
	for _, want := range []string{
		"pulumi:pulumi:Stack", "├─ eduai:network:Vpc", "│  ├─ aws:ec2/vpc:Vpc", "├─ pulumi:providers:aws", "├─ pulumi:providers:eks", "├─ pulumi:providers:kubernetes", "└─ pulumi:providers:random",
		"   3  aws:ec2/natGateway:NatGateway", "   9  aws:ec2/subnet:Subnet", "Policy verdict: passed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text plan lacks %q", want)
		}
	}
}

func TestJSONDocument(t *testing.T) {
	code, out, _ := runPreview("--stack", "prod", "--json", "--config", "../../stacks/testdata/prod-no-flow-logs.yaml")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Stack     string `json:"stack"`
		Resources []struct {
			URN, Type, Name, Parent, Provider string
			Protect                           bool
			Dependencies                      []string
			Inputs                            map[string]any
		} `json:"resources"`
		Outputs map[string]any `json:"outputs"`
		Policy  struct {
			Violations []struct{ Policy, Enforcement, URN, Message string } `json:"violations"`
			Mandatory  int                                                  `json:"mandatory"`
			Advisory   int                                                  `json:"advisory"`
		} `json:"policy"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Stack != "prod" || len(doc.Resources) < 40 || doc.Outputs["vpcId"] == nil {
		t.Errorf("document: stack %q, %d resources, outputs %v", doc.Stack, len(doc.Resources), doc.Outputs)
	}
	var mandatory []string
	for _, v := range doc.Policy.Violations {
		if v.Enforcement == "mandatory" {
			mandatory = append(mandatory, v.Policy+" "+v.URN)
		}
	}
	if doc.Policy.Mandatory != 1 || len(mandatory) != 1 ||
		mandatory[0] != "network-vpc-flow-logs urn:pulumi:prod::eduai::eduai:network:Vpc$aws:ec2/vpc:Vpc::network" {
		t.Errorf("policy: %+v", doc.Policy)
	}
	for _, r := range doc.Resources {
		if r.Type == "aws:ec2/vpc:Vpc" && r.Name == "network" && (r.Inputs["cidrBlock"] != "10.30.0.0/16" || r.Parent == "" || r.Provider == "") {
			t.Errorf("vpc record: %+v", r)
		}
	}
}

// Secret config values never reach the output in plain text.
func TestSecretsRedacted(t *testing.T) {
	code, out, errOut := runPreview("--stack", "dev", "--json", "--config", "testdata/secret-tag.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "v1:c2VjcmV0") {
		t.Error("ciphertext in the output")
	}
	if !strings.Contains(out, `"[secret]"`) {
		t.Error("no [secret] placeholder in the output")
	}
}

// Generated secrets (the Aurora master password, the Redis AUTH token, and
// the Secrets Manager secret strings holding them) appear only as [secret].
func TestGeneratedSecretsRedacted(t *testing.T) {
	code, out, errOut := runPreview("--stack", "prod", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out, "offline-") {
		t.Error("a generated password is in the output in plain text")
	}
	var doc struct {
		Resources []struct {
			Type   string
			Name   string
			Inputs map[string]any
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range doc.Resources {
		if strings.HasPrefix(r.Name, "dr-") {
			continue // the DR region's global secondaries carry no credentials of their own
		}
		switch r.Type {
		case "aws:rds/cluster:Cluster":
			checked++
			if r.Inputs["masterPassword"] != "[secret]" {
				t.Errorf("masterPassword shown as %v", r.Inputs["masterPassword"])
			}
		case "aws:elasticache/replicationGroup:ReplicationGroup":
			checked++
			if r.Inputs["authToken"] != "[secret]" {
				t.Errorf("authToken shown as %v", r.Inputs["authToken"])
			}
		case "aws:secretsmanager/secretVersion:SecretVersion":
			checked++
			if r.Inputs["secretString"] != "[secret]" {
				t.Errorf("secretString shown as %v", r.Inputs["secretString"])
			}
		}
	}
	if checked != 4 {
		t.Errorf("checked %d resources, want the database, the cache and their two secret versions", checked)
	}
}

// prod's plan shows the mesh, the observability stack and the seed's
// rollback alerts with their thresholds; dev shows logs only and no mesh.
func TestPlanShowsMeshAndObservability(t *testing.T) {
	_, prod, _ := runPreview("--stack", "prod")
	for _, want := range []string{
		"observability-kube-prometheus-stack", "observability-jaeger", "observability-aws-for-fluent-bit",
		"mesh-istiod", "mesh-mtls", "mesh-deny-all", "observability-eduai-deployment-status",
		"HighErrorRateAfterDeployment (observability-deployment-rules/deployment.rules, for 2m, action=rollback severity=critical)",
		`/ sum by (service) (rate(http_requests_total[5m])) > 0.05`,
		"ResponseTimeDegradation (observability-deployment-rules/deployment.rules, for 3m, action=rollback severity=critical)",
		"> 5 * histogram_quantile(0.95, sum by (le, service) (rate(http_request_duration_seconds_bucket[1h] offset 1h)))",
	} {
		if !strings.Contains(prod, want) {
			t.Errorf("prod plan lacks %q", want)
		}
	}
	_, dev, _ := runPreview("--stack", "dev")
	for _, absent := range []string{"eduai:mesh:Istio", "kube-prometheus-stack", "Alerts:", "jaeger"} {
		if strings.Contains(dev, absent) {
			t.Errorf("dev plan has %q", absent)
		}
	}
	if !strings.Contains(dev, "observability-aws-for-fluent-bit") {
		t.Error("dev plan lacks the log shipper")
	}
}

// prod's plan shows content-service's canary steps and analysis, auth-service's
// rolling update and probes, and media-service's weights, which flip with activeColor.
func TestPlanShowsRollouts(t *testing.T) {
	_, prod, _ := runPreview("--stack", "prod")
	for _, want := range []string{
		"content-service: canary Rollout, 5% for 5m, 25% for 10m, 50% for 15m, 75% for 10m, then all; analysis content-service-analysis from the 5% stage (step 1); Istio traffic routing over content-service-stable and content-service-canary",
		"error-rate-increase (pass len(result) > 0 && result[0] < 0.001, fail len(result) > 0 && result[0] >= 0.01); error-rate (pass len(result) > 0 && result[0] <= 0.01, fail len(result) > 0 && result[0] > 0.01); latency-ratio (pass len(result) > 0 && result[0] < 1.1, fail len(result) > 0 && result[0] > 2)",
		"auth-service: Deployment registry.gitlab.com/eduai/auth-service:v1.1.0, surge 25%, unavailable 25%, deadline 600s; startup /startup delay 0s every 10s x30; liveness /health delay 30s every 10s x3; readiness /ready delay 5s every 5s x3",
		"media-service: VirtualService public: blue 100 / green 0; primary: blue 100 / green 0",
		"content-service: VirtualService public: content-service-stable 100 / content-service-canary 0; primary: content-service-stable 100 / content-service-canary 0",
		"media-service-blue-v1-2-0: AnalysisRun after the switch, measuring media-service-blue: error-rate x5 every 1m (pass len(result) > 0 && result[0] <= 0.01, fail len(result) > 0 && result[0] > 0.01)",
	} {
		if !strings.Contains(prod, want) {
			t.Errorf("prod plan lacks %q", want)
		}
	}
	data, err := os.ReadFile("../../Pulumi.prod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "Pulumi.prod.yaml")
	if err := os.WriteFile(file, []byte(strings.Replace(string(data), "activeColor: blue", "activeColor: green", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, flipped, _ := runPreview("--stack", "prod", "--config", file)
	code, fixture, _ := runPreview("--stack", "prod", "--config", "../../stacks/testdata/prod-bluegreen-green.yaml")
	for _, plan := range []string{flipped, fixture} {
		if !strings.Contains(plan, "media-service: VirtualService public: blue 0 / green 100; primary: blue 0 / green 100") {
			t.Errorf("flipped plan:\n%s", tail(plan))
		}
	}
	if code != 0 {
		t.Errorf("the blue-green fixture exits %d", code)
	}
}

// The prod plan names, under the DR provider, the standby region's network,
// stores, cluster and vault, and the failover records; the promoted fixture
// previews the swapped roles and passes the pack.
func TestDisasterRecoveryPlan(t *testing.T) {
	code, plan, _ := runPreview("--stack", "prod")
	if code != 0 {
		t.Fatalf("prod exits %d", code)
	}
	dr := plan[strings.Index(plan, "  aws-dr (us-east-1):"):strings.Index(plan, "  aws-primary (us-west-2):")]
	for _, want := range []string{"VPC:                     dr-network", "EKS cluster:             dr-cluster",
		"Aurora cluster:          dr-database-global", "Redis group:             dr-cache-global",
		"bucket:                  dr-storage-access-logs, dr-storage-content, dr-storage-media", "backup vault:            dr-backup"} {
		if !strings.Contains(dr, want) {
			t.Errorf("the DR region lacks %q:\n%s", want, dr)
		}
	}
	for _, want := range []string{"backup plan:             backup", "Route 53 health check:   dns-home, dns-standby",
		"api.eduai.com PRIMARY   -> the us-west-2 ingress", "api.eduai.com SECONDARY -> the us-east-1 ingress"} {
		if !strings.Contains(plan, want) {
			t.Errorf("the plan lacks %q", want)
		}
	}
	code, promoted, _ := runPreview("--stack", "prod", "--config", "../../stacks/testdata/prod-dr-active-secondary.yaml")
	if code != 0 || !strings.Contains(promoted, "api.eduai.com PRIMARY   -> the us-east-1 ingress") ||
		!strings.Contains(promoted, "backup plan:             dr-backup") {
		t.Errorf("promoted layout exits %d:\n%s", code, tail(promoted))
	}
}

// The policy section reports every rule with its counts, in text and JSON.
func TestComplianceReport(t *testing.T) {
	code, out, _ := runPreview("--stack", "prod", "--json")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Policy struct {
			Rules []struct {
				Name                              string
				Enforcement                       string
				Passed, Violations, NotApplicable int
			} `json:"rules"`
		} `json:"policy"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Policy.Rules) != len(rules.Rules()) {
		t.Fatalf("%d rule lines for %d rules", len(doc.Policy.Rules), len(rules.Rules()))
	}
	byName := map[string]int{}
	for i, l := range doc.Policy.Rules {
		byName[l.Name] = i
	}
	aurora := doc.Policy.Rules[byName[rules.DRAuroraGlobal]]
	if aurora.Enforcement != "mandatory" || aurora.Passed != 2 || aurora.Violations != 0 {
		t.Errorf("dr-aurora-global-member line %+v", aurora)
	}
	digest := doc.Policy.Rules[byName[rules.ImageDigest]]
	if digest.Enforcement != "advisory" || digest.Violations == 0 {
		t.Errorf("digest line %+v", digest)
	}
	_, text, _ := runPreview("--stack", "prod")
	if !strings.Contains(text, "Compliance by rule (") || !strings.Contains(text, "dr-aurora-global-member") {
		t.Errorf("text report missing:\n%s", tail(text))
	}
}

// unknownize makes values not known yet, as a preview of a fresh stack sees
// them: every top-level property, every leaf, or every list.
func unknownize(v property.Value, mode string, depth int) property.Value {
	computed := property.New(property.Computed)
	switch {
	case v.IsResourceReference():
		// A resource passed as an input is never unknown: its URN is known
		// when it is registered (only its id may not be).
		return v
	case mode == "top" && depth == 1:
		return computed
	case v.IsMap():
		out := map[string]property.Value{}
		for k, item := range v.AsMap().All {
			out[k] = unknownize(item, mode, depth+1)
		}
		return property.New(property.NewMap(out))
	case v.IsArray():
		if mode == "lists" {
			return computed
		}
		items := v.AsArray().AsSlice()
		out := make([]property.Value, len(items))
		for i, item := range items {
			out[i] = unknownize(item, mode, depth+1)
		}
		return property.New(out)
	case mode == "leaves" && depth > 0:
		return computed
	}
	return v
}

// Every rule of the pack, at the mandatory level, runs over the prod plan
// with its values unknown in three ways, and neither fails nor panics (a
// policyx AsX on an unknown value panics and kills the pack).
func TestEveryRuleToleratesUnknowns(t *testing.T) {
	res, err := preview.Run(t.Context(), preview.Options{Root: "../..", Stack: "prod"}, stacks.Run)
	if err != nil {
		t.Fatal(err)
	}
	plan := preview.AnalyzerResources(res.Resources)
	all, err := rules.ParseConfig([]byte(`{"all":"mandatory"}`), rules.Policies())
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"top", "leaves", "lists"} {
		unknown := make([]policyx.AnalyzerResource, len(plan))
		for i, r := range plan {
			r.Properties = unknownize(property.New(r.Properties), mode, 0).AsMap()
			unknown[i] = r
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("%s unknown: the pack panicked: %v", mode, p)
				}
			}()
			vs, err := rules.Evaluate(t.Context(), rules.Policies(), unknown, all)
			if err != nil {
				t.Fatalf("%s unknown: %v", mode, err)
			}
			// What cannot be seen gives no verdict: no more violations than the known plan.
			known, _ := rules.Evaluate(t.Context(), rules.Policies(), plan, all)
			seen := map[string]bool{}
			for _, v := range known {
				seen[v.Policy+" "+v.URN] = true
			}
			for _, v := range vs {
				if !seen[v.Policy+" "+v.URN] {
					t.Errorf("%s unknown: a verdict on what is not known yet: %s %s: %s", mode, v.Policy, v.URN, v.Message)
				}
			}
		}()
	}
}

// --critical-path adds the report to the JSON; --graph writes the DOT graph.
func TestCriticalPathAndGraph(t *testing.T) {
	graph := filepath.Join(t.TempDir(), "prod.dot")
	code, out, _ := runPreview("--stack", "prod", "--json", "--critical-path", "--graph", graph)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		CriticalPath *struct {
			ModeledSeconds, LowerBoundSeconds, SerialSeconds int
			Chain                                            []string
		} `json:"criticalPath"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	c := doc.CriticalPath
	if c == nil || c.ModeledSeconds < c.LowerBoundSeconds || c.LowerBoundSeconds == 0 || len(c.Chain) == 0 ||
		c.SerialSeconds <= c.ModeledSeconds {
		t.Errorf("criticalPath %+v", c)
	}
	dot, err := os.ReadFile(graph)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"digraph plan {", "subgraph cluster_", "color=red", c.Chain[len(c.Chain)-1][strings.LastIndex(c.Chain[len(c.Chain)-1], "::")+2:]} {
		if !strings.Contains(string(dot), want) {
			t.Errorf("graph lacks %q", want)
		}
	}
	if _, text, _ := runPreview("--stack", "prod", "--critical-path"); !strings.Contains(text, "Deploy critical path") ||
		!strings.Contains(text, "lower bound") {
		t.Errorf("text report missing:\n%s", tail(text))
	}
}

// The prod plan the mutation suite (policies/rules/mutation_test.go) weakens
// is the program's own: --record-plan regenerates it, and this test fails
// when the program has moved on without it. The recording gives the pack the
// same verdict as the live plan, so nothing the rules read is lost in it.
func TestRecordedPlanIsCurrent(t *testing.T) {
	const recorded = "../../policies/testdata/prod-plan.json"
	fresh := filepath.Join(t.TempDir(), "prod-plan.json")
	if code, _, stderr := runPreview("--stack", "prod", "--record-plan", fresh); code != 0 {
		t.Fatalf("preview --record-plan: exit %d: %s", code, stderr)
	}
	want, err := os.ReadFile(fresh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(recorded)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		line := 0
		for line < len(gl) && line < len(wl) && gl[line] == wl[line] {
			line++
		}
		t.Fatalf("%s is stale (first difference on line %d); regenerate it with\n"+
			"  go run ./cmd/preview --stack prod --record-plan policies/testdata/prod-plan.json", recorded, line+1)
	}
	if bytes.Contains(got, []byte("offline-")) {
		t.Errorf("%s holds a secret's text; secrets are recorded as %q", recorded, rules.Redacted)
	}
	plan, err := rules.ReadPlan(got)
	if err != nil {
		t.Fatal(err)
	}
	res, err := preview.Run(t.Context(), preview.Options{Root: "../..", Stack: "prod"}, stacks.Run)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := rules.LoadConfig("../../policies/config/prod.json", rules.Policies())
	if err != nil {
		t.Fatal(err)
	}
	vs, err := rules.Evaluate(t.Context(), rules.Policies(), plan, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := verdict(vs), verdict(res.Violations); g != w {
		t.Errorf("the recorded plan's verdict differs from the live plan's:\nrecorded:\n%s\nlive:\n%s", g, w)
	}
}

func verdict(vs []rules.Violation) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString(v.Enforcement + " " + v.Policy + " " + v.URN + ": " + v.Message + "\n")
	}
	return b.String()
}
