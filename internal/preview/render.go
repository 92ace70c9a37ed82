package preview

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/eduai/infra/internal/critpath"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/eduai/infra/internal/stackfile"
	"github.com/eduai/infra/policies/rules"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Secret is what a secret value is shown as, in inputs and outputs alike.
const Secret = stackfile.SecretValue

// Document is the --json output; its shape is the contract of issue #2.
type Document struct {
	Stack string `json:"stack"`
	// CriticalPath is present with --critical-path.
	CriticalPath *critpath.Report `json:"criticalPath,omitempty"`
	Resources    []JSONResource   `json:"resources"`
	Outputs      map[string]any   `json:"outputs"`
	Policy       JSONPolicy       `json:"policy"`
}

// JSONResource is one recorded resource.
type JSONResource struct {
	URN          string         `json:"urn"`
	Type         string         `json:"type"`
	Name         string         `json:"name"`
	Parent       string         `json:"parent"`
	Provider     string         `json:"provider"`
	Protect      bool           `json:"protect"`
	Dependencies []string       `json:"dependencies"`
	Inputs       map[string]any `json:"inputs"`
}

// JSONPolicy is the verdict.
type JSONPolicy struct {
	Pack       string            `json:"pack"`
	Config     string            `json:"config"`
	Violations []rules.Violation `json:"violations"`
	Mandatory  int               `json:"mandatory"`
	Advisory   int               `json:"advisory"`
	// Rules is the compliance report, one line per rule of the pack.
	Rules []rules.RuleReport `json:"rules"`
	// Exceptions are the resources the config lets off a rule, with the reasons.
	Exceptions []rules.Exception `json:"exceptions"`
}

// JSON builds the --json document.
func (r *Result) JSON() Document {
	doc := Document{Stack: r.Stack, Outputs: map[string]any{}, Resources: []JSONResource{}, CriticalPath: r.CriticalPath}
	for _, res := range r.Resources {
		deps := res.Dependencies
		if deps == nil {
			deps = []string{}
		}
		doc.Resources = append(doc.Resources, JSONResource{
			URN: res.URN, Type: res.Type, Name: res.Name, Parent: res.Parent, Provider: res.Provider,
			Protect: res.Protect, Dependencies: deps, Inputs: plainMap(res.Inputs),
		})
	}
	for k, o := range r.Outputs {
		doc.Outputs[k] = plainOutput(o)
	}
	vs := r.Violations
	if vs == nil {
		vs = []rules.Violation{}
	}
	doc.Policy = JSONPolicy{Pack: rules.PackName + "@" + rules.PackVersion.String(), Config: r.PolicyConfig,
		Violations: vs, Mandatory: r.Mandatory(), Advisory: r.Advisory(), Rules: r.Rules, Exceptions: r.Exceptions}
	if doc.Policy.Rules == nil {
		doc.Policy.Rules = []rules.RuleReport{}
	}
	if doc.Policy.Exceptions == nil {
		doc.Policy.Exceptions = []rules.Exception{}
	}
	return doc
}

// WriteJSON writes the document, indented.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r.JSON())
}

func plainOutput(o Output) any {
	switch {
	case o.Secret:
		return Secret
	case !o.Known:
		return "[unknown]"
	}
	return o.Value
}

// plainMap renders properties as plain JSON values with every secret replaced.
func plainMap(m resource.PropertyMap) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if strings.HasPrefix(string(k), "__") {
			continue
		}
		out[string(k)] = plain(v)
	}
	return out
}

func plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return Secret
	case v.IsComputed():
		return "[unknown]"
	case v.IsOutput():
		o := v.OutputValue()
		if o.Secret {
			return Secret
		}
		if !o.Known {
			return "[unknown]"
		}
		return plain(o.Element)
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	case v.IsObject():
		return plainMap(v.ObjectValue())
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]any, len(arr))
		for i, item := range arr {
			out[i] = plain(item)
		}
		return out
	case v.IsNull():
		return nil
	case v.IsString():
		return v.StringValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsBool():
		return v.BoolValue()
	}
	return fmt.Sprint(v.V)
}

