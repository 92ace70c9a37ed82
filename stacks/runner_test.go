package stacks_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/eduai/infra/internal/stackfile"
	"github.com/eduai/infra/stacks"
)

const bootstrapFixture = "testdata/prod-bootstrap.yaml"

// Issue #18: every stack runs its GitLab Runner in its own VPC's private
// subnets, tagged eduai-<stack>, and the cluster's private endpoint admits
// it; prod's DR region has a runner of its own, and the peering lets a
// runner in either region reach both clusters.
func TestRunnerInEveryStack(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "prod"} {
		t.Run(stack, func(t *testing.T) {
			res := runStack(t, stack, "")
			group := find(res, "aws:autoscaling/group:Group", "ci-runner")
			if group == nil {
				t.Fatal("no runner")
			}
			tags := map[string]string{}
			for _, tag := range group.Inputs["tags"].ArrayValue() {
				o := tag.ObjectValue()
				tags[o["key"].StringValue()] = o["value"].StringValue()
			}
			if tags["gitlab-runner-tag"] != "eduai-"+stack || res.Outputs["runnerTag"].Value != "eduai-"+stack {
				t.Errorf("runner tag %q, output %v", tags["gitlab-runner-tag"], res.Outputs["runnerTag"].Value)
			}
			network := find(res, "eduai:network:Vpc", "network")
			private := map[string]bool{}
			for _, r := range res.Resources {
				if r.Type == "aws:ec2/subnet:Subnet" && r.Parent == network.URN && strings.Contains(r.Name, "-private-") {
					private[r.URN] = true
				}
			}
			subnets := group.PropertyDependencies["vpcZoneIdentifiers"]
			if len(subnets) == 0 || len(subnets) != len(private) {
				t.Errorf("runner subnets %v, want the %d private ones", subnets, len(private))
			}
			for _, s := range subnets {
				if !private[s] {
					t.Errorf("runner in %s, not a private subnet", s)
				}
			}
			sg := find(res, "aws:ec2/securityGroup:SecurityGroup", "ci-runner")
			rule := find(res, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "cluster-api-ci-runner")
			api := find(res, "aws:ec2/securityGroup:SecurityGroup", "cluster-api")
			if rule == nil || !rule.DependsOnURN("referencedSecurityGroupId", sg.URN) || !rule.DependsOnURN("securityGroupId", api.URN) {
				t.Errorf("the cluster's API endpoint does not admit the runner: %v", rule)
			}
			if !find(res, "aws:kms/key:Key", "ci-runner-token").Protect == (stack != "dev") {
				t.Errorf("token key protection in %s", stack)
			}
			if stack != "prod" {
				return
			}
			if g := find(res, "aws:autoscaling/group:Group", "dr-ci-runner"); g == nil || res.Outputs["drRunnerTag"].Value != "eduai-prod-dr" {
				t.Errorf("no DR runner (%v)", res.Outputs["drRunnerTag"].Value)
			}
			// Each region's private route tables route the other region's block through the peering.
			routes := map[string]string{}
			for _, r := range res.Resources {
				if r.Type == "aws:ec2/route:Route" && r.String("vpcPeeringConnectionId") != "" {
					routes[r.Name] = r.String("destinationCidrBlock")
				}
			}
			for _, zone := range []string{"us-west-2a", "us-west-2b", "us-west-2c"} {
				if routes["peering-"+zone] != "10.130.0.0/16" {
					t.Errorf("primary %s: route %q to the DR network", zone, routes["peering-"+zone])
				}
			}
			for _, zone := range []string{"use1-az1", "use1-az2", "use1-az4"} {
				if routes["dr-peering-"+zone] != "10.30.0.0/16" {
					t.Errorf("DR %s: route %q to the primary network", zone, routes["dr-peering-"+zone])
				}
			}
			// Across regions a security group cannot be named: the other region's private subnets are.
			cidrs := map[string][]string{}
			for _, r := range res.Resources {
				if r.Type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" && r.String("cidrIpv4") != "" {
					owner := "primary"
					if strings.HasPrefix(r.Name, "dr-") {
						owner = "dr"
					}
					cidrs[owner] = append(cidrs[owner], r.String("cidrIpv4"))
				}
			}
			if len(cidrs["primary"]) != 3 || len(cidrs["dr"]) != 3 || !strings.HasPrefix(cidrs["primary"][0], "10.130.") ||
				!strings.HasPrefix(cidrs["dr"][0], "10.30.") {
				t.Errorf("cross-region API clients %v", cidrs)
			}
		})
	}
}

