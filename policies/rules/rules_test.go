package rules

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// unknown stands for a value the engine does not know yet during a preview.
var unknown = property.New(property.Computed)

// props builds a property map from plain Go values; property.Value items
// (such as unknown) are kept as they are.
func props(m map[string]any) property.Map {
	out := map[string]property.Value{}
	for k, v := range m {
		out[k] = value(v)
	}
	return property.NewMap(out)
}

func value(v any) property.Value {
	switch x := v.(type) {
	case property.Value:
		return x
	case map[string]any:
		return property.New(props(x))
	case []any:
		arr := make([]property.Value, len(x))
		for i, item := range x {
			arr[i] = value(item)
		}
		return property.New(arr)
	case []string:
		arr := make([]property.Value, len(x))
		for i, item := range x {
			arr[i] = property.New(item)
		}
		return property.New(arr)
	case int:
		return property.New(float64(x))
	}
	pv, err := property.Any(toValues(v))
	if err != nil {
		panic(err)
	}
	return pv
}

func res(typ, name string, p map[string]any) policyx.AnalyzerResource {
	return policyx.AnalyzerResource{Type: typ, Name: name, URN: "urn:pulumi:test::eduai::" + typ + "::" + name,
		Properties: props(p)}
}

// dependsOn records that r's property came from target, as the engine reports it.
func dependsOn(r policyx.AnalyzerResource, prop string, target policyx.AnalyzerResource) policyx.AnalyzerResource {
	if r.PropertyDependencies == nil {
		r.PropertyDependencies = map[string][]string{}
	}
	r.PropertyDependencies[prop] = append(r.PropertyDependencies[prop], target.URN)
	r.Dependencies = append(r.Dependencies, target.URN)
	return r
}

func withProvider(r policyx.AnalyzerResource, p map[string]any) policyx.AnalyzerResource {
	r.Provider = policyx.AnalyzerProviderResource{Type: "pulumi:providers:aws", Name: "aws", Properties: props(p)}
	return r
}

type recorder struct{ messages []string }

func (r *recorder) ReportViolation(message, _ string) { r.messages = append(r.messages, message) }

func checkTags(r policyx.AnalyzerResource, config map[string]any) []string {
	rec := &recorder{}
	_ = checkRequiredTags(policyx.ResourceValidationArgs{Manager: rec, Resource: r, Config: config})
	return rec.messages
}

var allTags = map[string]any{"Environment": "prod", "Project": "p", "CostCenter": "cc", "ManagedBy": "pulumi"}

func TestRequiredTags(t *testing.T) {
	vpc := func(tags any) policyx.AnalyzerResource {
		p := map[string]any{"cidrBlock": "10.0.0.0/16"}
		if tags != nil {
			p["tags"] = tags
		}
		return res(typeVpc, "vpc", p)
	}
	noCost := map[string]any{"Environment": "prod", "Project": "p", "ManagedBy": "pulumi"}
	cases := []struct {
		name   string
		r      policyx.AnalyzerResource
		config map[string]any
		want   string // "" = no violation
	}{
		{"provider defaultTags cover all", withProvider(vpc(nil), map[string]any{"defaultTags": map[string]any{"tags": allTags}}), nil, ""},
		{"defaultTags JSON-encoded, as the engine sends provider inputs",
			withProvider(vpc(nil), map[string]any{"defaultTags": `{"tags":{"Environment":"prod","Project":"p","CostCenter":"cc","ManagedBy":"x"}}`}), nil, ""},
		{"CostCenter missing everywhere", withProvider(vpc(map[string]any{"Name": "v"}), map[string]any{"defaultTags": map[string]any{"tags": noCost}}), nil, "lacks the tag(s) CostCenter"},
		{"no provider tags at all", vpc(nil), nil, "lacks the tag(s) CostCenter, Environment, ManagedBy, Project"},
		{"resource tags fill the gap", withProvider(vpc(map[string]any{"CostCenter": "cc"}), map[string]any{"defaultTags": map[string]any{"tags": noCost}}), nil, ""},
		{"empty value counts as missing", vpc(map[string]any{"Environment": "", "Project": "p", "CostCenter": "cc", "ManagedBy": "m"}), nil, "lacks the tag(s) Environment"},
		{"tags not known yet: no verdict", vpc(unknown), nil, ""},
		{"provider tags not known yet: no verdict", withProvider(vpc(nil), map[string]any{"defaultTags": unknown}), nil, ""},
		{"untaggable type is skipped", res("aws:ec2/route:Route", "r", nil), nil, ""},
		{"non-AWS type is skipped", res("kubernetes:core/v1:Namespace", "ns", nil), nil, ""},
		{"configured tag list", vpc(allTags), map[string]any{"requiredTags": []any{"Owner"}}, "lacks the tag(s) Owner"},
	}
	for _, c := range cases {
		got := checkTags(c.r, c.config)
		switch {
		case c.want == "" && len(got) != 0:
			t.Errorf("%s: unexpected violation %v", c.name, got)
		case c.want != "" && (len(got) != 1 || !strings.Contains(got[0], c.want)):
			t.Errorf("%s: got %v, want one containing %q", c.name, got, c.want)
		case c.want != "" && !strings.Contains(got[0], "eduai:tags"):
			t.Errorf("%s: message does not say how to fix: %s", c.name, got[0])
		}
	}
}

