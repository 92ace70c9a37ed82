package stacks_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eduai/infra/components/observability"
	"github.com/eduai/infra/internal/crdcheck"
	"github.com/eduai/infra/internal/mockstack"
	"github.com/eduai/infra/internal/preview"
	"github.com/eduai/infra/policies/rules"
	"github.com/eduai/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

var update = flag.Bool("update", false, "rewrite the golden URN lists in testdata/golden")

func runStack(t *testing.T, stack, configFile string) *preview.Result {
	t.Helper()
	res, err := preview.Run(context.Background(), preview.Options{Root: "..", Stack: stack, ConfigFile: configFile},
		stacks.Run)
	if err != nil {
		t.Fatalf("stack %s: %v", stack, err)
	}
	return res
}

// count counts the primary region's resources of a type (the DR region's are named dr-*).
func count(res *preview.Result, typ string) int {
	n := 0
	for _, r := range res.Resources {
		if r.Type == typ && !strings.HasPrefix(r.Name, "dr-") {
			n++
		}
	}
	return n
}

// countDR counts the DR region's resources of a type.
func countDR(res *preview.Result, typ string) int {
	n := 0
	for _, r := range res.Resources {
		if r.Type == typ && strings.HasPrefix(r.Name, "dr-") {
			n++
		}
	}
	return n
}

// Each shipped stack file, run whole under the mocks: the environment's sizes
// and zero mandatory violations.
func TestShippedStacks(t *testing.T) {
	cases := []struct {
		stack                          string
		zones, nats, flowLogs, ifaceEP int
		advisory                       []string
	}{
		{"dev", 2, 1, 0, 0, []string{rules.VpcFlowLogs}},
		// PERMISSIVE and no default deny on purpose; the pack says so.
		{"staging", 3, 3, 1, 6, []string{rules.MeshDefaultDeny, rules.MeshMTLSStrict}},
		{"prod", 3, 3, 1, 6, nil},
	}
	for _, c := range cases {
		t.Run(c.stack, func(t *testing.T) {
			res := runStack(t, c.stack, "")
			if got := count(res, "aws:ec2/subnet:Subnet"); got != 3*c.zones {
				t.Errorf("subnets: got %d, want %d (3 tiers x %d zones)", got, 3*c.zones, c.zones)
			}
			if got := count(res, "aws:ec2/natGateway:NatGateway"); got != c.nats {
				t.Errorf("NAT gateways: got %d, want %d", got, c.nats)
			}
			if got := count(res, "aws:ec2/flowLog:FlowLog"); got != c.flowLogs {
				t.Errorf("flow logs: got %d, want %d", got, c.flowLogs)
			}
			if got := count(res, "aws:ec2/vpcEndpoint:VpcEndpoint"); got != 1+c.ifaceEP {
				t.Errorf("endpoints: got %d, want %d", got, 1+c.ifaceEP)
			}
			if res.Mandatory() != 0 {
				t.Errorf("mandatory violations: %+v", res.Violations)
			}
			var advisory []string
			for _, v := range res.Violations {
				// The support-window notice depends on today's date; its own tests pin the clock.
				// Digests are advisory until the delivery pipeline supplies them (issue #9).
				if v.Policy != rules.EKSVersionSupport && v.Policy != rules.ImageDigest {
					advisory = append(advisory, v.Policy)
				}
			}
			if strings.Join(advisory, ",") != strings.Join(c.advisory, ",") {
				t.Errorf("advisory violations: got %v, want %v", advisory, c.advisory)
			}
			for _, out := range []string{"vpcId", "publicSubnetIds", "privateSubnetIds", "databaseSubnetIds",
				"dbSubnetGroupName", "cacheSubnetGroupName", "clusterName", "kubeconfig"} {
				if o, ok := res.Outputs[out]; !ok || !o.Known {
					t.Errorf("output %s missing or unknown", out)
				}
			}
			if !res.Outputs["kubeconfig"].Secret {
				t.Error("the kubeconfig output is not secret")
			}
		})
	}
}

// Every AWS resource goes through the explicit primary provider, whose
// defaultTags carry the stack's standard tags.
func TestProviderAndTags(t *testing.T) {
	res := runStack(t, "prod", "")
	regions := map[string]string{} // provider URN -> region
	for _, r := range res.Resources {
		if r.Type == "pulumi:providers:aws" {
			regions[r.URN] = r.Inputs["region"].StringValue()
			tags := r.Inputs["defaultTags"].ObjectValue()["tags"].ObjectValue()
			if tags["Environment"].StringValue() != "prod" || tags["CostCenter"].StringValue() != "education-platform-prod" {
				t.Errorf("provider defaultTags: %v", tags)
			}
		}
	}
	want := map[string]string{"urn:pulumi:prod::eduai::pulumi:providers:aws::aws-primary": "us-west-2",
		"urn:pulumi:prod::eduai::pulumi:providers:aws::aws-dr": "us-east-1"}
	if len(regions) != 2 || regions["urn:pulumi:prod::eduai::pulumi:providers:aws::aws-primary"] != "us-west-2" ||
		regions["urn:pulumi:prod::eduai::pulumi:providers:aws::aws-dr"] != "us-east-1" {
		t.Fatalf("aws providers %v, want %v", regions, want)
	}
	// The DR region's resources (dr-*) go through the DR provider, all others through the primary.
	drCount := 0
	for _, r := range res.Resources {
		if !strings.HasPrefix(r.Type, "aws:") {
			continue
		}
		region := "us-west-2"
		if strings.HasPrefix(r.Name, "dr-") {
			region = "us-east-1"
			drCount++
		}
		if regions[r.Provider] != region {
			t.Errorf("%s %s uses provider %q, want the %s one", r.Type, r.Name, r.Provider, region)
		}
	}
	if drCount == 0 {
		t.Error("nothing in the DR region")
	}
	// Pulumi.yaml disables default providers: every resource of a package,
	// remote components included, names an explicit provider of that package.
	for _, r := range res.Resources {
		pkg, _, _ := strings.Cut(r.Type, ":")
		if pkg == "eduai" || pkg == "pulumi" {
			continue
		}
		if !strings.Contains(r.Provider, "::pulumi:providers:"+pkg+"::") {
			t.Errorf("%s %s: provider %q is not an explicit %s provider", r.Type, r.Name, r.Provider, pkg)
		}
	}
}