// WriteText writes the plan as a tree grouped by component, a count per
// type, the outputs and the policy verdict.
func (r *Result) WriteText(w io.Writer) {
	fmt.Fprintf(w, "Previewing stack %q of project %q offline: the real program under the Pulumi SDK's mocks;\n",
		r.Stack, r.Project)
	fmt.Fprintf(w, "nothing is sent to AWS, ids and ARNs are fake.\n\n")

	children := map[string][]*mockstack.Resource{}
	byURN := map[string]bool{}
	for _, res := range r.Resources {
		byURN[res.URN] = true
	}
	var roots []*mockstack.Resource
	for _, res := range r.Resources {
		if res.Parent == "" || !byURN[res.Parent] {
			roots = append(roots, res)
		} else {
			children[res.Parent] = append(children[res.Parent], res)
		}
	}
	for _, list := range children {
		sortByTypeName(list)
	}
	sortByTypeName(roots)
	fmt.Fprintf(w, "     %-58s %s\n", "Type", "Name")
	fmt.Fprintf(w, " +   %-58s %s\n", "pulumi:pulumi:Stack", r.Project+"-"+r.Stack)
	var walk func(list []*mockstack.Resource, indent string)
	walk = func(list []*mockstack.Resource, indent string) {
		for i, res := range list {
			branch, next := "├─ ", "│  "
			if i == len(list)-1 {
				branch, next = "└─ ", "   "
			}
			label := indent + branch + res.Type
			name := res.Name
			if res.Protect {
				name += "  [protect]"
			}
			fmt.Fprintf(w, " +   %-58s %s\n", label, name)
			walk(children[res.URN], indent+next)
		}
	}
	walk(roots, "")

	fmt.Fprintf(w, "\nResources: %d to create\n", len(r.Resources))
	for _, tc := range r.TypeCounts() {
		fmt.Fprintf(w, "  %4d  %s\n", tc.Count, tc.Type)
	}

	r.writeRegions(w)
	r.writeCriticalPath(w)
	r.writeAlerts(w)
	r.writeRollouts(w)

	if len(r.Outputs) > 0 {
		fmt.Fprintf(w, "\nOutputs:\n")
		names := make([]string, 0, len(r.Outputs))
		for k := range r.Outputs {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			b, _ := json.Marshal(plainOutput(r.Outputs[k]))
			fmt.Fprintf(w, "    %-22s %s\n", k+":", b)
		}
	}

	fmt.Fprintf(w, "\nPolicies: %s@v%s (enforcement from %s)\n", rules.PackName, rules.PackVersion, r.PolicyConfig)
	for _, v := range r.Violations {
		fmt.Fprintf(w, "  [%s] %s  %s\n", v.Enforcement, v.Policy, v.URN)
		for _, line := range strings.Split(v.Message, "\n") {
			fmt.Fprintf(w, "      %s\n", line)
		}
	}
	r.writeCompliance(w)
	verdict := "passed: no mandatory violation"
	if r.Mandatory() > 0 {
		verdict = "BLOCKED: a deploy would be stopped by the mandatory violation(s) above"
	}
	fmt.Fprintf(w, "\nPolicy verdict: %s (%d mandatory, %d advisory).\n", verdict, r.Mandatory(), r.Advisory())
}

// regionKinds are the resources the regions section names (the rest it counts).
var regionKinds = []struct{ typ, label string }{
	{"aws:ec2/vpc:Vpc", "VPC"},
	{"eks:index:Cluster", "EKS cluster"},
	{"aws:eks/nodeGroup:NodeGroup", "EKS node group"},
	{"aws:rds/globalCluster:GlobalCluster", "Aurora global cluster"},
	{"aws:rds/cluster:Cluster", "Aurora cluster"},
	{"aws:elasticache/globalReplicationGroup:GlobalReplicationGroup", "Global Datastore"},
	{"aws:elasticache/replicationGroup:ReplicationGroup", "Redis group"},
	{"aws:msk/cluster:Cluster", "MSK cluster"},
	{"aws:mq/broker:Broker", "MQ broker"},
	{"aws:s3/bucketV2:BucketV2", "bucket"},
	{"aws:s3/bucketReplicationConfig:BucketReplicationConfig", "bucket replication"},
	{"aws:backup/vault:Vault", "backup vault"},
	{"aws:backup/plan:Plan", "backup plan"},
	{"aws:route53/zone:Zone", "Route 53 zone"},
	{"aws:route53/healthCheck:HealthCheck", "Route 53 health check"},
}

