// Package critpath models the wall time of a fresh `pulumi up` from a
// recorded plan: the engine creates a resource once everything it waits on
// exists (its dependencies, its provider, its parent), so the update takes
// as long as the longest weighted chain. Durations are typical create times
// per resource type (Durations, each with its source). The lower bound is
// the same longest chain over the edges AWS and Kubernetes require, derived
// from the plan itself (required.go: every reference an input makes to
// another resource, plus the structural needs of pods and add-ons), not
// from the program's own edges: a required edge the program lacks is
// reported as missing (a fresh `pulumi up` would fail there), and where the
// program waits for more than it must, the report names the needless edge.
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
	// Missing are the required edges the program lacks: a resource that
	// addresses another (or needs it structurally) without waiting for it.
	Missing []string `json:"missing,omitempty"`
	// RequiredEdges counts the edges the lower bound is computed over.
	RequiredEdges int `json:"requiredEdges"`
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

// longest returns each node's finish time and predecessor on its longest
// chain; among predecessors that finish together it takes one prefer
// likes (nil: the first), so a chain names a required wait where one ties.
func (g graph) longest(prefer func(u, w string) bool) (map[string]int, map[string]string) {
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
			if g.nodes[w] == nil {
				continue
			}
			f := visit(w, stack)
			if f > start || (f == start && f > 0 && prefer != nil && prefer(u, w) && !prefer(u, prev[u])) {
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
	reqs := index(resources).requirements()
	required, edges := g.requiredGraph(reqs)
	var rep Report
	rep.RequiredEdges = len(edges)
	rep.Missing = g.missing(reqs)
	for u := range g.waits {
		rep.SerialSeconds += durationOf(g.nodes[u])
	}
	requiredWait := func(u, w string) bool { return w != "" && required.reachable(u)[w] }
	finish, prev := g.longest(requiredWait)
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
		from, to := rep.Chain[i], rep.Chain[i-1]
		if !required.reachable(from)[to] {
			rep.Needless = append(rep.Needless, fmt.Sprintf("%s -> %s", from, to))
		}
	}
	lower, _ := required.longest(nil)
	for _, f := range lower {
		rep.LowerBoundSeconds = max(rep.LowerBoundSeconds, f)
	}
	return rep
}

// Required returns the plan's required edges (what the lower bound is computed over).
func Required(resources []*mockstack.Resource) []Edge {
	g := build(resources)
	_, edges := g.requiredGraph(index(resources).requirements())
	return edges
}

// DOT writes the plan's dependency graph for Graphviz: components as
// clusters, resources as nodes labelled with type and modeled seconds, the
// edges the engine waits on (providers left out, they only add noise), the
// bounding chain in red and needless edges dashed.
func DOT(resources []*mockstack.Resource, rep Report) string {
	g := build(resources)
	required, _ := g.requiredGraph(index(resources).requirements())
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
			case !required.reachable(u)[w]:
				style = " [style=dashed]"
			}
			fmt.Fprintf(&b, "  %s -> %s%s;\n", id[w], id[u], style)
		}
	}
	b.WriteString("}\n")
	return b.String()
}
