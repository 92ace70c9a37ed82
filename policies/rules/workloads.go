package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

const (
	typeDeployment  = "kubernetes:apps/v1:Deployment"
	typeStatefulSet = "kubernetes:apps/v1:StatefulSet"
	typeDaemonSet   = "kubernetes:apps/v1:DaemonSet"
	typeJob         = "kubernetes:batch/v1:Job"
	typeRollout     = "kubernetes:argoproj.io/v1alpha1:Rollout"
	typePDB         = "kubernetes:policy/v1:PodDisruptionBudget"
	typeHPA         = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
)

// servingTypes run long-lived pods (probes, PDBs); Jobs run to completion.
var servingTypes = []string{typeDeployment, typeStatefulSet, typeDaemonSet, typeRollout}

// container is one container of a workload's pod template.
type container struct {
	name  string
	props property.Map
}

// podTemplate reads a workload's pod spec and its containers (init
// containers included). ok=false: not a workload, or no inline template (a
// Rollout with workloadRef: its Deployment is checked); known=false: not known yet.
func podTemplate(r policyx.AnalyzerResource) (pod property.Map, containers []container, ok, known bool) {
	switch r.Type {
	case typeDeployment, typeStatefulSet, typeDaemonSet, typeJob, typeRollout:
	default:
		return property.Map{}, nil, false, true
	}
	pod, present, known := path(r.Properties, "spec", "template", "spec")
	if !present || !known {
		return pod, nil, present, known
	}
	for _, key := range []string{"initContainers", "containers"} {
		list, listKnown := objList(pod, key)
		if !listKnown {
			return pod, nil, true, false
		}
		for i, c := range list {
			name, _, _ := str(c, "name")
			if name == "" {
				name = fmt.Sprintf("%s[%d]", key, i)
			}
			containers = append(containers, container{name, c})
		}
	}
	return pod, containers, true, true
}

// checkWorkloadResources: every container requests and is limited in CPU and memory.
func checkWorkloadResources(args policyx.ResourceValidationArgs) error {
	_, containers, ok, known := podTemplate(args.Resource)
	if !ok || !known {
		return nil
	}
	for _, c := range containers {
		var missing []string
		for _, kind := range []string{"requests", "limits"} {
			q, present, qKnown := path(c.props, "resources", kind)
			if !qKnown {
				continue
			}
			for _, res := range []string{"cpu", "memory"} {
				if v, set, vKnown := str(q, res); vKnown && (!present || !set || v == "") {
					if n, nset, _ := num(q, res); !nset || n == 0 {
						missing = append(missing, kind+"."+res)
					}
				}
			}
		}
		if len(missing) > 0 {
			args.Manager.ReportViolation(fmt.Sprintf("%s %q: container %q has no %s. Set requests and limits "+
				"(eduai:services.<name>.resources) so the scheduler and the autoscaler can size it.",
				args.Resource.Type, args.Resource.Name, c.name, strings.Join(missing, ", ")), "")
		}
	}
	return nil
}

// checkWorkloadProbes: every serving container has readiness and liveness probes.
func checkWorkloadProbes(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type == typeJob {
		return nil
	}
	_, containers, ok, known := podTemplate(r)
	if !ok || !known {
		return nil
	}
	for _, c := range containers {
		var missing []string
		for _, probe := range []string{"readinessProbe", "livenessProbe"} {
			if _, present, pKnown := object(c.props, probe); pKnown && !present {
				missing = append(missing, probe)
			}
		}
		if len(missing) > 0 && !isInit(r, c) {
			args.Manager.ReportViolation(fmt.Sprintf("%s %q: container %q has no %s: traffic reaches it before it "+
				"is ready and a hung process is never restarted. Serve /ready and /health (eduai:services.<name>.probes).",
				r.Type, r.Name, c.name, strings.Join(missing, " or ")), "")
		}
	}
	return nil
}

// isInit tells whether c is one of r's init containers (which take no probes).
func isInit(r policyx.AnalyzerResource, c container) bool {
	pod, _, _ := path(r.Properties, "spec", "template", "spec")
	inits, _ := objList(pod, "initContainers")
	for _, ic := range inits {
		if n, _, _ := str(ic, "name"); n == c.name {
			return true
		}
	}
	return false
}

