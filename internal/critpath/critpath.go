// Package critpath models the wall time of a fresh `pulumi up` from a
// recorded plan: the engine creates a resource once everything it waits on
// exists (its dependencies, its provider, its parent), so the update takes
// as long as the longest weighted chain. Durations are typical create times
// per resource type (Durations, each with its source). The lower bound is
// the same longest chain over only the edges AWS and Kubernetes really
// require (Necessary): where the program waits for more, a fresh environment
// is slower than it has to be, and the report names the edge.
package critpath

import (
	"fmt"
	"sort"
	"strings"

	"github.com/eduai/infra/internal/mockstack"
)

// Duration is a typical create time and where the figure comes from.
type Duration struct {
	Seconds int
	Source  string
}

const (
	srcEKS     = "AWS EKS user guide: cluster creation takes about 10 minutes; managed node groups about 4"
	srcRDS     = "AWS RDS user guide and provider timeouts: an Aurora cluster ~5 min, each instance ~10 min; a global secondary ~20 min"
	srcCache   = "AWS ElastiCache user guide: a replication group takes 10-15 minutes; a Global Datastore secondary ~20"
	srcMSK     = "AWS MSK developer guide: creating a cluster takes about 25 minutes"
	srcMQ      = "Amazon MQ developer guide: a broker takes about 15 minutes"
	srcNetwork = "AWS VPC user guide: NAT gateways and interface endpoints become available in 1-3 minutes"
	srcR53     = "Route 53 developer guide: changes propagate (INSYNC) within 60 seconds"
	srcHelm    = "observed Helm installs with --atomic: pods pulled and ready in 1-3 minutes"
	srcK8s     = "Kubernetes objects are accepted at once; the provider waits for Deployments and Jobs to be ready"
	srcAPI     = "a single API call (IAM, KMS, S3, EC2 metadata, CloudWatch): seconds"
)

// Durations are the typical create times per resource type; Default covers the rest.
var Durations = map[string]Duration{
	"eks:index:Cluster":                                             {600, srcEKS},
	"aws:eks/nodeGroup:NodeGroup":                                   {240, srcEKS},
	"aws:eks/addon:Addon":                                           {60, srcEKS},
	"aws:eks/podIdentityAssociation:PodIdentityAssociation":         {10, srcAPI},
	"aws:rds/cluster:Cluster":                                       {300, srcRDS},
	"aws:rds/clusterInstance:ClusterInstance":                       {600, srcRDS},
	"aws:rds/globalCluster:GlobalCluster":                           {60, srcRDS},
	"aws:elasticache/replicationGroup:ReplicationGroup":             {900, srcCache},
	"aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": {300, srcCache},
	"aws:msk/cluster:Cluster":                                       {1500, srcMSK},
	"aws:mq/broker:Broker":                                          {900, srcMQ},
	"aws:ec2/natGateway:NatGateway":                                 {120, srcNetwork},
	"aws:ec2/vpcEndpoint:VpcEndpoint":                               {120, srcNetwork},
	"aws:route53/zone:Zone":                                         {60, srcR53},
	"aws:route53/record:Record":                                     {60, srcR53},
	"aws:route53/healthCheck:HealthCheck":                           {30, srcR53},
	"kubernetes:helm.sh/v3:Release":                                 {120, srcHelm},
	"kubernetes:apps/v1:Deployment":                                 {60, srcK8s},
	"kubernetes:batch/v1:Job":                                       {60, srcK8s},
}

// Default is the create time of every other type.
func Default(typ string) Duration {
	switch {
	case strings.HasPrefix(typ, "pulumi:providers:"), strings.HasPrefix(typ, "random:"):
		return Duration{0, "local: no cloud call"}
	case strings.HasPrefix(typ, "kubernetes:"):
		return Duration{5, srcK8s}
	}
	return Duration{5, srcAPI}
}