// writeRegions says, per AWS provider (region), how many resources it
// creates and which stateful and regional ones, then the failover records.
func (r *Result) writeRegions(w io.Writer) {
	var providers []*mockstack.Resource
	for _, res := range r.Resources {
		if res.Type == "pulumi:providers:aws" {
			providers = append(providers, res)
		}
	}
	if len(providers) < 2 {
		return
	}
	// pulumi-eks' Cluster is a remote component with its own provider; it
	// builds in the region of the AWS provider its siblings use.
	siblingProvider := map[string]string{}
	for _, res := range r.Resources {
		if strings.HasPrefix(res.Type, "aws:") && res.Parent != "" {
			siblingProvider[res.Parent] = res.Provider
		}
	}
	fmt.Fprintf(w, "\nRegions (AWS providers):\n")
	for _, p := range providers {
		region := ""
		if v := p.Inputs["region"]; v.IsString() {
			region = v.StringValue()
		}
		var mine []*mockstack.Resource
		for _, res := range r.Resources {
			if res.Provider == p.URN || (res.Type == "eks:index:Cluster" && siblingProvider[res.Parent] == p.URN) {
				mine = append(mine, res)
			}
		}
		fmt.Fprintf(w, "  %s (%s): %d resources\n", p.Name, region, len(mine))
		for _, k := range regionKinds {
			var names []string
			for _, res := range mine {
				if res.Type == k.typ {
					names = append(names, res.Name)
				}
			}
			if len(names) > 0 {
				sort.Strings(names)
				fmt.Fprintf(w, "      %-24s %s\n", k.label+":", strings.Join(names, ", "))
			}
		}
	}
	var records []string
	for _, res := range r.Resources {
		if res.Type != "aws:route53/record:Record" {
			continue
		}
		in := res.Inputs.Mappable()
		typ, _ := dig(in, "failoverRoutingPolicies", "0", "type").(string)
		if typ == "" {
			continue
		}
		name, _ := in["name"].(string)
		// The target's region: the first label of its health check's name
		// ("us-west-2.api.eduai.com"); the set identifier is the role.
		region := "?"
		for _, c := range r.Resources {
			if slices.Contains(res.PropertyDependencies["healthCheckId"], c.URN) {
				if fqdn, _ := c.Inputs.Mappable()["fqdn"].(string); fqdn != "" {
					region, _, _ = strings.Cut(fqdn, ".")
				}
			}
		}
		records = append(records, fmt.Sprintf("  %s %-9s -> the %s ingress (%s)", name, typ, region, res.Name))
	}
	if len(records) > 0 {
		sort.Strings(records)
		fmt.Fprintf(w, "Failover records:\n%s\n", strings.Join(records, "\n"))
	}
}

// writeCriticalPath prints the modeled wall time of a fresh `pulumi up`.
func (r *Result) writeCriticalPath(w io.Writer) {
	c := r.CriticalPath
	if c == nil {
		return
	}
	fmt.Fprintf(w, "\nDeploy critical path (fresh pulumi up, typical create times; internal/critpath):\n")
	fmt.Fprintf(w, "  modeled %s, lower bound %s (over the %d edges AWS and Kubernetes require), serial %s\n",
		minutes(c.ModeledSeconds), minutes(c.LowerBoundSeconds), c.RequiredEdges, minutes(c.SerialSeconds))
	fmt.Fprintf(w, "  bounding chain:\n")
	for _, u := range c.Chain {
		fmt.Fprintf(w, "    %s\n", u)
	}
	for _, e := range c.Needless {
		fmt.Fprintf(w, "  needless wait: %s\n", e)
	}
	for _, e := range c.Missing {
		fmt.Fprintf(w, "  MISSING required edge: %s\n", e)
	}
}

func minutes(s int) string { return fmt.Sprintf("%ds (%dm%02ds)", s, s/60, s%60) }