func TestVpcFlowLogs(t *testing.T) {
	vpc := res(typeVpc, "vpc", map[string]any{"id": "vpc-1"})
	other := res(typeVpc, "other", map[string]any{"id": "vpc-2"})
	byDep := dependsOn(res(typeFlowLog, "fl", map[string]any{"vpcId": unknown, "logDestination": unknown}), "vpcId", vpc)
	byID := res(typeFlowLog, "fl2", map[string]any{"vpcId": "vpc-1", "logGroupName": "/vpc/flow"})
	nowhere := res(typeFlowLog, "fl4", map[string]any{"vpcId": "vpc-1", "trafficType": "ALL"})
	if got := VpcsWithoutFlowLogs([]policyx.AnalyzerResource{vpc, nowhere}); len(got) != 1 {
		t.Errorf("a flow log without a destination delivers nothing and must not count: %v", got)
	}

	if got := VpcsWithoutFlowLogs([]policyx.AnalyzerResource{vpc}); len(got) != 1 || got[0].URN != vpc.URN ||
		!strings.Contains(got[0].Message, "flowLogs.enabled: true") {
		t.Errorf("VPC without flow log: %v", got)
	}
	if got := VpcsWithoutFlowLogs([]policyx.AnalyzerResource{vpc, byDep}); len(got) != 0 {
		t.Errorf("flow log by dependency: %v", got)
	}
	if got := VpcsWithoutFlowLogs([]policyx.AnalyzerResource{vpc, byID}); len(got) != 0 {
		t.Errorf("flow log by id: %v", got)
	}
	if got := VpcsWithoutFlowLogs([]policyx.AnalyzerResource{vpc, other, byID}); len(got) != 1 || got[0].URN != other.URN {
		t.Errorf("one of two VPCs covered: %v", got)
	}
	unknownVpc := res(typeFlowLog, "fl3", map[string]any{"vpcId": unknown, "logDestination": "arn:aws:logs:::x"})
	if got := VpcsWithoutFlowLogs([]policyx.AnalyzerResource{vpc, unknownVpc}); len(got) != 0 {
		t.Errorf("flow log of a VPC not known yet must give no verdict: %v", got)
	}
}