// The runner token is secret config: a plain one is refused without being
// repeated; a secret one becomes the token secret's version.
func TestRunnerToken(t *testing.T) {
	dir := t.TempDir()
	load := func(token string) (*stacks.Config, error) {
		file := filepath.Join(dir, "Pulumi.staging.yaml")
		body := "config:\n  aws:region: us-west-2\n  eduai:tags: {CostCenter: cc-1}\n  eduai:runner:\n    token: " + token + "\n"
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		sf, err := stackfile.Load("../Pulumi.yaml", file)
		if err != nil {
			t.Fatal(err)
		}
		src := stacks.SourceFromValues("staging", sf.Values)
		// The engine always says which keys are secret (none is an empty list).
		src.SecretKeys = append([]string{}, sf.SecretKeys...)
		return stacks.LoadConfig(src)
	}
	_, err := load("glrt-plain-text-token")
	if err == nil || !strings.Contains(err.Error(), "runner.token: is in plain text in the stack config") ||
		strings.Contains(err.Error(), "glrt-plain-text-token") {
		t.Errorf("plain token: %v", err)
	}
	if _, err := load("{secure: v1:abc}"); err != nil {
		t.Errorf("secret token refused: %v", err)
	}
}

// The foundation phase of a new environment registers only what needs no
// Kubernetes API and what the runner needs to run the rest: the networks,
// their peering, the runners, the clusters' API security groups and the EKS
// clusters — with the same URNs the full stack has, so
// the second phase adds to them and replaces nothing. It passes the pack.
func TestBootstrapFoundation(t *testing.T) {
	phase1 := runStack(t, "prod", bootstrapFixture)
	if n := len(phase1.Violations); n != 0 {
		for _, v := range phase1.Violations {
			t.Errorf("the foundation phase violates %s: %s", v.Policy, v.Message)
		}
	}
	if phase1.Outputs["bootstrapPhase"].Value != "foundation" {
		t.Errorf("outputs %v", phase1.Outputs)
	}
	allowed := []string{"eduai:network:Vpc", "eduai:network:Peering", "eduai:ci:Runner", "eduai:cluster:APIAccess", "eduai:cluster:Cluster", "pulumi:providers:aws",
		"pulumi:providers:eks", "pulumi:providers:random", "pulumi:pulumi:Stack"}
	byURN := map[string]*mockstack.Resource{}
	for _, r := range phase1.Resources {
		byURN[r.URN] = r
	}
	// top is the component a resource belongs to (itself at the top).
	top := func(r *mockstack.Resource) string {
		for byURN[r.Parent] != nil && byURN[r.Parent].Type != "pulumi:pulumi:Stack" {
			r = byURN[r.Parent]
		}
		return r.Type
	}
	components := map[string]int{}
	for _, r := range phase1.Resources {
		if !slices.Contains(allowed, top(r)) {
			t.Errorf("the foundation phase registers %s %s (under %s)", r.Type, r.Name, top(r))
		}
		components[top(r)]++
	}
	for _, c := range []string{"eduai:network:Vpc", "eduai:network:Peering", "eduai:ci:Runner", "eduai:cluster:APIAccess", "eduai:cluster:Cluster"} {
		if components[c] == 0 {
			t.Errorf("the foundation phase lacks %s", c)
		}
	}
	phase2 := runStack(t, "prod", "")
	full := map[string]bool{}
	for _, r := range phase2.Resources {
		full[r.URN] = true
	}
	for _, r := range phase1.Resources {
		if !full[r.URN] {
			t.Errorf("%s of the foundation phase is not in the full stack: the second phase would delete it", r.URN)
		}
	}
	if len(phase2.Resources) <= len(phase1.Resources) {
		t.Errorf("the full stack (%d) is not larger than the foundation (%d)", len(phase2.Resources), len(phase1.Resources))
	}
}

// The bootstrap fixture is the shipped prod stack plus the bootstrap key.
func TestBootstrapFixture(t *testing.T) {
	prod, err1 := os.ReadFile("../Pulumi.prod.yaml")
	fixture, err2 := os.ReadFile(bootstrapFixture)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	body := func(b []byte) string { s := string(b); return s[strings.Index(s, "config:"):] }
	want := strings.TrimRight(body(prod), "\n") + "\n  eduai:bootstrap:\n    foundation: true\n"
	if body(fixture) != want {
		t.Error("the bootstrap fixture drifted from Pulumi.prod.yaml: regenerate it (copy, add eduai:bootstrap.foundation: true)")
	}
}

// Every URN a golden list loses is the alias of a URN it gains: the
// resource keeps its identity. testdata/golden/aliased.urns lists them (issue
// #19 renamed the failover records by role; issue #21 made the DR
// secondaries a role of the Aurora and Redis components).
func TestRenamesAreAliased(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "golden", "aliased.urns"))
	if err != nil {
		t.Fatal(err)
	}
	byStack := map[string][]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			stack := strings.Split(strings.TrimPrefix(line, "urn:pulumi:"), "::")[0]
			byStack[stack] = append(byStack[stack], line)
		}
	}
	if len(byStack) == 0 {
		t.Fatal("no URN in aliased.urns")
	}
	for stack, olds := range byStack {
		res := runStack(t, stack, "")
		aliases, current := map[string]bool{}, map[string]bool{}
		for _, r := range res.Resources {
			current[r.URN] = true
			for _, a := range r.Aliases {
				aliases[a] = true
			}
		}
		for _, old := range olds {
			if !aliases[old] || current[old] {
				t.Errorf("%s is no resource's alias (or still a URN): the resource would be replaced", old)
			}
		}
	}
}