// A config error stops the program before anything is registered.
func TestBadConfigRegistersNothing(t *testing.T) {
	for _, file := range []string{"testdata/az-count.bad.yaml", "testdata/unknown-key.bad.yaml",
		"testdata/unknown-top-level-key.bad.yaml"} {
		rec, _, err := preview.RunProgram("prod", "../Pulumi.yaml", file, stacks.Run)
		if err == nil {
			t.Errorf("%s: accepted", file)
			continue
		}
		if n := len(rec.Resources()); n != 0 {
			t.Errorf("%s: %d resources registered before the config error", file, n)
		}
	}
	_, _, err := preview.RunProgram("prod", "../Pulumi.yaml", "testdata/az-count.bad.yaml", stacks.Run)
	if err == nil || !strings.Contains(err.Error(), "network.azCount: must be 2..6 (got 9)") {
		t.Errorf("error does not name the key and value: %v", err)
	}
}

// PolicyFixture is a row of testdata/policy-fixtures.tsv.
type PolicyFixture struct{ Area, Stack, File, Policy string }

// PolicyFixtures reads testdata/policy-fixtures.tsv: one bad stack file per rule area.
func PolicyFixtures(t *testing.T, dir string) []PolicyFixture {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "policy-fixtures.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var out []PolicyFixture
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			t.Fatalf("policy-fixtures.tsv: %q", line)
		}
		out = append(out, PolicyFixture{f[0], f[1], filepath.Join(dir, f[2]), f[3]})
	}
	return out
}

// Valid config that is unsafe: the pack, not validation, gives the verdict,
// and every rule area has a fixture that trips its rule.
func TestPolicyFixtures(t *testing.T) {
	areas := map[string]bool{}
	for _, c := range PolicyFixtures(t, "testdata") {
		areas[c.Area] = true
		res := runStack(t, c.Stack, c.File)
		found := false
		for _, v := range res.Violations {
			if v.Policy == c.Policy && v.Enforcement == "mandatory" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no mandatory %s violation in %+v", c.File, c.Policy, res.Violations)
		}
	}
	for _, area := range []string{"tags", "network", "cluster", "data", "dr", "workload", "mesh", "delivery"} {
		if !areas[area] {
			t.Errorf("no bad fixture for the %s area", area)
		}
	}
}

// The URNs of each stack are pinned: a rename replaces a live resource, so it
// must show up here and be answered with an alias.
func TestGoldenURNs(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "prod"} {
		res := runStack(t, stack, "")
		var urns []string
		for _, r := range res.Resources {
			urns = append(urns, r.URN)
		}
		got := strings.Join(urns, "\n") + "\n"
		path := filepath.Join("testdata", "golden", stack+".urns")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run: go test ./stacks -run TestGolden -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s: URNs differ from %s. A changed URN replaces the live resource: add a pulumi.Aliases entry, "+
				"then review and run go test ./stacks -run TestGolden -update.\n%s", stack, path, diff(string(want), got))
		}
	}
}

func diff(want, got string) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(want, "\n") {
		w[l] = true
	}
	for _, l := range strings.Split(got, "\n") {
		g[l] = true
	}
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

// The cluster and node groups of each environment, with the seed's sizes.
func TestClusterPerEnvironment(t *testing.T) {
	type group struct {
		instance                  string
		min, max, desired, diskGB float64
	}
	cases := []struct {
		stack    string
		logTypes int
		protect  bool
		groups   map[string]group
	}{
		{"dev", 3, false, map[string]group{"general": {"t3.large", 1, 3, 1, 50}}},
		{"staging", 3, true, map[string]group{"general": {"m5.2xlarge", 2, 4, 2, 500}}},
		{"prod", 5, true, map[string]group{"compute": {"m5.xlarge", 3, 20, 6, 1000}, "memory": {"r5.xlarge", 2, 10, 4, 1000}}},
	}
	for _, c := range cases {
		t.Run(c.stack, func(t *testing.T) {
			res := runStack(t, c.stack, "")
			var eks, key *mockstack.Resource
			groups := map[string]*mockstack.Resource{}
			templates := map[string]*mockstack.Resource{}
			for _, r := range res.Resources {
				if strings.HasPrefix(r.Name, "dr-") {
					continue // the DR region's tier (TestDisasterRecovery)
				}
				switch r.Type {
				case "eks:index:Cluster":
					eks = r
				case "aws:kms/key:Key":
					key = r
				case "aws:eks/nodeGroup:NodeGroup":
					groups[strings.TrimPrefix(r.Name, "cluster-")] = r
				case "aws:ec2/launchTemplate:LaunchTemplate":
					templates[strings.TrimPrefix(r.Name, "cluster-")] = r
				}
			}
			if eks == nil || key == nil {
				t.Fatal("no EKS cluster or key")
			}
			if eks.String("name") != "eduai-"+c.stack || eks.Inputs["endpointPublicAccess"].BoolValue() ||
				!eks.Inputs["endpointPrivateAccess"].BoolValue() {
				t.Errorf("cluster: %v", eks.Inputs)
			}
			if n := len(eks.Inputs["enabledClusterLogTypes"].ArrayValue()); n != c.logTypes {
				t.Errorf("%d log types, want %d", n, c.logTypes)
			}
			if key.Protect != c.protect {
				t.Errorf("secrets key protect = %v, want %v", key.Protect, c.protect)
			}
			if len(groups) != len(c.groups) {
				t.Fatalf("node groups %v", groups)
			}
			for name, want := range c.groups {
				ng, lt := groups[name], templates[name]
				if ng == nil || lt == nil {
					t.Fatalf("group %s missing", name)
				}
				sc := ng.Inputs["scalingConfig"].ObjectValue()
				if sc["minSize"].NumberValue() != want.min || sc["maxSize"].NumberValue() != want.max ||
					sc["desiredSize"].NumberValue() != want.desired ||
					ng.Inputs["instanceTypes"].ArrayValue()[0].StringValue() != want.instance {
					t.Errorf("%s: %v %v", name, sc, ng.Inputs["instanceTypes"])
				}
				ebs := lt.Inputs["blockDeviceMappings"].ArrayValue()[0].ObjectValue()["ebs"].ObjectValue()
				if ebs["volumeSize"].NumberValue() != want.diskGB {
					t.Errorf("%s: root volume %v GiB, want %v", name, ebs["volumeSize"], want.diskGB)
				}
			}
		})
	}
}