// checkWorkloadHardened: containers run as non-root on a read-only root
// filesystem, unprivileged, without privilege escalation.
func checkWorkloadHardened(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	pod, containers, ok, known := podTemplate(r)
	if !ok || !known {
		return nil
	}
	podSC, _, podKnown := object(pod, "securityContext")
	podNonRoot, _, podNonRootKnown := boolProp(podSC, "runAsNonRoot")
	for _, c := range containers {
		sc, _, scKnown := object(c.props, "securityContext")
		if !scKnown || !podKnown {
			continue
		}
		// A setting not known yet gives no verdict.
		var problems []string
		if nonRoot, set, known := boolProp(sc, "runAsNonRoot"); known && podNonRootKnown && !(set && nonRoot) && !(podNonRoot && !set) {
			problems = append(problems, "may run as root (runAsNonRoot)")
		}
		// UID 0 is root whatever runAsNonRoot says (the container's setting
		// overrides the pod's; issue #20).
		uid, uidSet, uidKnown := num(sc, "runAsUser")
		podUID, podUIDSet, podUIDKnown := num(podSC, "runAsUser")
		if (uidKnown && uidSet && uid == 0) || (!uidSet && podUIDKnown && podUIDSet && podUID == 0) {
			problems = append(problems, "runs as UID 0 (runAsUser)")
		}
		if ro, _, known := boolProp(sc, "readOnlyRootFilesystem"); known && !ro {
			problems = append(problems, "has a writable root filesystem (readOnlyRootFilesystem)")
		}
		if priv, _, known := boolProp(sc, "privileged"); known && priv {
			problems = append(problems, "is privileged")
		}
		if esc, set, known := boolProp(sc, "allowPrivilegeEscalation"); known && (!set || esc) {
			problems = append(problems, "may escalate privileges (allowPrivilegeEscalation)")
		}
		if len(problems) > 0 {
			args.Manager.ReportViolation(fmt.Sprintf("%s %q: container %q %s. Run it as a non-root user on a "+
				"read-only root filesystem without privileges (an emptyDir for /tmp).",
				r.Type, r.Name, c.name, strings.Join(problems, ", ")), "")
		}
	}
	return nil
}

// imageTag returns the tag of an image reference ("" when none; a digest counts as pinned).
func imageTag(image string) (tag string, pinned bool) {
	if strings.Contains(image, "@sha256:") {
		return "", true
	}
	last := image[strings.LastIndex(image, "/")+1:]
	if i := strings.LastIndex(last, ":"); i >= 0 {
		tag = last[i+1:]
	}
	return tag, tag != "" && tag != "latest"
}

// checkImageTagPinned: every image names a version (or a digest), never latest or nothing.
func checkImageTagPinned(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	_, containers, ok, known := podTemplate(r)
	if !ok || !known {
		return nil
	}
	for _, c := range containers {
		image, _, imageKnown := str(c.props, "image")
		if !imageKnown || image == "" {
			continue
		}
		if tag, pinned := imageTag(image); !pinned {
			what := "no tag"
			if tag != "" {
				what = "the tag " + tag
			}
			args.Manager.ReportViolation(fmt.Sprintf("%s %q: container %q runs %s with %s: what runs changes "+
				"without a deploy and cannot be rolled back. Pin a version (eduai:services.<name>.image.tag).",
				r.Type, r.Name, c.name, image, what), "")
		}
	}
	return nil
}

// checkCanaryAnalysis: a canary Rollout with steps is judged by an analysis,
// in the background (strategy.canary.analysis) or as a step. A Rollout with
// no steps has no stage to judge: it replaces its pods as a rolling update
// does, which the pack allows without an analysis. (The DR standby's copy of
// a canary is such a Rollout, issue #19; it takes a version only after the
// active region's analysed Rollout released it, which the stack tests prove:
// the engine does not hand a resource rule the plan's dependencies.)
func checkCanaryAnalysis(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeRollout {
		return nil
	}
	canary, present, known := path(r.Properties, "spec", "strategy", "canary")
	if !present || !known {
		return nil
	}
	has, ok := canaryAnalysed(canary)
	if !ok || has {
		return nil
	}
	if steps, _ := objList(canary, "steps"); len(steps) == 0 {
		return nil
	}
	args.Manager.ReportViolation(fmt.Sprintf("canary Rollout %q has no analysis: nothing stops a bad version "+
		"at 5 %% before it reaches everyone. Turn eduai:services.<name>.analysis on (it needs "+
		"eduai:observability.mode: full).", r.Name), "")
	return nil
}