// durationOf is a resource's modeled create time: its type's, longer for the
// secondaries that join a global database or datastore (they copy the data),
// and a LoadBalancer Service waits for its NLB.
func durationOf(r *mockstack.Resource) int {
	switch {
	case r.Type == "aws:rds/cluster:Cluster" && !r.Inputs["globalClusterIdentifier"].IsNull() && r.Inputs.HasValue("globalClusterIdentifier"):
		return 1200
	case r.Type == "aws:elasticache/replicationGroup:ReplicationGroup" && r.Inputs.HasValue("globalReplicationGroupId"):
		return 1200
	case r.Type == "kubernetes:core/v1:Service" && r.Inputs.HasValue("spec") && r.Inputs["spec"].IsObject() &&
		r.Inputs["spec"].ObjectValue()["type"].IsString() && r.Inputs["spec"].ObjectValue()["type"].StringValue() == "LoadBalancer":
		return 180
	}
	if d, ok := Durations[r.Type]; ok {
		return d.Seconds
	}
	return Default(r.Type).Seconds
}

// Report is the critical-path analysis of a plan.
type Report struct {
	// ModeledSeconds: the longest chain of the program's own graph.
	ModeledSeconds int `json:"modeledSeconds"`
	// LowerBoundSeconds: the longest chain of necessary edges only.
	LowerBoundSeconds int `json:"lowerBoundSeconds"`
	// SerialSeconds: every create one after the other.
	SerialSeconds int `json:"serialSeconds"`
	// Chain is the bounding chain of the program's graph, first create first.
	Chain []string `json:"chain"`
	// Needless are the chain's edges no AWS or Kubernetes requirement explains ("dependent -> dependency").
	Needless []string `json:"needless"`
}

// graph is the plan's nodes with the edges the engine waits on.
type graph struct {
	nodes map[string]*mockstack.Resource
	// waits[u] are the URNs u waits for: dependencies (a component stands
	// for its descendants), its provider and its parent.
	waits map[string][]string
}

func build(resources []*mockstack.Resource) graph {
	g := graph{nodes: map[string]*mockstack.Resource{}, waits: map[string][]string{}}
	children := map[string][]string{}
	for _, r := range resources {
		g.nodes[r.URN] = r
		if r.Parent != "" {
			children[r.Parent] = append(children[r.Parent], r.URN)
		}
	}
	// A component (not a modeled leaf) stands for the resources under it.
	var expand func(u string, seen map[string]bool) []string
	expand = func(u string, seen map[string]bool) []string {
		r := g.nodes[u]
		if r == nil || seen[u] {
			return nil
		}
		seen[u] = true
		if r.Custom || isLeaf(r.Type) {
			return []string{u}
		}
		var out []string
		for _, c := range children[u] {
			out = append(out, expand(c, seen)...)
		}
		return out
	}
	for _, r := range resources {
		if !r.Custom && !isLeaf(r.Type) {
			continue // components take no time; what waits on them waits on their resources
		}
		var waits []string
		for _, d := range r.Dependencies {
			waits = append(waits, expand(d, map[string]bool{})...)
		}
		if r.Provider != "" {
			waits = append(waits, r.Provider)
		}
		// A child of a resource (not a component) is created after it.
		if p := g.nodes[r.Parent]; p != nil && (p.Custom || isLeaf(p.Type)) {
			waits = append(waits, r.Parent)
		}
		sort.Strings(waits)
		g.waits[r.URN] = compact(waits, r.URN)
	}
	return g
}

func isLeaf(typ string) bool {
	return typ == "eks:index:Cluster" || strings.HasPrefix(typ, "pulumi:providers:")
}

func compact(xs []string, self string) []string {
	var out []string
	for i, x := range xs {
		if x != self && (i == 0 || x != xs[i-1]) {
			out = append(out, x)
		}
	}
	return out
}