// Each environment installs the five pinned charts and its own ClusterIssuer,
// valid against cert-manager's CRD schema.
func TestAddonsPerEnvironment(t *testing.T) {
	dir, err := crdcheck.Dir()
	if err != nil {
		t.Fatal(err)
	}
	crd, err := crdcheck.Load(filepath.Join(dir, "cert-manager", "cert-manager.io_clusterissuers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"dev": "selfsigned", "staging": "letsencrypt-staging", "prod": "letsencrypt-prod"}
	for stack, issuer := range want {
		res := runStack(t, stack, "")
		addonReleases := 0
		for _, r := range res.Resources {
			if r.Type == "kubernetes:helm.sh/v3:Release" && strings.Contains(r.URN, "eduai:addons:ClusterAddons$") &&
				!strings.HasPrefix(r.Name, "dr-") {
				addonReleases++
			}
		}
		if addonReleases != 5 {
			t.Errorf("%s: %d add-on Helm releases", stack, addonReleases)
		}
		for _, r := range res.Resources {
			switch {
			case r.Type == "kubernetes:helm.sh/v3:Release" && !strings.Contains(r.URN, "eduai:addons:ClusterAddons$"):
			case r.Type == "kubernetes:helm.sh/v3:Release":
				if v := r.String("version"); v == "" || stacks.DefaultCharts()[r.String("chart")] != v {
					t.Errorf("%s: %s pinned at %q", stack, r.String("chart"), v)
				}
			case r.Type == "kubernetes:cert-manager.io/v1:ClusterIssuer":
				obj := r.Inputs.Mappable()
				if name := obj["metadata"].(map[string]any)["name"]; name != issuer {
					t.Errorf("%s: issuer %v, want %s", stack, name, issuer)
				}
				if p := crd.Validate(obj); len(p) != 0 {
					t.Errorf("%s: ClusterIssuer against its CRD: %v", stack, p)
				}
			}
		}
		if res.Outputs["clusterIssuer"].Value != issuer {
			t.Errorf("%s: clusterIssuer output %v", stack, res.Outputs["clusterIssuer"].Value)
		}
	}
}

// The database of each environment: instance count and class, backups, hardening.
func TestDatabasePerEnvironment(t *testing.T) {
	cases := []struct {
		stack     string
		instances int
		class     string
		retention float64
		hardened  bool
	}{
		{"dev", 1, "db.t4g.medium", 1, false},
		{"staging", 2, "db.r6g.large", 7, true},
		{"prod", 3, "db.r6g.xlarge", 30, true},
	}
	for _, c := range cases {
		res := runStack(t, c.stack, "")
		if n := count(res, "aws:rds/clusterInstance:ClusterInstance"); n != c.instances {
			t.Errorf("%s: %d instances, want %d", c.stack, n, c.instances)
		}
		for _, r := range res.Resources {
			if strings.HasPrefix(r.Name, "dr-") {
				continue // the global secondary: TestGlobalDatabase
			}
			switch r.Type {
			case "aws:rds/cluster:Cluster":
				if r.Inputs["backupRetentionPeriod"].NumberValue() != c.retention || r.Protect != c.hardened ||
					r.Inputs["deletionProtection"].BoolValue() != c.hardened {
					t.Errorf("%s: cluster %v protect=%v", c.stack, r.Inputs, r.Protect)
				}
			case "aws:rds/clusterInstance:ClusterInstance":
				if r.String("instanceClass") != c.class || r.Protect != c.hardened {
					t.Errorf("%s: instance %s %v", c.stack, r.Name, r.Inputs)
				}
			}
		}
		if res.Outputs["databaseSecretArn"].Value == nil {
			t.Errorf("%s: no databaseSecretArn output", c.stack)
		}
	}
}

// The cache of each environment: the seed's node counts, failover when replicated.
func TestCachePerEnvironment(t *testing.T) {
	cases := []struct {
		stack       string
		clusterMode bool
		shards      float64
		replicas    float64
		node        string
	}{
		{"dev", false, 0, 0, "cache.t4g.small"},
		{"staging", true, 1, 2, "cache.r6g.large"},
		{"prod", true, 3, 1, "cache.r6g.xlarge"},
	}
	for _, c := range cases {
		res := runStack(t, c.stack, "")
		found := false
		for _, r := range res.Resources {
			if r.Type != "aws:elasticache/replicationGroup:ReplicationGroup" || strings.HasPrefix(r.Name, "dr-") {
				continue
			}
			found = true
			in := r.Inputs
			if r.String("nodeType") != c.node || (r.String("clusterMode") == "enabled") != c.clusterMode ||
				!in["transitEncryptionEnabled"].BoolValue() || !in["atRestEncryptionEnabled"].BoolValue() {
				t.Errorf("%s: %v", c.stack, in)
			}
			if c.clusterMode && (in["numNodeGroups"].NumberValue() != c.shards || in["replicasPerNodeGroup"].NumberValue() != c.replicas ||
				!in["automaticFailoverEnabled"].BoolValue() || !in["multiAzEnabled"].BoolValue()) {
				t.Errorf("%s: shards/replicas/failover %v", c.stack, in)
			}
			if !c.clusterMode && (in["numCacheClusters"].NumberValue() != 1 || in["automaticFailoverEnabled"].BoolValue()) {
				t.Errorf("%s: single node %v", c.stack, in)
			}
			if r.Protect != (c.stack != "dev") {
				t.Errorf("%s: protect %v", c.stack, r.Protect)
			}
		}
		if !found {
			t.Errorf("%s: no replication group", c.stack)
		}
	}
}

// dev runs one RabbitMQ broker; staging and prod run Kafka with brokers evenly over 3 zones.
func TestQueuePerEnvironment(t *testing.T) {
	for stack, brokers := range map[string]float64{"dev": 0, "staging": 3, "prod": 6} {
		res := runStack(t, stack, "")
		mqs, msks := count(res, "aws:mq/broker:Broker"), count(res, "aws:msk/cluster:Cluster")
		if brokers == 0 && (mqs != 1 || msks != 0) || brokers > 0 && (mqs != 0 || msks != 1) {
			t.Errorf("%s: %d RabbitMQ, %d MSK", stack, mqs, msks)
		}
		for _, r := range res.Resources {
			if r.Type == "aws:msk/cluster:Cluster" && !strings.HasPrefix(r.Name, "dr-") && (r.Inputs["numberOfBrokerNodes"].NumberValue() != brokers || !r.Protect) {
				t.Errorf("%s: MSK %v protect=%v", stack, r.Inputs["numberOfBrokerNodes"], r.Protect)
			}
		}
	}
}

// No mesh in dev; Istio in staging (PERMISSIVE) and prod (STRICT, default deny, TLS gateway).
func TestMeshPerEnvironment(t *testing.T) {
	cases := []struct {
		stack               string
		releases, denies    int
		mode                string
		gateways, istiodMin float64
	}{
		{"dev", 0, 0, "", 0, 0},
		{"staging", 3, 0, "PERMISSIVE", 1, 2},
		{"prod", 3, 1, "STRICT", 1, 2},
	}
	for _, c := range cases {
		res := runStack(t, c.stack, "")
		releases, denies, gateways := 0, 0, 0.0
		mode := ""
		for _, r := range res.Resources {
			switch {
			case strings.HasPrefix(r.Name, "dr-"): // the DR region's tier (TestDisasterRecovery)
			case r.Type == "kubernetes:helm.sh/v3:Release" && strings.Contains(r.URN, "eduai:mesh:Istio$"):
				releases++
			case r.Type == "kubernetes:security.istio.io/v1:AuthorizationPolicy" && r.Name == "mesh-deny-all":
				denies++
			case r.Type == "kubernetes:security.istio.io/v1:PeerAuthentication":
				mode = r.Inputs.Mappable()["spec"].(map[string]any)["mtls"].(map[string]any)["mode"].(string)
			case r.Type == "kubernetes:networking.istio.io/v1:Gateway":
				gateways++
			}
		}
		if releases != c.releases || denies != c.denies || mode != c.mode || gateways != c.gateways {
			t.Errorf("%s: %d releases, %d deny-all, mode %q, %v gateways", c.stack, releases, denies, mode, gateways)
		}
	}
}

// Every custom resource of every shipped stack is valid against its upstream CRD.
func TestCustomResourcesMatchCRDs(t *testing.T) {
	schemaFor := func(kind string) *crdcheck.CRD {
		c, _ := crdcheck.Kinds(kind)
		return c[kind]
	}
	for _, stack := range []string{"dev", "staging", "prod"} {
		checked := 0
		res := runStack(t, stack, "")
		for _, r := range res.Resources {
			obj := r.Inputs.Mappable()
			kind, _ := obj["kind"].(string)
			api, _ := obj["apiVersion"].(string)
			if !strings.HasPrefix(r.Type, "kubernetes:") || kind == "" || !strings.Contains(api, ".") ||
				strings.HasSuffix(api, ".k8s.io/v1") {
				continue
			}
			crd := schemaFor(kind)
			if crd == nil {
				t.Errorf("%s: no CRD for %s %s", stack, api, kind)
				continue
			}
			checked++
			if p := crd.Validate(obj); len(p) != 0 {
				t.Errorf("%s: %s %s: %v", stack, kind, r.Name, p)
			}
		}
		if checked == 0 {
			t.Errorf("%s: no custom resource checked", stack)
		}
	}
}

// Dev ships logs only; staging and prod the full stack with the seed's
// rollback alerts at their exact thresholds, the dashboards and tracing.
func TestObservabilityPerEnvironment(t *testing.T) {
	cases := []struct {
		stack      string
		charts     []string
		dashboards int
		tracing    bool
	}{
		{"dev", []string{"aws-for-fluent-bit"}, 0, false},
		{"staging", []string{"aws-for-fluent-bit", "jaeger", "kube-prometheus-stack"}, 4, true},
		{"prod", []string{"aws-for-fluent-bit", "jaeger", "kube-prometheus-stack"}, 4, true},
	}
	for _, c := range cases {
		res := runStack(t, c.stack, "")
		var charts []string
		dashboards, telemetry := 0, 0
		alerts := map[string]map[string]any{}
		for _, r := range res.Resources {
			switch {
			case strings.HasPrefix(r.Name, "dr-"): // the DR region's tier (TestDisasterRecovery)
			case r.Type == "kubernetes:helm.sh/v3:Release" && strings.Contains(r.URN, "eduai:observability:Observability$"):
				charts = append(charts, r.Inputs["chart"].StringValue())
				if v := r.Inputs["version"]; !v.IsString() || v.StringValue() == "" {
					t.Errorf("%s: %s unpinned", c.stack, r.Name)
				}
			case r.Type == "kubernetes:core/v1:ConfigMap" && strings.Contains(r.URN, "eduai:observability:Observability$"):
				dashboards++
			case r.Type == "kubernetes:telemetry.istio.io/v1:Telemetry":
				telemetry++
			case r.Type == "kubernetes:monitoring.coreos.com/v1:PrometheusRule":
				groups := r.Inputs.Mappable()["spec"].(map[string]any)["groups"].([]any)
				for _, rule := range groups[0].(map[string]any)["rules"].([]any) {
					alerts[rule.(map[string]any)["alert"].(string)] = rule.(map[string]any)
				}
			}
		}
		slices.Sort(charts)
		if !slices.Equal(charts, c.charts) || dashboards != c.dashboards || (telemetry == 1) != c.tracing {
			t.Errorf("%s: charts %v, %d dashboards, %d telemetry", c.stack, charts, dashboards, telemetry)
		}
		if c.stack == "dev" {
			if len(alerts) != 0 {
				t.Errorf("dev has alerts %v", alerts)
			}
			continue
		}
		high, slow := alerts["HighErrorRateAfterDeployment"], alerts["ResponseTimeDegradation"]
		if high == nil || slow == nil || len(alerts) != 8 {
			t.Fatalf("%s: alerts %v", c.stack, alerts)
		}
		for _, a := range []struct {
			rule      map[string]any
			threshold string
			hold      string
		}{{high, "> 0.05", "2m"}, {slow, "> 5 * histogram_quantile(0.95", "3m"}} {
			labels := a.rule["labels"].(map[string]any)
			if !strings.Contains(a.rule["expr"].(string), a.threshold) || a.rule["for"] != a.hold ||
				labels["severity"] != "critical" || labels["action"] != "rollback" {
				t.Errorf("%s: %v", c.stack, a.rule)
			}
		}
		if o := res.Outputs["grafanaAdminPassword"]; !o.Secret {
			t.Errorf("%s: grafana admin password output not secret", c.stack)
		}
	}
}

func init() {
	// Blue-green idle colors compare keepIdleUntil with the clock: pin it.
	stacks.Now = func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }
}

func find(res *preview.Result, typ, name string) *mockstack.Resource {
	for _, r := range res.Resources {
		if r.Type == typ && r.Name == name {
			return r
		}
	}
	return nil
}

func specOf(r *mockstack.Resource) map[string]any {
	return r.Inputs.Mappable()["spec"].(map[string]any)
}

// Every stack runs one service per strategy; prod's content-service is a
// canary with the seed's steps and analysis, auth-service rolls with the
// seed's probes, media-service is blue-green over the mesh.
func TestServicesPerEnvironment(t *testing.T) {
	for _, c := range []struct {
		stack          string
		analysis, mesh bool
		allows         int
	}{{"dev", false, false, 0}, {"staging", true, true, 0}, {"prod", true, true, 3}} {
		res := runStack(t, c.stack, "")
		rollout := find(res, "kubernetes:argoproj.io/v1alpha1:Rollout", "service-content-service-rollout")
		if rollout == nil {
			t.Fatalf("%s: no content-service Rollout", c.stack)
		}
		canary := specOf(rollout)["strategy"].(map[string]any)["canary"].(map[string]any)
		steps, _ := json.Marshal(canary["steps"])
		if string(steps) != `[{"setWeight":5},{"pause":{"duration":"5m"}},{"setWeight":25},{"pause":{"duration":"10m"}},`+
			`{"setWeight":50},{"pause":{"duration":"15m"}},{"setWeight":75},{"pause":{"duration":"10m"}}]` {
			t.Errorf("%s: steps %s", c.stack, steps)
		}
		if _, ok := canary["analysis"]; ok != c.analysis {
			t.Errorf("%s: analysis %v", c.stack, canary["analysis"])
		}
		if _, ok := canary["trafficRouting"]; ok != c.mesh {
			t.Errorf("%s: traffic routing %v", c.stack, canary["trafficRouting"])
		}
		if find(res, "eduai:service:RolloutsController", "rollouts") == nil {
			t.Errorf("%s: no Argo Rollouts controller", c.stack)
		}
		auth := find(res, "kubernetes:apps/v1:Deployment", "service-auth-service")
		pod := specOf(auth)["template"].(map[string]any)["spec"].(map[string]any)
		ctr := pod["containers"].([]any)[0].(map[string]any)
		live := ctr["livenessProbe"].(map[string]any)
		ready := ctr["readinessProbe"].(map[string]any)
		start := ctr["startupProbe"].(map[string]any)
		if live["initialDelaySeconds"] != float64(30) || live["periodSeconds"] != float64(10) ||
			ready["initialDelaySeconds"] != float64(5) || ready["periodSeconds"] != float64(5) ||
			start["failureThreshold"] != float64(30) || start["periodSeconds"] != float64(10) {
			t.Errorf("%s: auth-service probes %v %v %v", c.stack, live, ready, start)
		}
		media := find(res, "kubernetes:networking.istio.io/v1:VirtualService", "service-media-service-routes")
		if (media != nil) != c.mesh {
			t.Errorf("%s: media-service virtual service %v", c.stack, media)
		}
		allows := 0
		for _, r := range res.Resources {
			if r.Type == "kubernetes:security.istio.io/v1:AuthorizationPolicy" && strings.HasPrefix(r.Name, "mesh-allow-") {
				allows++
			}
		}
		// Issue #19: under default deny, media-service (blue-green) admits its smoke test, which runs in the mesh.
		if ap := find(res, "kubernetes:security.istio.io/v1:AuthorizationPolicy", "mesh-allow-media-service"); c.allows > 0 {
			if ap == nil || !strings.Contains(fmt.Sprint(ap.Inputs["spec"]), "cluster.local/ns/eduai/sa/media-service-smoke") {
				t.Errorf("%s: media-service's ALLOW policy does not name the smoke test: %v", c.stack, ap)
			}
		}
		if allows != c.allows {
			t.Errorf("%s: %d allow policies, want %d", c.stack, allows, c.allows)
		}
		job := find(res, "kubernetes:batch/v1:Job", "service-content-service-migrate")
		if job == nil || !slices.Contains(find(res, "kubernetes:apps/v1:Deployment", "service-content-service").Dependencies, job.URN) {
			t.Errorf("%s: content-service does not wait for its migration", c.stack)
		}
	}
}

// Flipping media-service's activeColor in prod flips the VirtualService's weights.
func TestBlueGreenFlipInProd(t *testing.T) {
	data, err := os.ReadFile("../Pulumi.prod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	flipped := strings.Replace(string(data), "activeColor: blue", "activeColor: green", 1)
	if flipped == string(data) {
		t.Fatal("prod has no blue-green service to flip")
	}
	file := filepath.Join(t.TempDir(), "Pulumi.prod.yaml")
	if err := os.WriteFile(file, []byte(flipped), 0o600); err != nil {
		t.Fatal(err)
	}
	weights := func(res *preview.Result) map[string]float64 {
		out := map[string]float64{}
		vs := find(res, "kubernetes:networking.istio.io/v1:VirtualService", "service-media-service-routes")
		for _, route := range specOf(vs)["http"].([]any) {
			for _, d := range route.(map[string]any)["route"].([]any) {
				dm := d.(map[string]any)
				out[dm["destination"].(map[string]any)["subset"].(string)] = dm["weight"].(float64)
			}
		}
		return out
	}
	blue, green := weights(runStack(t, "prod", "")), weights(runStack(t, "prod", file))
	if blue["blue"] != 100 || blue["green"] != 0 || green["blue"] != 0 || green["green"] != 100 {
		t.Errorf("weights: shipped %v, flipped %v", blue, green)
	}
}

// content-service gets the stores' endpoints and bucket name in its
// ConfigMap, and a role that reads exactly those secrets and that bucket.
func TestServiceConnections(t *testing.T) {
	res := runStack(t, "prod", "")
	cm := find(res, "kubernetes:core/v1:ConfigMap", "service-content-service")
	data := cm.Inputs["data"].ObjectValue()
	for _, key := range []string{"DATABASE_HOST", "DATABASE_SECRET_ARN", "REDIS_HOST", "QUEUE_ENDPOINT", "BUCKET_CONTENT"} {
		if _, ok := data[resource.PropertyKey(key)]; !ok {
			t.Errorf("ConfigMap lacks %s: %v", key, data)
		}
	}
	policy := find(res, "aws:iam/rolePolicy:RolePolicy", "service-content-service").Inputs["policy"].StringValue()
	for _, want := range []string{"secretsmanager:GetSecretValue", "aurora-master", "s3:PutObject", "eduai-prod-content",
		`"kms:ViaService":["secretsmanager.us-west-2.amazonaws.com","s3.us-west-2.amazonaws.com"]`} {
		if !strings.Contains(policy, want) {
			t.Errorf("policy lacks %s: %s", want, policy)
		}
	}
	if strings.Contains(policy, "eduai-prod-media") {
		t.Errorf("content-service may use the media bucket: %s", policy)
	}
	assoc := find(res, "aws:eks/podIdentityAssociation:PodIdentityAssociation", "service-content-service")
	if assoc.Inputs["serviceAccount"].StringValue() != "content-service" || assoc.Inputs["namespace"].StringValue() != "eduai" {
		t.Errorf("association %v", assoc.Inputs)
	}
}

// prod has a pilot-light network in us-east-1; dev and staging none.
func TestDRRegionPerEnvironment(t *testing.T) {
	for _, c := range []struct {
		stack                   string
		vpcs, subnets, nats, fl int
	}{{"dev", 0, 0, 0, 0}, {"staging", 0, 0, 0, 0}, {"prod", 1, 9, 1, 1}} {
		res := runStack(t, c.stack, "")
		got := []int{countDR(res, "aws:ec2/vpc:Vpc"), countDR(res, "aws:ec2/subnet:Subnet"),
			countDR(res, "aws:ec2/natGateway:NatGateway"), countDR(res, "aws:ec2/flowLog:FlowLog")}
		if !slices.Equal(got, []int{c.vpcs, c.subnets, c.nats, c.fl}) {
			t.Errorf("%s: DR vpc/subnets/nat/flow logs %v", c.stack, got)
		}
	}
	res := runStack(t, "prod", "")
	vpc := find(res, "aws:ec2/vpc:Vpc", "dr-network")
	if vpc == nil || vpc.Inputs["cidrBlock"].StringValue() != "10.130.0.0/16" {
		t.Errorf("DR VPC %v", vpc)
	}
}

// No backups in dev; staging keeps a week; prod keeps the database 30 days
// continuously, data hourly 7 days, copies both to the DR vault and locks them.
func TestBackupPerEnvironment(t *testing.T) {
	for _, c := range []struct {
		stack          string
		plans, vaults  int
		dbDays         float64
		copies, locked bool
	}{{"dev", 0, 0, 0, false, false}, {"staging", 1, 1, 7, false, false}, {"prod", 1, 2, 30, true, true}} {
		res := runStack(t, c.stack, "")
		plans, vaults := count(res, "aws:backup/plan:Plan"), count(res, "aws:backup/vault:Vault")+countDR(res, "aws:backup/vault:Vault")
		if plans != c.plans || vaults != c.vaults {
			t.Errorf("%s: %d plans, %d vaults", c.stack, plans, vaults)
			continue
		}
		if plans == 0 {
			continue
		}
		plan := find(res, "aws:backup/plan:Plan", "backup")
		for _, r := range plan.Inputs["rules"].Mappable().([]any) {
			rule := r.(map[string]any)
			copies, _ := rule["copyActions"].([]any)
			if (len(copies) > 0) != c.copies {
				t.Errorf("%s: %s copies %v", c.stack, rule["ruleName"], rule["copyActions"])
			}
			if rule["ruleName"] == "database-continuous" && rule["lifecycle"].(map[string]any)["deleteAfter"] != c.dbDays {
				t.Errorf("%s: database rule %v", c.stack, rule)
			}
		}
		if locked := count(res, "aws:backup/vaultLockConfiguration:VaultLockConfiguration") > 0; locked != c.locked {
			t.Errorf("%s: vault lock %v", c.stack, locked)
		}
		if policies := count(res, "aws:backup/vaultPolicy:VaultPolicy") + countDR(res, "aws:backup/vaultPolicy:VaultPolicy"); (policies == 2) != (c.stack == "prod") {
			t.Errorf("%s: %d vault policies denying deletion", c.stack, policies)
		}
		if countDR(res, "aws:backup/vault:Vault") != map[bool]int{true: 1, false: 0}[c.copies] {
			t.Errorf("%s: DR vaults %d", c.stack, countDR(res, "aws:backup/vault:Vault"))
		}
	}
}

// prod's Aurora is the primary of a global database whose secondary runs in
// the DR region with one reader and a replication-lag alarm at 30 s.
func TestGlobalDatabase(t *testing.T) {
	res := runStack(t, "prod", "")
	global := find(res, "aws:rds/globalCluster:GlobalCluster", "database-global")
	primary := find(res, "aws:rds/cluster:Cluster", "database")
	secondary := find(res, "aws:rds/cluster:Cluster", "dr-database-global")
	if global == nil || primary == nil || secondary == nil {
		t.Fatalf("global %v primary %v secondary %v", global != nil, primary != nil, secondary != nil)
	}
	if !global.DependsOnURN("sourceDbClusterIdentifier", primary.URN) || !global.Protect {
		t.Errorf("the global cluster does not adopt the primary: %v", global.Inputs)
	}
	if !secondary.DependsOnURN("globalClusterIdentifier", global.URN) || !secondary.Inputs["storageEncrypted"].BoolValue() ||
		!strings.HasSuffix(secondary.Provider, "::aws-dr") || !secondary.Protect {
		t.Errorf("secondary %v provider %s", secondary.Inputs, secondary.Provider)
	}
	if !slices.Contains(primary.IgnoreChanges, "globalClusterIdentifier") ||
		!slices.Contains(secondary.IgnoreChanges, "replicationSourceIdentifier") {
		t.Errorf("failover roles are fought: %v / %v", primary.IgnoreChanges, secondary.IgnoreChanges)
	}
	if n := countDR(res, "aws:rds/clusterInstance:ClusterInstance"); n != 1 {
		t.Errorf("%d readers in the DR region", n)
	}
	reader := find(res, "aws:rds/clusterInstance:ClusterInstance", "dr-database-global-reader-1")
	if reader == nil || !reader.Inputs["performanceInsightsEnabled"].BoolValue() || reader.Inputs["monitoringInterval"].NumberValue() != 60 {
		t.Errorf("the DR reader is not monitored like the primary's: %v", reader)
	}
	// The secondary takes the primary's parameters: it is the writer after a failover.
	params := find(res, "aws:rds/clusterParameterGroup:ClusterParameterGroup", "dr-database-global")
	if raw := mustJSON(params.Inputs.Mappable()["parameters"]); !strings.Contains(raw, "rds.force_ssl") ||
		!strings.Contains(raw, "log_min_duration_statement") {
		t.Errorf("secondary parameters %s", raw)
	}
	alarm := find(res, "aws:cloudwatch/metricAlarm:MetricAlarm", "dr-database-global-replication-lag")
	if alarm == nil || alarm.Inputs["threshold"].NumberValue() != 30000 || alarm.String("metricName") != "AuroraGlobalDBReplicationLag" {
		t.Errorf("lag alarm %v", alarm)
	}
	for _, stack := range []string{"dev", "staging"} {
		if n := count(runStack(t, stack, ""), "aws:rds/globalCluster:GlobalCluster"); n != 0 {
			t.Errorf("%s has a global cluster", stack)
		}
	}
}

// Issue #17: a `secure:` env value goes into the service's Secret, marked
// secret, and never into a ConfigMap; the plain values stay in the ConfigMap.
func TestSecretEnvNeverInConfigMap(t *testing.T) {
	data, err := os.ReadFile("../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	anchor := "      connections: [database, cache, queue]\n"
	text := strings.Replace(string(data), anchor,
		anchor+"      env: {LOG_LEVEL: debug, API_TOKEN: {secure: v1:c2VjcmV0}}\n", 1)
	if text == string(data) {
		t.Fatal("the dev stack file changed shape")
	}
	file := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runStack(t, "dev", file)
	plain, secret := 0, 0
	for _, r := range res.Resources {
		switch r.Type {
		case "kubernetes:core/v1:ConfigMap":
			d := r.Inputs["data"]
			if d.IsObject() && d.ObjectValue().HasValue("API_TOKEN") || d.ContainsSecrets() {
				t.Errorf("ConfigMap %s holds the secret env value: %v", r.Name, d)
			}
			if d.IsObject() && d.ObjectValue()["LOG_LEVEL"].IsString() {
				plain++
			}
		case "kubernetes:core/v1:Secret":
			if sd := r.Inputs["stringData"]; sd.ContainsSecrets() && strings.HasSuffix(r.Name, "-env") {
				if sd.IsSecret() {
					sd = sd.SecretValue().Element
				}
				if v := sd.ObjectValue()["API_TOKEN"]; v.IsSecret() || r.Inputs["stringData"].IsSecret() {
					secret++
				}
			}
		}
	}
	if plain != 1 || secret != 1 {
		t.Errorf("%d ConfigMaps with the plain env, %d Secrets with the secret one; want 1 and 1", plain, secret)
	}
}

// Issue #17: no chart runs an image older than a mechanism the program
// relies on (aws-for-fluent-bit before 2.32.5 has no EKS Pod Identity
// credentials, so no log would be shipped). An image the table cannot
// tell fails too: a new chart version needs its default image recorded.
func TestChartImagesHaveWhatTheProgramUses(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "prod"} {
		res := runStack(t, stack, "")
		n := 0
		for _, r := range res.Resources {
			if r.Type != "kubernetes:helm.sh/v3:Release" {
				continue
			}
			chart := observability.Chart(r.Inputs["chart"].StringValue())
			min, ok := observability.MinimumImages[chart]
			if !ok {
				continue
			}
			n++
			values, _ := r.Inputs["values"].Mappable().(map[string]any)
			img := observability.EffectiveImage(chart, r.Inputs["version"].StringValue(), values)
			if img == "" || observability.OlderImage(img, min.Version) {
				t.Errorf("%s %s: chart %s %s runs image %q, older than %s, which brought %s", stack, r.Name, chart,
					r.Inputs["version"].StringValue(), img, min.Version, min.Needs)
			}
		}
		if n == 0 {
			t.Errorf("%s: no release of a chart with a minimum image", stack)
		}
	}
}

// Issue #17: the Aurora global secondary is the primary after a failover,
// so it carries the primary's settings; it had drifted (no backup window,
// no maintenance window).
func TestAuroraSecondaryMatchesPrimary(t *testing.T) {
	res := runStack(t, "prod", "")
	var primary, secondary *mockstack.Resource
	for _, r := range res.Resources {
		if r.Type == "aws:rds/cluster:Cluster" {
			if strings.HasPrefix(r.Name, "dr-") {
				secondary = r
			} else {
				primary = r
			}
		}
	}
	if primary == nil || secondary == nil {
		t.Fatal("no primary or no secondary Aurora cluster in prod")
	}
	for _, key := range []resource.PropertyKey{"engine", "engineVersion", "backupRetentionPeriod", "preferredBackupWindow",
		"preferredMaintenanceWindow", "storageEncrypted", "iamDatabaseAuthenticationEnabled", "copyTagsToSnapshot",
		"enabledCloudwatchLogsExports", "deletionProtection", "tags"} {
		p, s := primary.Inputs[key], secondary.Inputs[key]
		if p.IsNull() || !p.DeepEquals(s) {
			t.Errorf("%s: primary %v, secondary %v", key, p, s)
		}
	}
}

// Issue #17: AWS Backup protects only the resource types a region is opted
// in to; the plans select Aurora and S3 by tag, so both regions opt in to
// them and every selection waits for its region's settings.
func TestBackupRegionsOptedIn(t *testing.T) {
	res := runStack(t, "prod", "")
	settings := map[string]*mockstack.Resource{} // provider URN -> region settings
	for _, r := range res.Resources {
		if r.Type == "aws:backup/regionSettings:RegionSettings" {
			in := r.Inputs["resourceTypeOptInPreference"].ObjectValue()
			if !in["Aurora"].BoolValue() || !in["S3"].BoolValue() {
				t.Errorf("%s: opt-in %v", r.Name, in)
			}
			settings[r.Provider] = r
		}
	}
	vaults := 0
	for _, r := range res.Resources {
		switch r.Type {
		case "aws:backup/vault:Vault":
			vaults++
			if settings[r.Provider] == nil {
				t.Errorf("vault %s: its region is not opted in", r.Name)
			}
		case "aws:backup/selection:Selection":
			s := settings[r.Provider]
			if s == nil || !slices.Contains(r.Dependencies, s.URN) {
				t.Errorf("selection %s does not wait for its region's opt-in", r.Name)
			}
		}
	}
	if vaults != 2 || len(settings) != 2 {
		t.Errorf("%d vaults, %d regions opted in; want 2 and 2", vaults, len(settings))
	}
}