// canaryAnalysed tells whether a canary strategy has an analysis (ok false: not known yet).
func canaryAnalysed(canary property.Map) (has, ok bool) {
	an, anPresent, anKnown := object(canary, "analysis")
	steps, stepsKnown := objList(canary, "steps")
	if !anKnown || !stepsKnown {
		return false, false
	}
	if anPresent {
		// A background analysis that starts at or after the last step
		// (startingStep counts from 0) starts when the rollout is already
		// promoted: it judges nothing (issue #20).
		start, startSet, startKnown := num(an, "startingStep")
		if templates, tKnown := objList(an, "templates"); !tKnown || !startKnown {
			return false, false
		} else if len(templates) > 0 && (!startSet || int(start) < len(steps)) {
			return true, true
		}
	}
	for _, s := range steps {
		if _, has, _ := object(s, "analysis"); has {
			return true, true
		}
	}
	return false, true
}

// workload is a serving workload's replica floor and pod labels.
type workload struct {
	r        policyx.AnalyzerResource
	min      float64
	labels   map[string]string
	ns, name string
}

// PDBFindings: every serving workload that runs more than one pod has a
// PodDisruptionBudget selecting its pods (in its namespace).
func PDBFindings(rs []policyx.AnalyzerResource) []Finding {
	meta := func(r policyx.AnalyzerResource) (ns, name string) {
		md, _, _ := object(r.Properties, "metadata")
		ns, _, _ = str(md, "namespace")
		name, _, _ = str(md, "name")
		return ns, name
	}
	// HPAs own the replica count of their target.
	hpaMin := map[string]float64{}
	for _, h := range ofType(rs, typeHPA) {
		ns, _ := meta(h)
		ref, _, _ := path(h.Properties, "spec", "scaleTargetRef")
		kind, _, _ := str(ref, "kind")
		name, _, _ := str(ref, "name")
		min, set, known := num(mapOf(h.Properties, "spec"), "minReplicas")
		if !known {
			min = 2 // not known yet: assume it needs one, and look no further
		} else if !set {
			min = 1
		}
		hpaMin[inCluster(h, ns+"/"+kind+"/"+name)] = min
	}
	kinds := map[string]string{typeDeployment: "Deployment", typeStatefulSet: "StatefulSet", typeRollout: "Rollout"}
	var workloads []workload
	for _, r := range ofType(rs, typeDeployment, typeStatefulSet, typeRollout) {
		ns, name := meta(r)
		spec := mapOf(r.Properties, "spec")
		min, set, known := num(spec, "replicas")
		if !known {
			continue
		}
		if !set {
			min = 1
		}
		if h, ok := hpaMin[inCluster(r, ns+"/"+kinds[r.Type]+"/"+name)]; ok {
			min = h
		}
		labels, lKnown := strMap(mapOf(spec, "selector"), "matchLabels")
		if !lKnown || min <= 1 {
			continue
		}
		workloads = append(workloads, workload{r: r, min: min, labels: labels, ns: ns, name: name})
	}
	var pdbs []struct {
		ns       string
		selector map[string]string
		known    bool
		spec     property.Map
	}
	for _, p := range ofType(rs, typePDB) {
		ns, _ := meta(p)
		sel, known := strMap(mapOf(mapOf(p.Properties, "spec"), "selector"), "matchLabels")
		pdbs = append(pdbs, struct {
			ns       string
			selector map[string]string
			known    bool
			spec     property.Map
		}{inCluster(p, ns), sel, known, mapOf(p.Properties, "spec")})
	}
	var out []Finding
	for _, w := range workloads {
		covered := false
		for _, p := range pdbs {
			if !p.known {
				covered = true // not known yet: no verdict
				break
			}
			if p.ns == inCluster(w.r, w.ns) && len(p.selector) > 0 && subset(p.selector, w.labels) && keepsPods(p.spec, w.min) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, Finding{URN: w.r.URN, Message: fmt.Sprintf("%s %q runs %.0f pods or more but no "+
				"PodDisruptionBudget selects them: a node drain may take them all at once. Add one (the service "+
				"component does: minAvailable 2 from 3 pods, maxUnavailable 1 with 2).", w.r.Type, w.name, w.min)})
		}
	}
	return out
}