// longest returns each node's finish time and predecessor on its longest chain, over the edges keep allows.
func (g graph) longest(keep func(from, to *mockstack.Resource) bool) (map[string]int, map[string]string) {
	finish, prev := map[string]int{}, map[string]string{}
	var visit func(u string, stack map[string]bool) int
	visit = func(u string, stack map[string]bool) int {
		if f, ok := finish[u]; ok {
			return f
		}
		if stack[u] {
			return 0 // a cycle cannot be in a valid plan; do not loop
		}
		stack[u] = true
		start := 0
		for _, w := range g.waits[u] {
			if g.nodes[w] == nil || !keep(g.nodes[u], g.nodes[w]) {
				continue
			}
			if f := visit(w, stack); f > start {
				start, prev[u] = f, w
			}
		}
		delete(stack, u)
		finish[u] = start + durationOf(g.nodes[u])
		return finish[u]
	}
	for u := range g.waits {
		visit(u, map[string]bool{})
	}
	return finish, prev
}

// Analyze computes the report of a recorded plan.
func Analyze(resources []*mockstack.Resource) Report {
	g := build(resources)
	var rep Report
	for u := range g.waits {
		rep.SerialSeconds += durationOf(g.nodes[u])
	}
	all := func(_, _ *mockstack.Resource) bool { return true }
	finish, prev := g.longest(all)
	end := ""
	for u, f := range finish {
		if f > rep.ModeledSeconds || (f == rep.ModeledSeconds && u < end) {
			rep.ModeledSeconds, end = f, u
		}
	}
	for u := end; u != ""; u = prev[u] {
		rep.Chain = append([]string{u}, rep.Chain...)
	}
	for i := 1; i < len(rep.Chain); i++ {
		from, to := g.nodes[rep.Chain[i]], g.nodes[rep.Chain[i-1]]
		if !Necessary(from, to) {
			rep.Needless = append(rep.Needless, fmt.Sprintf("%s -> %s", from.URN, to.URN))
		}
	}
	lower, _ := g.longest(Necessary)
	for _, f := range lower {
		rep.LowerBoundSeconds = max(rep.LowerBoundSeconds, f)
	}
	return rep
}

// module is a type's package and module ("aws:rds", "kubernetes:apps/v1" → "kubernetes").
func module(typ string) string {
	pkg, rest, _ := strings.Cut(typ, ":")
	if pkg != "aws" {
		return pkg
	}
	mod, _, _ := strings.Cut(rest, "/")
	return "aws:" + mod
}

// foundations are what a resource may need from anywhere: its network, key,
// role, log group, subnet groups and secrets.
var foundations = []string{"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/securityGroup:SecurityGroup",
	"aws:kms/key:Key", "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:cloudwatch/logGroup:LogGroup",
	"aws:rds/subnetGroup:SubnetGroup", "aws:elasticache/subnetGroup:SubnetGroup", "aws:secretsmanager/secret:Secret"}

// dataStores hold endpoints, names and ARNs that configuration and policies carry.
var dataStores = []string{"aws:rds", "aws:elasticache", "aws:msk", "aws:mq", "aws:s3", "aws:secretsmanager"}

