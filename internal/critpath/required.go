package critpath

import (
	"fmt"
	"sort"
	"strings"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/eduai/infra/internal/refs"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Edge is a requirement of AWS or Kubernetes: From cannot be created before To exists.
type Edge struct {
	From, To string
	// Why says what requires it: the input that addresses To, or the structural rule.
	Why string
}

func (e Edge) String() string { return fmt.Sprintf("%s -> %s (%s)", e.From, e.To, e.Why) }

// podRunners are the Kubernetes types whose create waits for pods: they
// need nodes, and the credentials their pods are admitted with.
var podRunners = map[string]bool{
	"kubernetes:apps/v1:Deployment": true, "kubernetes:apps/v1:StatefulSet": true,
	"kubernetes:apps/v1:DaemonSet": true, "kubernetes:batch/v1:Job": true,
	"kubernetes:argoproj.io/v1alpha1:Rollout": true, refs.HelmRelease: true,
}

// podAddons are the EKS managed add-ons that run pods: EKS reports them
// ACTIVE only once their pods run, so they need nodes (EKS user guide,
// "Amazon EKS add-ons": CoreDNS and the EBS CSI controller are Deployments).
var podAddons = map[string]bool{"coredns": true, "aws-ebs-csi-driver": true}

// plan indexes a recorded plan for the reference analysis.
type plan struct {
	byURN    map[string]*mockstack.Resource
	leaves   []*mockstack.Resource // what the engine creates (custom resources, remote components, providers)
	region   map[string]string     // AWS region of a resource
	cluster  map[string]string     // the Kubernetes provider of a resource (its cluster)
	eksOf    map[string]string     // the EKS cluster (URN) behind a Kubernetes provider
	eksNamed map[string]string     // region/name -> EKS cluster URN
}

func index(resources []*mockstack.Resource) *plan {
	p := &plan{byURN: map[string]*mockstack.Resource{}, region: map[string]string{}, cluster: map[string]string{},
		eksOf: map[string]string{}, eksNamed: map[string]string{}}
	for _, r := range resources {
		p.byURN[r.URN] = r
		if r.Custom || isLeaf(r.Type) {
			p.leaves = append(p.leaves, r)
		}
	}
	sort.Slice(p.leaves, func(i, j int) bool { return p.leaves[i].URN < p.leaves[j].URN })
	for _, r := range p.leaves {
		if prov := p.byURN[r.Provider]; prov != nil {
			switch {
			case strings.HasPrefix(prov.Type, "pulumi:providers:aws"):
				p.region[r.URN] = prov.String("region")
			case strings.HasPrefix(prov.Type, "pulumi:providers:kubernetes"):
				p.cluster[r.URN] = prov.URN
			}
		}
	}
	// A remote component (the pulumi-eks cluster) lives in the region of the network it is given.
	for _, r := range p.leaves {
		if _, ok := p.region[r.URN]; ok || r.IsProvider() {
			continue
		}
		for _, d := range r.Dependencies {
			if reg := p.region[d]; reg != "" {
				p.region[r.URN] = reg
				break
			}
		}
	}
	for _, r := range p.leaves {
		if r.Type == "eks:index:Cluster" {
			p.eksNamed[p.region[r.URN]+"/"+r.String("name")] = r.URN
		}
		if strings.HasPrefix(r.Type, "pulumi:providers:kubernetes") {
			for _, d := range r.Dependencies {
				if dep := p.byURN[d]; dep != nil && dep.Type == "eks:index:Cluster" {
					p.eksOf[r.URN] = d
				}
			}
		}
	}
	return p
}

// sameScope: a Kubernetes referent in the same cluster; an AWS referent in
// the same region, except what IAM and Route 53 keep global and what an ARN
// or a load balancer's host name names exactly.
func (p *plan) sameScope(from, to *mockstack.Resource, rule *refs.Rule) bool {
	switch {
	case strings.HasPrefix(to.Type, "kubernetes:") && strings.HasPrefix(from.Type, "kubernetes:"):
		return p.cluster[from.URN] == p.cluster[to.URN]
	case rule.By == "arn", strings.HasPrefix(rule.By, "status."), refs.Global(to.Type):
		return true
	}
	return p.region[from.URN] == p.region[to.URN]
}

// referents returns the plan's resources a reference addresses.
func (p *plan) referents(from *mockstack.Resource, ref refs.Ref) []*mockstack.Resource {
	var out []*mockstack.Resource
	for _, to := range p.leaves {
		if to.URN == from.URN || to.IsProvider() || !ref.Addresses(to.Type, to.ID, to.State) || !p.sameScope(from, to, ref.Rule) {
			continue
		}
		out = append(out, to)
	}
	return out
}

// requirement is one thing a resource needs: any one of its candidates.
type requirement struct {
	candidates []string
	why        string
}

// requirements lists, for every resource the engine creates, what AWS and
// Kubernetes need to exist before it: each reference's referent (any one of
// the plan's resources it may address), its provider and, for a provider,
// what its configuration comes from; structurally, pods need the cluster's
// nodes and the Pod Identity association of their service account (EKS
// admits a pod with the credentials of the associations that exist at its
// creation: EKS user guide, "EKS Pod Identity"), a managed add-on that runs
// pods needs nodes, and a LoadBalancer Service needs the AWS load balancer
// controller, whose webhook admits it and which makes its NLB.
func (p *plan) requirements() map[string][]requirement {
	nodes := map[string][]string{}      // EKS cluster URN -> node group URNs
	assoc := map[string][]string{}      // cluster URN + "/" + namespace -> associations
	lbc := map[string][]string{}        // Kubernetes provider -> load balancer controller releases
	cni := map[string][]string{}        // EKS cluster URN -> the vpc-cni add-on
	charts := map[string][]string{}     // Kubernetes provider + "/" + chart -> releases
	logGroups := map[string]string{}    // region + "/" + log group name -> URN
	migrations := map[string][]string{} // provider + "/" + namespace + "/" + app -> migration Jobs
	for _, r := range p.leaves {
		switch r.Type {
		case "aws:eks/addon:Addon":
			if c := p.eksNamed[p.region[r.URN]+"/"+r.String("clusterName")]; c != "" && r.String("addonName") == "vpc-cni" {
				cni[c] = append(cni[c], r.URN)
			}
		case "aws:cloudwatch/logGroup:LogGroup":
			logGroups[p.region[r.URN]+"/"+r.String("name")] = r.URN
		case "kubernetes:batch/v1:Job":
			if label(r, "app.kubernetes.io/component") == "job" && strings.Contains(r.Name, "-migrate") {
				key := p.cluster[r.URN] + "/" + refs.NamespaceOf(r.Inputs) + "/" + appLabel(r)
				migrations[key] = append(migrations[key], r.URN)
			}
		case "aws:eks/nodeGroup:NodeGroup":
			if c := p.eksNamed[p.region[r.URN]+"/"+r.String("clusterName")]; c != "" {
				nodes[c] = append(nodes[c], r.URN)
			}
		case "aws:eks/podIdentityAssociation:PodIdentityAssociation":
			if c := p.eksNamed[p.region[r.URN]+"/"+r.String("clusterName")]; c != "" {
				assoc[c+"/"+r.String("namespace")] = append(assoc[c+"/"+r.String("namespace")], r.URN)
			}
		case refs.HelmRelease:
			if r.String("chart") == "aws-load-balancer-controller" {
				lbc[p.cluster[r.URN]] = append(lbc[p.cluster[r.URN]], r.URN)
			}
			charts[p.cluster[r.URN]+"/"+r.String("chart")] = append(charts[p.cluster[r.URN]+"/"+r.String("chart")], r.URN)
		}
	}
	out := map[string][]requirement{}
	need := func(from string, why string, candidates ...string) {
		if len(candidates) > 0 {
			out[from] = append(out[from], requirement{candidates: candidates, why: why})
		}
	}
	for _, r := range p.leaves {
		if r.Provider != "" && p.byURN[r.Provider] != nil {
			need(r.URN, "its provider", r.Provider)
		}
		if r.IsProvider() {
			for _, d := range r.Dependencies {
				if p.byURN[d] != nil {
					need(r.URN, "its configuration comes from it", d)
				}
			}
			continue
		}
		for _, ref := range refs.Of(r.Type, r.Inputs) {
			var urns []string
			for _, to := range p.referents(r, ref) {
				urns = append(urns, to.URN)
			}
			why := fmt.Sprintf("%s = %q; without it: %s", ref.Path, ref.Value, strings.ReplaceAll(ref.Rule.Answer, "%s", ref.Value))
			if ref.Rule == &refs.CRDRule {
				why = fmt.Sprintf("its CRD comes with the %s chart; without it: no matches for kind", ref.Value)
			}
			need(r.URN, why, urns...)
		}
		for _, d := range p.dataFlow(r) {
			need(r.URN, d.why, d.candidates...)
		}
		eks := p.eksOf[p.cluster[r.URN]]
		if podRunners[r.Type] && r.Type != refs.HelmRelease {
			key := p.cluster[r.URN] + "/" + refs.NamespaceOf(r.Inputs) + "/" + appLabel(r)
			for _, j := range migrations[key] {
				if j != r.URN {
					need(r.URN, "a version runs only after its schema migration (MISSION F8, expand/migrate/contract)", j)
				}
			}
		}
		if r.Type == refs.HelmRelease {
			for _, before := range chartOrder[r.String("chart")] {
				need(r.URN, "the "+before+" chart comes first (Istio, \"Install with Helm\")",
					charts[p.cluster[r.URN]+"/"+before]...)
			}
			if makesLoadBalancer(r) {
				need(r.URN, "the chart's LoadBalancer Service needs the AWS load balancer controller", lbc[p.cluster[r.URN]]...)
			}
		}
		switch {
		case r.Type == "eks:index:Cluster" || r.Type == eksClusterType:
			// EKS creates /aws/eks/<name>/cluster itself when control-plane
			// logging starts, without expiry; made afterwards, the log group's
			// create fails with ResourceAlreadyExistsException (EKS user guide,
			// "Send control plane logs to CloudWatch Logs").
			if lg := logGroups[p.region[r.URN]+"//aws/eks/"+r.String("name")+"/cluster"]; lg != "" {
				need(r.URN, "EKS would create its control-plane log group itself", lg)
			}
		case r.Type == "aws:eks/nodeGroup:NodeGroup":
			// Without a CNI nodes never become Ready and a managed node group
			// fails with NodeCreationFailure (EKS user guide, "Amazon VPC CNI").
			c := p.eksNamed[p.region[r.URN]+"/"+r.String("clusterName")]
			need(r.URN, "nodes become Ready only with the VPC CNI", cni[c]...)
		case podRunners[r.Type]:
			for _, n := range nodes[eks] {
				need(r.URN, "its pods need nodes", n)
			}
			ns := r.String("namespace")
			if ns == "" {
				ns = refs.NamespaceOf(r.Inputs)
			}
			for _, a := range assoc[eks+"/"+ns] {
				if sa := p.byURN[a].String("serviceAccount"); mentions(r, sa) {
					need(r.URN, fmt.Sprintf("its pods run as %s/%s, whose Pod Identity association must exist when they start", ns, sa), a)
				}
			}
		case r.Type == "aws:eks/addon:Addon" && podAddons[r.String("addonName")]:
			c := p.eksNamed[p.region[r.URN]+"/"+r.String("clusterName")]
			for _, n := range nodes[c] {
				need(r.URN, "the add-on's pods need nodes", n)
			}
		case r.Type == "aws:rds/cluster:Cluster" && r.String("globalClusterIdentifier") != "":
			need(r.URN, "a global secondary replicates from the primary's writer instance", p.primaryInstances(r)...)
		case r.Type == "kubernetes:core/v1:Service" && serviceType(r) == "LoadBalancer":
			need(r.URN, "the AWS load balancer controller admits the Service and makes its NLB", lbc[p.cluster[r.URN]]...)
		}
	}
	return out
}

const eksClusterType = "aws:eks/cluster:Cluster"

// chartOrder: charts that need others released first in the same cluster.
// Istio's Helm install is base (the CRDs), then istiod (it watches them),
// then the gateway (its proxies take their configuration from istiod)
// (istio.io, "Install with Helm").
var chartOrder = map[string][]string{"istiod": {"base"}, "gateway": {"istiod"}}

// makesLoadBalancer tells whether a release's chart creates a LoadBalancer
// Service: ingress-nginx's controller Service (chart default
// controller.service.type LoadBalancer) and Istio's gateway (service.type
// LoadBalancer), unless the values say otherwise.
func makesLoadBalancer(r *mockstack.Resource) bool {
	path := map[string]string{"ingress-nginx": "values.controller.service.type", "gateway": "values.service.type"}[r.String("chart")]
	if path == "" {
		return false
	}
	v := refs.Values(r.InputsValue(), path)
	return len(v) == 0 || v[0].Value == "LoadBalancer"
}

func appLabel(r *mockstack.Resource) string { return label(r, "app") }

// label is a Kubernetes object's label (keys hold dots, so no path).
func label(r *mockstack.Resource, key string) string {
	md := r.Inputs["metadata"]
	if !md.IsObject() {
		return ""
	}
	labels := md.ObjectValue()["labels"]
	if !labels.IsObject() {
		return ""
	}
	if v := labels.ObjectValue()[resource.PropertyKey(key)]; v.IsString() {
		return v.StringValue()
	}
	return ""
}

// dataFlow: an input that carries a value its source computes (an id, an
// ARN, an endpoint: known only once the source exists) needs the source.
// Only inputs the program fed from the source's outputs are examined, so
// this adds to the bound what the data forces, never a missing edge.
func (p *plan) dataFlow(r *mockstack.Resource) []requirement {
	var out []requirement
	for key, urns := range r.PropertyDependencies {
		in, ok := r.Inputs[resource.PropertyKey(key)]
		if !ok {
			continue
		}
		text := leafText(in)
		for _, u := range urns {
			for _, src := range p.expand(u) {
				if src == r.URN {
					continue
				}
				if v := computed(p.byURN[src]); v != "" && containsValue(text, v, computedValues(p.byURN[src])) {
					out = append(out, requirement{candidates: []string{src},
						why: fmt.Sprintf("%s carries a value %s computes", key, p.byURN[src].Name)})
				}
			}
		}
	}
	return out
}

// expand turns a component into the leaves under it.
func (p *plan) expand(u string) []string {
	r := p.byURN[u]
	if r == nil {
		return nil
	}
	if r.Custom || isLeaf(r.Type) {
		return []string{u}
	}
	var out []string
	for _, c := range p.leaves {
		for anc := c.Parent; anc != ""; anc = p.byURN[anc].Parent {
			if anc == u {
				out = append(out, c.URN)
				break
			}
			if p.byURN[anc] == nil {
				break
			}
		}
	}
	return out
}

// computedValues are the strings a resource's state has that its inputs do
// not (and its id): what exists only once it is created. Short values are
// left out: they could match by chance.
func computedValues(r *mockstack.Resource) []string {
	if r == nil {
		return nil
	}
	var out []string
	if len(r.ID) >= 12 {
		out = append(out, r.ID)
	}
	inputs := map[string]bool{}
	for _, s := range leafText(r.InputsValue()) {
		inputs[s] = true
	}
	for _, s := range leafText(resource.NewObjectProperty(r.State)) {
		if len(s) >= 12 && !inputs[s] {
			out = append(out, s)
		}
	}
	return out
}

func computed(r *mockstack.Resource) string {
	if v := computedValues(r); len(v) > 0 {
		return v[0]
	}
	return ""
}

// containsValue tells whether any of the texts holds any of the values.
func containsValue(texts []string, _ string, values []string) bool {
	for _, t := range texts {
		for _, v := range values {
			if strings.Contains(t, v) {
				return true
			}
		}
	}
	return false
}

// leafText returns the string leaves of a value.
func leafText(v resource.PropertyValue) []string {
	switch {
	case v.IsSecret():
		return leafText(v.SecretValue().Element)
	case v.IsOutput():
		return leafText(v.OutputValue().Element)
	case v.IsString():
		return []string{v.StringValue()}
	case v.IsArray():
		var out []string
		for _, e := range v.ArrayValue() {
			out = append(out, leafText(e)...)
		}
		return out
	case v.IsObject():
		var out []string
		for _, e := range v.ObjectValue() {
			out = append(out, leafText(e)...)
		}
		return out
	}
	return nil
}

// primaryInstances are the instances of the primary cluster of the global
// cluster a secondary joins (terraform-provider-aws, aws_rds_global_cluster
// documentation: the secondary depends_on the primary's instance).
func (p *plan) primaryInstances(secondary *mockstack.Resource) []string {
	var out []string
	for _, g := range p.leaves {
		if g.Type != "aws:rds/globalCluster:GlobalCluster" || g.ID != secondary.String("globalClusterIdentifier") {
			continue
		}
		for _, c := range p.leaves {
			if c.Type != "aws:rds/cluster:Cluster" || c.State["arn"].IsNull() || !c.State["arn"].IsString() ||
				c.State["arn"].StringValue() != g.String("sourceDbClusterIdentifier") {
				continue
			}
			for _, i := range p.leaves {
				if i.Type == "aws:rds/clusterInstance:ClusterInstance" && i.String("clusterIdentifier") == c.ID {
					out = append(out, i.URN)
				}
			}
		}
	}
	return out
}

func serviceType(r *mockstack.Resource) string {
	if v := refs.Values(r.InputsValue(), "spec.type"); len(v) == 1 {
		return v[0].Value
	}
	return ""
}

// mentions tells whether a pod-running resource runs as the service account:
// its pod template names it, or (a Helm release) its values do.
func mentions(r *mockstack.Resource, sa string) bool {
	if sa == "" {
		return false
	}
	for _, path := range []string{"spec.template.spec.serviceAccountName"} {
		for _, v := range refs.Values(r.InputsValue(), path) {
			if v.Value == sa {
				return true
			}
		}
	}
	if r.Type != refs.HelmRelease {
		return false
	}
	found := false
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			found = found || x == sa
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	if vals, ok := r.Inputs["values"]; ok {
		walk(vals.Mappable())
	}
	return found
}

// Missing are the requirements the program does not meet: a reference or a
// structural need whose candidates the resource does not wait for, through
// any chain of the engine's waits. A fresh `pulumi up` creates such a
// resource too early, and AWS or Kubernetes refuses it.
func (g graph) missing(reqs map[string][]requirement) []string {
	var out []string
	for from, rs := range reqs {
		reach := g.reachable(from)
		for _, r := range rs {
			ok := false
			for _, c := range r.candidates {
				ok = ok || reach[c]
			}
			if !ok {
				out = append(out, fmt.Sprintf("%s needs %s (%s), but nothing makes it wait for it: "+
					"a fresh `pulumi up` creates it too early", from, strings.Join(r.candidates, " or "), r.why))
			}
		}
	}
	sort.Strings(out)
	return out
}

// reachable is every node u waits for, directly or through others.
func (g graph) reachable(u string) map[string]bool {
	seen := map[string]bool{}
	stack := []string{u}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, w := range g.waits[n] {
			if !seen[w] {
				seen[w] = true
				stack = append(stack, w)
			}
		}
	}
	return seen
}

// requiredGraph is the graph of the required edges only: each requirement
// is met by the candidate the program waits for (or the first, when it
// waits for none), the way a program that meets it would.
func (g graph) requiredGraph(reqs map[string][]requirement) (graph, []Edge) {
	rg := graph{nodes: g.nodes, waits: map[string][]string{}}
	var edges []Edge
	for u := range g.waits {
		reach := g.reachable(u)
		var waits []string
		for _, r := range reqs[u] {
			pick := r.candidates[0]
			for _, c := range r.candidates {
				if reach[c] {
					pick = c
					break
				}
			}
			waits = append(waits, pick)
			edges = append(edges, Edge{From: u, To: pick, Why: r.why})
		}
		sort.Strings(waits)
		rg.waits[u] = compact(waits, u)
	}
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].From != edges[j].From {
			return edges[i].From < edges[j].From
		}
		return edges[i].To < edges[j].To
	})
	return rg, edges
}