func TestPublicIngress(t *testing.T) {
	ingress := func(from, to int, proto string, cidrs ...string) map[string]any {
		return map[string]any{"fromPort": from, "toPort": to, "protocol": proto, "cidrBlocks": cidrs}
	}
	sg := func(name string, lb bool, rules ...any) policyx.AnalyzerResource {
		tags := map[string]any{"Name": name}
		if lb {
			tags[RoleTag] = LoadBalancerRole
		}
		return res(typeSecurityGroup, name, map[string]any{"id": "sg-" + name, "tags": tags, "ingress": rules})
	}
	lbGroup := sg("alb", true)
	appGroup := sg("app", false)
	cases := []struct {
		name string
		rs   []policyx.AnalyzerResource
		want string
	}{
		{"ssh from anywhere", []policyx.AnalyzerResource{sg("a", false, ingress(22, 22, "tcp", "0.0.0.0/0"))}, "on port 22"},
		{"https from the VPC", []policyx.AnalyzerResource{sg("a", false, ingress(443, 443, "tcp", "10.0.0.0/16"))}, ""},
		{"https from anywhere on a load balancer's group", []policyx.AnalyzerResource{sg("a", true, ingress(443, 443, "tcp", "0.0.0.0/0"), ingress(80, 80, "tcp", "::/0"))}, ""},
		{"all ports on a load balancer's group", []policyx.AnalyzerResource{sg("a", true, ingress(0, 65535, "tcp", "0.0.0.0/0"))}, "ports 0-65535"},
		{"https from ::/0 on an ordinary group", []policyx.AnalyzerResource{sg("a", false, map[string]any{"fromPort": 443, "toPort": 443, "protocol": "tcp", "ipv6CidrBlocks": []string{"::/0"}})}, "tagged eduai:role=load-balancer"},
		{"all traffic", []policyx.AnalyzerResource{sg("a", true, ingress(0, 0, "-1", "0.0.0.0/0"))}, "all ports"},
		{"cidrs not known yet", []policyx.AnalyzerResource{sg("a", false, map[string]any{"fromPort": 22, "toPort": 22, "protocol": "tcp", "cidrBlocks": unknown})}, ""},
		{"ingress list not known yet", []policyx.AnalyzerResource{res(typeSecurityGroup, "u", map[string]any{"ingress": unknown})}, ""},
		{"separate rule on an ordinary group", []policyx.AnalyzerResource{appGroup, dependsOn(res(typeSGRule, "r", map[string]any{
			"type": "ingress", "fromPort": 5432, "toPort": 5432, "protocol": "tcp", "cidrBlocks": []string{"0.0.0.0/0"}, "securityGroupId": unknown}),
			"securityGroupId", appGroup)}, `"app" allows ingress from anywhere`},
		{"separate rule, 443 on the load balancer's group", []policyx.AnalyzerResource{lbGroup, res(typeSGRule, "r", map[string]any{
			"type": "ingress", "fromPort": 443, "toPort": 443, "protocol": "tcp", "cidrBlocks": []string{"0.0.0.0/0"}, "securityGroupId": "sg-alb"})}, ""},
		{"egress to anywhere is not ingress", []policyx.AnalyzerResource{res(typeSGRule, "e", map[string]any{
			"type": "egress", "fromPort": 0, "toPort": 0, "protocol": "-1", "cidrBlocks": []string{"0.0.0.0/0"}})}, ""},
		{"vpc ingress rule, all protocols", []policyx.AnalyzerResource{appGroup, dependsOn(res(typeSGIngressRule, "i", map[string]any{
			"ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"}), "securityGroupId", appGroup)}, "all ports"},
		// Issue #20: anywhere written as narrower CIDRs that cover it all.
		{"two halves of IPv4", []policyx.AnalyzerResource{sg("a", false, ingress(22, 22, "tcp", "128.0.0.0/1", "0.0.0.0/1"))}, "on port 22"},
		{"four quarters with an overlap", []policyx.AnalyzerResource{sg("a", false, ingress(22, 22, "tcp", "0.0.0.0/2", "64.0.0.0/2",
			"128.0.0.0/1", "130.0.0.0/8"))}, "on port 22"},
		{"two halves of IPv6", []policyx.AnalyzerResource{sg("a", false, map[string]any{"fromPort": 22, "toPort": 22, "protocol": "tcp",
			"ipv6CidrBlocks": []string{"::/1", "8000::/1"}})}, "on port 22"},
		{"half of IPv4 is not all of it", []policyx.AnalyzerResource{sg("a", false, ingress(22, 22, "tcp", "0.0.0.0/1", "192.0.0.0/2"))}, ""},
	}
	for _, c := range cases {
		got := PublicIngress(c.rs)
		switch {
		case c.want == "" && len(got) != 0:
			t.Errorf("%s: unexpected %v", c.name, got)
		case c.want != "" && (len(got) != 1 || !strings.Contains(got[0].Message, c.want)):
			t.Errorf("%s: got %v, want one containing %q", c.name, got, c.want)
		}
	}
}