// keepsPods tells whether a PDB's budget keeps at least one of replicas
// pods through a drain (issue #20): minAvailable at least 1 (or above 0 %),
// or maxUnavailable below the replica count (or below 100 %). A budget of
// minAvailable 0 or maxUnavailable 100 % is a PDB that protects nothing.
// A value not known yet keeps its pods (no verdict).
func keepsPods(spec property.Map, replicas float64) bool {
	budget := func(key string) (n float64, percent, present, known bool) {
		v, ok := get(spec, key)
		switch {
		case !ok:
			return 0, false, false, true
		case v.IsComputed():
			return 0, false, true, false
		case v.IsNumber():
			return v.AsNumber(), false, true, true
		case v.IsString():
			s := v.AsString()
			if p, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64); err == nil {
				return p, strings.HasSuffix(s, "%"), true, true
			}
		}
		return 0, false, true, true
	}
	if n, _, present, known := budget("minAvailable"); !known {
		return true
	} else if present {
		return n > 0
	}
	if n, pct, present, known := budget("maxUnavailable"); !known {
		return true
	} else if present {
		if pct {
			return n < 100
		}
		return n < replicas
	}
	return false
}

// mapOf reads a nested object, empty when absent or not known.
func mapOf(m property.Map, key string) property.Map {
	out, _, _ := object(m, key)
	return out
}

// subset tells whether every label of sel is in labels.
func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

const typeNetworkPolicy = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

// NetworkPolicyFindings: every namespace the plan runs workloads in has a
// NetworkPolicy that selects all its pods (an empty podSelector) and lists
// Ingress among its policy types, so a pod is reachable only through the
// allows (kube-score's "pod NetworkPolicy" check; the allows themselves are
// the services'). One finding per namespace, on its first workload.
func NetworkPolicyFindings(rs []policyx.AnalyzerResource) []Finding {
	nsOf := func(r policyx.AnalyzerResource) (string, bool) {
		md, _, known := object(r.Properties, "metadata")
		if !known {
			return "", false
		}
		ns, _, known := str(md, "namespace")
		return ns, known
	}
	// A default deny selects every pod and allows nothing in a direction it
	// names: a rule under ingress (or egress) allows, so {} there is no deny
	// (issue #20). A namespace whose allow policies list egress has an
	// egress allow-list, which only a default deny of egress makes one.
	denied, deniesEgress, egressListed := map[string]bool{}, map[string]bool{}, map[string]bool{}
	unknown := map[string]bool{}
	for _, p := range ofType(rs, typeNetworkPolicy) {
		ns, known := nsOf(p)
		spec, _, specKnown := object(p.Properties, "spec")
		types, typesKnown := strList(spec, "policyTypes")
		sel, _, selKnown := object(spec, "podSelector")
		ingress, ingressKnown := objList(spec, "ingress")
		egress, egressKnown := objList(spec, "egress")
		key := inCluster(p, ns)
		if !known || !specKnown || !typesKnown || !selKnown || !ingressKnown || !egressKnown {
			unknown[key] = true
			continue
		}
		if sel.Len() == 0 && slices.Contains(types, "Ingress") && len(ingress) == 0 {
			denied[key] = true
		}
		if sel.Len() == 0 && slices.Contains(types, "Egress") && len(egress) == 0 {
			deniesEgress[key] = true
		}
		if slices.Contains(types, "Egress") && len(egress) > 0 {
			egressListed[key] = true
		}
	}
	var out []Finding
	reported := map[string]bool{}
	workloads := ofType(rs, typeDeployment, typeStatefulSet, typeDaemonSet, typeRollout, typeJob)
	for _, r := range append(workloads, ofType(rs, typeNamespace)...) {
		ns, known := nsOf(r)
		what := fmt.Sprintf("runs %q", r.Name)
		if r.Type == typeNamespace {
			md, _, _ := object(r.Properties, "metadata")
			ns, _, known = str(md, "name")
			what = "is created by the program for workloads"
		}
		key := inCluster(r, ns)
		if !known || ns == "" || unknown[key] || reported[key] {
			continue
		}
		switch {
		case !denied[key]:
			reported[key] = true
			out = append(out, Finding{URN: string(r.URN), Message: fmt.Sprintf("namespace %q %s but has no "+
				"default-deny NetworkPolicy (podSelector {}, policyTypes [Ingress, Egress], no rules): any pod in the "+
				"cluster can reach it. The stack creates one for the services namespace (service.DefaultDenyPolicy).", ns, what)})
		case egressListed[key] && !deniesEgress[key]:
			reported[key] = true
			out = append(out, Finding{URN: string(r.URN), Message: fmt.Sprintf("namespace %q %s and its policies "+
				"list the egress they allow, but no default-deny NetworkPolicy covers Egress, so every other egress "+
				"is open too. Add Egress to its default deny's policyTypes.", ns, what)})
		}
	}
	return out
}