// writeCompliance prints the compliance report: a line per rule with what it
// judged in this plan, then the exceptions in force with their reasons.
func (r *Result) writeCompliance(w io.Writer) {
	if len(r.Rules) == 0 {
		return
	}
	fmt.Fprintf(w, "\nCompliance by rule (%d rules; resources passed / violations / excepted / not applicable):\n", len(r.Rules))
	fmt.Fprintf(w, "  %-40s %-10s %6s %6s %6s %6s\n", "rule", "level", "pass", "viol", "exc", "n/a")
	for _, l := range r.Rules {
		fmt.Fprintf(w, "  %-40s %-10s %6d %6d %6d %6d\n", l.Name, l.Enforcement, l.Passed, l.Violations, l.Excepted, l.NotApplicable)
	}
	if len(r.Exceptions) > 0 {
		fmt.Fprintf(w, "Exceptions (policies/config):\n")
		for _, e := range r.Exceptions {
			fmt.Fprintf(w, "  %s  %s\n      %s\n", e.Policy, e.URN, e.Reason)
		}
	}
}

func sortByTypeName(list []*mockstack.Resource) {
	sort.Slice(list, func(i, j int) bool {
		if list[i].Type != list[j].Type {
			return list[i].Type < list[j].Type
		}
		return list[i].Name < list[j].Name
	})
}

// writeAlerts lists the alerting rules of every PrometheusRule: what fires,
// on which expression, after how long, with which labels.
func (r *Result) writeAlerts(w io.Writer) {
	header := false
	for _, res := range r.Resources {
		if res.Type != "kubernetes:monitoring.coreos.com/v1:PrometheusRule" {
			continue
		}
		spec, _ := plain(res.Inputs["spec"]).(map[string]any)
		groups, _ := spec["groups"].([]any)
		for _, g := range groups {
			group, _ := g.(map[string]any)
			rulesList, _ := group["rules"].([]any)
			for _, item := range rulesList {
				rule, _ := item.(map[string]any)
				alert, _ := rule["alert"].(string)
				if alert == "" {
					continue
				}
				if !header {
					fmt.Fprintf(w, "\nAlerts:\n")
					header = true
				}
				var labels []string
				if l, ok := rule["labels"].(map[string]any); ok {
					for k, v := range l {
						labels = append(labels, fmt.Sprintf("%s=%v", k, v))
					}
				}
				sort.Strings(labels)
				expr := strings.Join(strings.Fields(fmt.Sprint(rule["expr"])), " ")
				fmt.Fprintf(w, "  %s (%s/%s, for %v, %s)\n      %s\n", alert, res.Name, group["name"], rule["for"],
					strings.Join(labels, " "), expr)
			}
		}
	}
}