func TestDatabaseSubnetsPrivate(t *testing.T) {
	igw := res(typeInternetGateway, "igw", map[string]any{"id": "igw-1"})
	dbSubnet := res(typeSubnet, "db-a", map[string]any{"id": "subnet-db", "tags": map[string]any{"Tier": "database"}})
	appSubnet := res(typeSubnet, "app-a", map[string]any{"id": "subnet-app", "tags": map[string]any{"Tier": "private"}})
	rt := res(typeRouteTable, "rt", map[string]any{"id": "rtb-1"})
	assoc := func(subnet policyx.AnalyzerResource, rt policyx.AnalyzerResource) policyx.AnalyzerResource {
		a := res(typeRTAssociation, "assoc-"+subnet.Name, map[string]any{"subnetId": unknown, "routeTableId": unknown})
		return dependsOn(dependsOn(a, "subnetId", subnet), "routeTableId", rt)
	}
	igwRoute := dependsOn(dependsOn(res(typeRoute, "default", map[string]any{
		"destinationCidrBlock": "0.0.0.0/0", "gatewayId": unknown, "routeTableId": unknown}), "routeTableId", rt), "gatewayId", igw)
	natRoute := res(typeRoute, "nat", map[string]any{"destinationCidrBlock": "0.0.0.0/0", "natGatewayId": "nat-1", "routeTableId": "rtb-1"})
	inlineRT := res(typeRouteTable, "inline", map[string]any{"id": "rtb-2", "routes": []any{
		map[string]any{"cidrBlock": "0.0.0.0/0", "gatewayId": "igw-0abc"}}})

	cases := []struct {
		name string
		rs   []policyx.AnalyzerResource
		want int
	}{
		{"database subnet on a table routing to the IGW", []policyx.AnalyzerResource{igw, dbSubnet, rt, igwRoute, assoc(dbSubnet, rt)}, 1},
		{"database subnet on a table with only a NAT route", []policyx.AnalyzerResource{igw, dbSubnet, rt, natRoute, assoc(dbSubnet, rt)}, 0},
		{"database subnet on a table with an inline IGW route", []policyx.AnalyzerResource{igw, dbSubnet, inlineRT, assoc(dbSubnet, inlineRT)}, 1},
		{"private subnet on an IGW table is another rule's business", []policyx.AnalyzerResource{igw, appSubnet, rt, igwRoute, assoc(appSubnet, rt)}, 0},
		{"database subnet without an association (main table)", []policyx.AnalyzerResource{igw, dbSubnet, rt, igwRoute}, 0},
	}
	for _, c := range cases {
		got := DatabaseSubnetsWithInternetRoute(c.rs)
		if len(got) != c.want {
			t.Errorf("%s: got %v, want %d finding(s)", c.name, got, c.want)
		}
		for _, f := range got {
			if f.URN != dbSubnet.URN || !strings.Contains(f.Message, "database route table") {
				t.Errorf("%s: finding %+v", c.name, f)
			}
		}
	}
}