// Necessary tells whether AWS or Kubernetes requires `from` to wait for `to`
// (the checked-in table of README "Speed"): its provider; a resource of the
// same AWS service (structural references: a subnet in its VPC, an instance
// in its cluster, a replica in its global cluster); a foundation (network,
// key, role, log group); for a node group its cluster, launch template and
// pre-node add-ons; for anything in Kubernetes the cluster, its nodes, add-ons,
// roles and other Kubernetes objects (namespaces, CRDs and webhooks installed by
// charts); configuration carrying a data store's endpoint or an IAM policy
// naming its ARN; an alarm and what it watches or notifies; a DNS record and
// its target load balancer or health check. Anything else — one data store
// waiting for another, say — is the program's choice, not a requirement.
func Necessary(from, to *mockstack.Resource) bool {
	f, t := from.Type, to.Type
	fm, tm := module(f), module(t)
	switch {
	case strings.HasPrefix(t, "pulumi:providers:"):
		return true
	case strings.HasPrefix(f, "pulumi:providers:kubernetes") && t == "eks:index:Cluster":
		return true // the provider's kubeconfig
	case fm == tm && strings.HasPrefix(fm, "aws:"):
		return true
	case contains(foundations, t):
		return true
	case f == "aws:eks/nodeGroup:NodeGroup" && (t == "eks:index:Cluster" || tm == "aws:ec2" || tm == "aws:eks"):
		return true
	case strings.HasPrefix(fm, "aws:eks") && t == "eks:index:Cluster":
		return true
	case fm == "kubernetes" && (t == "eks:index:Cluster" || tm == "aws:eks" || tm == "aws:iam" || tm == "kubernetes"):
		return true
	case (fm == "kubernetes" || fm == "aws:iam" || fm == "aws:secretsmanager") && contains(dataStores, tm):
		return true // endpoints in ConfigMaps and secrets, ARNs in policies
	case fm == "aws:iam":
		return true // a policy names the ARNs it grants
	case f == "aws:cloudwatch/metricAlarm:MetricAlarm":
		return true // its dimensions name what it watches; its actions, the topic
	case fm == "aws:route53" && (t == "kubernetes:core/v1:Service" || tm == "aws:route53"):
		return true // an alias to the ingress NLB
	case fm == "aws:appautoscaling" && tm == "aws:rds":
		return true
	case fm == "aws:backup" && (tm == "aws:backup" || tm == "aws:kms" || tm == "aws:iam"):
		return true
	}
	return false
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// DOT writes the plan's dependency graph for Graphviz: components as
// clusters, resources as nodes labelled with type and modeled seconds, the
// edges the engine waits on (providers left out, they only add noise), the
// bounding chain in red and needless edges dashed.
func DOT(resources []*mockstack.Resource, rep Report) string {
	g := build(resources)
	onChain := map[string]bool{}
	for _, u := range rep.Chain {
		onChain[u] = true
	}
	id := map[string]string{}
	for i, r := range resources {
		id[r.URN] = fmt.Sprintf("n%d", i)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "digraph plan {\n  rankdir=LR;\n  node [shape=box, fontsize=9];\n  label=\"modeled %ds, lower bound %ds, serial %ds\";\n",
		rep.ModeledSeconds, rep.LowerBoundSeconds, rep.SerialSeconds)
	children := map[string][]*mockstack.Resource{}
	for _, r := range resources {
		parent := r.Parent
		if g.nodes[parent] == nil {
			parent = "" // the stack itself is not recorded
		}
		children[parent] = append(children[parent], r)
	}
	var cluster func(parent string, depth int)
	cluster = func(parent string, depth int) {
		for _, r := range children[parent] {
			if _, modeled := g.waits[r.URN]; modeled {
				if !strings.HasPrefix(r.Type, "pulumi:providers:") {
					color := ""
					if onChain[r.URN] {
						color = ", color=red, penwidth=2"
					}
					fmt.Fprintf(&b, "%s%s [label=\"%s\\n%s (%ds)\"%s];\n", strings.Repeat("  ", depth+1), id[r.URN],
						r.Name, r.Type, durationOf(r), color)
				}
				continue
			}
			fmt.Fprintf(&b, "%ssubgraph cluster_%s {\n%s  label=\"%s %s\";\n", strings.Repeat("  ", depth+1), id[r.URN],
				strings.Repeat("  ", depth+1), r.Type, r.Name)
			cluster(r.URN, depth+1)
			fmt.Fprintf(&b, "%s}\n", strings.Repeat("  ", depth+1))
		}
	}
	cluster("", 0)
	urns := make([]string, 0, len(g.waits))
	for u := range g.waits {
		urns = append(urns, u)
	}
	sort.Strings(urns)
	for _, u := range urns {
		for _, w := range g.waits[u] {
			from, to := g.nodes[u], g.nodes[w]
			if to == nil || strings.HasPrefix(to.Type, "pulumi:providers:") || strings.HasPrefix(from.Type, "pulumi:providers:") {
				continue
			}
			style := ""
			switch {
			case onChain[u] && onChain[w]:
				style = " [color=red, penwidth=2]"
			case !Necessary(from, to):
				style = " [style=dashed]"
			}
			fmt.Fprintf(&b, "  %s -> %s%s;\n", id[w], id[u], style)
		}
	}
	b.WriteString("}\n")
	return b.String()
}