// writeRollouts summarises how each workload's versions move: a Rollout's
// steps and analysis, an AnalysisTemplate's pass and fail conditions, a
// Deployment's update strategy and probes, a VirtualService's weights.
func (r *Result) writeRollouts(w io.Writer) {
	var lines []string
	for _, res := range r.Resources {
		obj, _ := plain(resource.NewObjectProperty(res.Inputs)).(map[string]any)
		spec, _ := obj["spec"].(map[string]any)
		md, _ := obj["metadata"].(map[string]any)
		name := fmt.Sprint(md["name"])
		switch res.Type {
		case "kubernetes:argoproj.io/v1alpha1:Rollout":
			canary, _ := dig(spec, "strategy", "canary").(map[string]any)
			var steps []string
			list, _ := canary["steps"].([]any)
			for _, st := range list {
				step, _ := st.(map[string]any)
				if wgt, ok := step["setWeight"]; ok {
					steps = append(steps, fmt.Sprintf("%v%%", wgt))
				} else if p, ok := step["pause"].(map[string]any); ok {
					steps[len(steps)-1] += fmt.Sprintf(" for %v", p["duration"])
				}
			}
			line := fmt.Sprintf("  %s: canary Rollout, %s, then all", name, strings.Join(steps, ", "))
			if an, ok := canary["analysis"].(map[string]any); ok {
				line += fmt.Sprintf("; analysis %v %s", dig(an, "templates", "0", "templateName"), analysisStart(canary, an))
			} else {
				line += "; no analysis"
			}
			if _, ok := canary["trafficRouting"]; ok {
				line += fmt.Sprintf("; Istio traffic routing over %v and %v", canary["stableService"], canary["canaryService"])
			} else {
				line += "; replica-weighted"
			}
			lines = append(lines, line)
		case "kubernetes:argoproj.io/v1alpha1:AnalysisRun":
			var workload any
			for _, a := range asList(spec["args"]) {
				if am, _ := a.(map[string]any); am["name"] == "workload" {
					workload = am["value"]
				}
			}
			var parts []string
			for _, m := range asList(spec["metrics"]) {
				mm, _ := m.(map[string]any)
				parts = append(parts, fmt.Sprintf("%v x%v every %v (pass %v, fail %v)", mm["name"], mm["count"], mm["interval"],
					mm["successCondition"], mm["failureCondition"]))
			}
			lines = append(lines, fmt.Sprintf("  %s: AnalysisRun after the switch, measuring %v: %s", name, workload, strings.Join(parts, "; ")))
		case "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate":
			metrics, _ := spec["metrics"].([]any)
			var parts []string
			for _, m := range metrics {
				mm, _ := m.(map[string]any)
				parts = append(parts, fmt.Sprintf("%v (pass %v, fail %v)", mm["name"], mm["successCondition"], mm["failureCondition"]))
			}
			lines = append(lines, fmt.Sprintf("  %s: %s", name, strings.Join(parts, "; ")))
		case "kubernetes:apps/v1:Deployment":
			if spec["replicas"] == float64(0) {
				continue // a Rollout's template, or an idle color scaled down
			}
			ru, _ := dig(spec, "strategy", "rollingUpdate").(map[string]any)
			ctr, _ := dig(spec, "template", "spec", "containers", "0").(map[string]any)
			probe := func(key string) string {
				p, _ := ctr[key].(map[string]any)
				if p == nil {
					return key + " none"
				}
				return fmt.Sprintf("%v %v delay %vs every %vs x%v", strings.TrimSuffix(key, "Probe"), dig(p, "httpGet", "path"),
					orZero(p["initialDelaySeconds"]), p["periodSeconds"], p["failureThreshold"])
			}
			lines = append(lines, fmt.Sprintf("  %s: Deployment %v, surge %v, unavailable %v, deadline %vs; %s; %s; %s", name,
				ctr["image"], ru["maxSurge"], ru["maxUnavailable"], spec["progressDeadlineSeconds"],
				probe("startupProbe"), probe("livenessProbe"), probe("readinessProbe")))
		case "kubernetes:networking.istio.io/v1:VirtualService":
			routes, _ := spec["http"].([]any)
			var parts []string
			for _, rt := range routes {
				route, _ := rt.(map[string]any)
				dests, _ := route["route"].([]any)
				var ws []string
				for _, d := range dests {
					dm, _ := d.(map[string]any)
					// A subset (blue-green), else the host (a canary's Services, a rolling service).
					to := dig(dm, "destination", "subset")
					if to == nil || to == "" {
						to = dig(dm, "destination", "host")
					}
					ws = append(ws, fmt.Sprintf("%v %v", to, dm["weight"]))
				}
				parts = append(parts, fmt.Sprintf("%v: %s", route["name"], strings.Join(ws, " / ")))
			}
			lines = append(lines, fmt.Sprintf("  %s: VirtualService %s", name, strings.Join(parts, "; ")))
		}
	}
	if len(lines) == 0 {
		return
	}
	sort.Strings(lines)
	fmt.Fprintf(w, "\nRollouts and routes:\n%s\n", strings.Join(lines, "\n"))
}

// dig walks nested maps and lists ("0" indexes a list).
func dig(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			if p != "0" || len(x) == 0 {
				return nil
			}
			v = x[0]
		default:
			return nil
		}
	}
	return v
}

func orZero(v any) any {
	if v == nil {
		return 0
	}
	return v
}

// analysisStart names the stage a canary's background analysis starts in:
// startingStep indexes the steps, so the weight in effect there is the last
// setWeight at or before it.
func analysisStart(canary, analysis map[string]any) string {
	start, _ := analysis["startingStep"].(float64)
	steps, _ := canary["steps"].([]any)
	weight := any(nil)
	for i, st := range steps {
		if i > int(start) {
			break
		}
		if w, ok := st.(map[string]any)["setWeight"]; ok {
			weight = w
		}
	}
	if weight == nil {
		return "from the start"
	}
	return fmt.Sprintf("from the %v%% stage (step %v)", weight, start)
}

// asList is v as a list, or nil.
func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