func TestPackAndConfig(t *testing.T) {
	pack, err := NewPack()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range pack.Policies() {
		if names[p.Name()] {
			t.Errorf("policy %s twice", p.Name())
		}
		names[p.Name()] = true
		// Advisory by default: the exceptions' carrier, and image digests (the issue: advisory until the pipeline supplies them).
		if p.EnforcementLevel() != policyx.EnforcementLevelMandatory && p.Name() != PolicyExceptions && p.Name() != ImageDigest {
			t.Errorf("%s: default level %v; per-stack levels belong in policies/config", p.Name(), p.EnforcementLevel())
		}
	}

	ps := Policies()
	cfg, err := ParseConfig([]byte(`{"all":"advisory","network-vpc-flow-logs":"mandatory",
		"tags-aws-required":{"enforcementLevel":"mandatory","requiredTags":["Owner"]},"network-sg-no-world-ingress":"disabled"}`), ps)
	if err != nil {
		t.Fatal(err)
	}
	if cfg[VpcFlowLogs].EnforcementLevel != policyx.EnforcementLevelMandatory ||
		cfg[DatabaseSubnetsPrivate].EnforcementLevel != policyx.EnforcementLevelAdvisory ||
		cfg[NoPublicIngress].EnforcementLevel != policyx.EnforcementLevelDisabled ||
		cfg[RequiredTags].Properties["requiredTags"] == nil {
		t.Errorf("parsed config: %+v", cfg)
	}
	for _, bad := range []string{`{"no-such-rule":"advisory"}`, `{"network-vpc-flow-logs":"sometimes"}`, `[1]`,
		`{"tags-aws-required":{"enforcementLevel":"often"}}`} {
		if _, err := ParseConfig([]byte(bad), ps); err == nil {
			t.Errorf("config %s accepted", bad)
		}
	}

	// Levels from the config are what Evaluate reports; disabled rules do not run.
	vpc := res(typeVpc, "vpc", map[string]any{"tags": allTags})
	sg := res(typeSecurityGroup, "sg", map[string]any{"tags": allTags, "ingress": []any{
		map[string]any{"fromPort": 22, "toPort": 22, "protocol": "tcp", "cidrBlocks": []string{"0.0.0.0/0"}}}})
	vs, err := Evaluate(context.Background(), ps, []policyx.AnalyzerResource{vpc, sg}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range vs {
		got[v.Policy] = v.Enforcement
	}
	if got[VpcFlowLogs] != "mandatory" || got[RequiredTags] != "mandatory" || got[NoPublicIngress] != "" {
		t.Errorf("violations: %+v", vs)
	}
	// Mandatory: the flow log and the Owner tag on each of the two resources; advisory
	// through "all": the VPC's untouched default security group and the unattached group.
	if m, a := Count(vs); m != 3 || a != 2 {
		t.Errorf("count: %d mandatory, %d advisory: %+v", m, a, vs)
	}
}

// Each shipped policy config names only the pack's policies, with valid levels.
func TestShippedPolicyConfigs(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "prod"} {
		cfg, err := LoadConfig("../config/"+stack+".json", Policies())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range Policies() {
			if _, ok := cfg[p.Name()]; !ok {
				t.Errorf("%s.json does not set %s", stack, p.Name())
			}
		}
		if stack != "dev" {
			for name, pc := range cfg {
				advisoryOutsideProd := (name == MeshMTLSStrict || name == MeshMTLSMeshWide || name == CanaryAnalysis || name == MeshDefaultDeny) && stack == "staging"
				// The exceptions' carrier judges nothing; digests wait for the pipeline (advisory in prod, off before).
				advisoryOutsideProd = advisoryOutsideProd || name == PolicyExceptions || name == ImageDigest
				// DR is optional in staging (the issue: prod on, staging optional).
				advisoryOutsideProd = advisoryOutsideProd || ((name == DRAuroraGlobal || name == DRBucketReplication ||
					name == DRElastiCacheGlobal) && stack == "staging")
				// Staging keeps a week of backups; the rule's bound is prod's 30 days (stack rules take no config).
				advisoryOutsideProd = advisoryOutsideProd || (name == BackupCoverage && stack == "staging")
				if name != EKSVersionSupport && !advisoryOutsideProd && pc.EnforcementLevel != policyx.EnforcementLevelMandatory {
					t.Errorf("%s: %s is %s; outside dev every rule but the support-window notice is mandatory",
						stack, name, LevelName(pc.EnforcementLevel))
				}
			}
		}
	}
}

// inClusterOf puts a Kubernetes object in a cluster: its Kubernetes provider
// (the primary's "k8s", the DR region's "dr-k8s").
func inClusterOf(r policyx.AnalyzerResource, provider string) policyx.AnalyzerResource {
	r.Provider = policyx.AnalyzerProviderResource{Type: "pulumi:providers:kubernetes", Name: provider,
		URN: "urn:pulumi:test::eduai::pulumi:providers:kubernetes::" + provider}
	r.URN += "@" + provider
	return r
}

// clusters puts each object in the cluster of the same index.
func clusters(pairs ...any) []policyx.AnalyzerResource {
	var out []policyx.AnalyzerResource
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, inClusterOf(pairs[i].(policyx.AnalyzerResource), pairs[i+1].(string)))
	}
	return out
}
