package critpath

import (
	"strings"
	"testing"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// planOf builds a small recorded plan: an AWS provider, a pulumi-eks
// cluster "eduai-test" in its network, a node group, and a Kubernetes
// provider configured from the cluster.
type planOf struct{ rs []*mockstack.Resource }

const stackURN = "urn:pulumi:test::eduai::"

func (p *planOf) add(typ, name string, custom bool, inputs map[string]any, deps ...string) *mockstack.Resource {
	r := &mockstack.Resource{URN: stackURN + typ + "::" + name, Type: typ, Name: name, Custom: custom,
		Inputs: resource.NewPropertyMapFromMap(inputs), Dependencies: deps}
	r.ID, r.State = mockstack.FakeState(r.URN, typ, name, r.Inputs, "us-west-2")
	if !custom {
		r.ID, r.State = "", r.Inputs.Copy()
	}
	switch {
	case strings.HasPrefix(typ, "aws:"):
		r.Provider = p.rs[0].URN
	case strings.HasPrefix(typ, "kubernetes:"):
		r.Provider = p.rs[3].URN
	}
	p.rs = append(p.rs, r)
	return r
}

func newPlan() *planOf {
	p := &planOf{}
	p.add("pulumi:providers:aws", "aws", true, map[string]any{"region": "us-west-2"})
	vpc := p.add("aws:ec2/vpc:Vpc", "vpc", true, map[string]any{"cidrBlock": "10.0.0.0/16"})
	eks := p.add("eks:index:Cluster", "cluster", false, map[string]any{"name": "eduai-test", "vpcId": vpc.ID}, vpc.URN)
	p.add("pulumi:providers:kubernetes", "k8s", true, map[string]any{"kubeconfig": "{}"}, eks.URN)
	p.add("aws:eks/nodeGroup:NodeGroup", "nodes", true, map[string]any{"clusterName": "eduai-test"}, eks.URN)
	return p
}

func (p *planOf) urn(name string) string {
	for _, r := range p.rs {
		if r.Name == name {
			return r.URN
		}
	}
	return ""
}

func missing(p *planOf) string { return strings.Join(Analyze(p.rs).Missing, "\n") }

// A Pod Identity association that names its cluster by a plain string and
// waits for nothing is created before EKS exists: reported, with EKS's answer.
func TestMissingEdgeToCluster(t *testing.T) {
	p := newPlan()
	role := p.add("aws:iam/role:Role", "role", true, map[string]any{"assumeRolePolicy": "{}"})
	p.add("aws:eks/podIdentityAssociation:PodIdentityAssociation", "assoc", true, map[string]any{
		"clusterName": "eduai-test", "namespace": "kube-system", "serviceAccount": "sa", "roleArn": role.State["arn"].StringValue()},
		role.URN)
	got := missing(p)
	if !strings.Contains(got, "PodIdentityAssociation::assoc needs "+p.urn("cluster")) ||
		!strings.Contains(got, `clusterName = "eduai-test"`) || !strings.Contains(got, "ResourceNotFoundException") {
		t.Fatalf("the association without its cluster is not reported:\n%s", got)
	}
	// Waiting for the cluster (its output carries the dependency) meets it.
	p = newPlan()
	role = p.add("aws:iam/role:Role", "role", true, map[string]any{"assumeRolePolicy": "{}"})
	p.add("aws:eks/podIdentityAssociation:PodIdentityAssociation", "assoc", true, map[string]any{
		"clusterName": "eduai-test", "namespace": "kube-system", "serviceAccount": "sa", "roleArn": role.State["arn"].StringValue()},
		role.URN, p.urn("cluster"))
	if got := missing(p); got != "" {
		t.Errorf("met requirement reported:\n%s", got)
	}
}

// A namespaced object needs its namespace, a custom resource the chart
// that installs its CRD; a release that creates its namespace stands for it.
func TestMissingNamespaceAndCRD(t *testing.T) {
	p := newPlan()
	ns := p.add("kubernetes:core/v1:Namespace", "ns", true, map[string]any{"metadata": map[string]any{"name": "eduai"}})
	p.add("kubernetes:core/v1:ConfigMap", "early", true, map[string]any{"metadata": map[string]any{"name": "c", "namespace": "eduai"}})
	p.add("kubernetes:core/v1:ConfigMap", "late", true, map[string]any{"metadata": map[string]any{"name": "d", "namespace": "eduai"}},
		ns.URN)
	rel := p.add("kubernetes:helm.sh/v3:Release", "prom", true, map[string]any{"chart": "kube-prometheus-stack",
		"namespace": "monitoring", "createNamespace": true}, p.urn("nodes"))
	p.add("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "monitor", true,
		map[string]any{"metadata": map[string]any{"name": "m", "namespace": "monitoring"}})
	p.add("kubernetes:monitoring.coreos.com/v1:PodMonitor", "podmonitor", true,
		map[string]any{"metadata": map[string]any{"name": "p", "namespace": "monitoring"}}, rel.URN)
	got := missing(p)
	for _, want := range []string{
		"ConfigMap::early needs " + ns.URN + ` (metadata.namespace = "eduai"; without it: namespaces "eduai" not found)`,
		"ServiceMonitor::monitor needs " + rel.URN + " (its CRD comes with the kube-prometheus-stack chart",
		"ServiceMonitor::monitor needs " + rel.URN + ` (metadata.namespace = "monitoring"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing lacks %q:\n%s", want, got)
		}
	}
	for _, ok := range []string{"ConfigMap::late", "PodMonitor::podmonitor", "Release::prom"} {
		if strings.Contains(got, ok+" needs") {
			t.Errorf("%s meets its requirements but is reported:\n%s", ok, got)
		}
	}
}

// The lower bound is the longest chain over the required edges, not the
// program's: a program that forgets the cluster edge gets no shorter bound
// (the edge is required all the same) and is reported; one that waits for
// more than it must is modeled above the bound and the edge is needless.
func TestBoundOverRequiredEdges(t *testing.T) {
	p := newPlan()
	p.add("aws:eks/addon:Addon", "coredns", true, map[string]any{"clusterName": "eduai-test", "addonName": "coredns"},
		p.urn("nodes"))
	rep := Analyze(p.rs)
	// vpc 5 + cluster 600 + nodes 240 + addon 60
	if rep.LowerBoundSeconds != 905 || rep.ModeledSeconds != 905 || len(rep.Missing) != 0 {
		t.Fatalf("bound %d, modeled %d, missing %v", rep.LowerBoundSeconds, rep.ModeledSeconds, rep.Missing)
	}
	// The same plan with the node group's edge to the cluster forgotten.
	forgot := newPlan()
	forgot.rs[4].Dependencies = nil
	forgot.add("aws:eks/addon:Addon", "coredns", true, map[string]any{"clusterName": "eduai-test", "addonName": "coredns"},
		forgot.urn("nodes"))
	rep = Analyze(forgot.rs)
	if rep.LowerBoundSeconds != 905 || rep.ModeledSeconds >= rep.LowerBoundSeconds {
		t.Errorf("a forgotten edge moved the bound: bound %d, modeled %d", rep.LowerBoundSeconds, rep.ModeledSeconds)
	}
	// Reported for the node group, and for the add-on that waited only for it.
	if len(rep.Missing) != 2 || !strings.Contains(rep.Missing[1], "NodeGroup::nodes needs "+forgot.urn("cluster")) ||
		!strings.Contains(rep.Missing[0], "Addon::coredns needs "+forgot.urn("cluster")) {
		t.Errorf("the forgotten edge is not reported: %v", rep.Missing)
	}
	// A needless wait: a bucket that waits for the node group.
	extra := newPlan()
	extra.add("aws:s3/bucketV2:BucketV2", "bucket", true, map[string]any{"bucket": "b"}, extra.urn("nodes"))
	rep = Analyze(extra.rs)
	if rep.ModeledSeconds <= rep.LowerBoundSeconds || len(rep.Needless) != 1 ||
		!strings.Contains(rep.Needless[0], "BucketV2::bucket -> "+extra.urn("nodes")) {
		t.Errorf("modeled %d, bound %d, needless %v", rep.ModeledSeconds, rep.LowerBoundSeconds, rep.Needless)
	}
}
