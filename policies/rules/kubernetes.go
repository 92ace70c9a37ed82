package rules

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

const (
	typeHelmRelease        = "kubernetes:helm.sh/v3:Release"
	typePeerAuthentication = "kubernetes:security.istio.io/v1:PeerAuthentication"
	meshRootNamespace      = "istio-system"
)

// checkHelmPinned: a Helm release installs an exact chart version, so a
// deploy never pulls whatever the repository serves that day.
func checkHelmPinned(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeHelmRelease {
		return nil
	}
	v, present, known := str(r.Properties, "version")
	if known && (!present || !exactVersion.MatchString(v)) {
		args.Manager.ReportViolation(fmt.Sprintf("Helm release %q installs no pinned chart version (%q). Set the exact "+
			"version in the stack config (eduai:addons.charts, eduai:mesh.version); a range (>=9.0.0, 2.x, ~1.2) "+
			"lets the next deploy install another chart.", r.Name, v), "")
	}
	return nil
}

// exactVersion is one SemVer 2 version (Helm takes a range otherwise: "2.x",
// ">=9.0.0", "~1.2", "^1.2.3" resolve to whatever the repository has newest).
var exactVersion = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// checkMeshMTLS: no PeerAuthentication lowers the mesh's mTLS: the mesh-wide
// one (root namespace) is STRICT, and no namespace, workload or port policy
// sets DISABLE or PERMISSIVE below it (issue #20: only istio-system's was
// read, so a namespace's DISABLE passed). UNSET inherits. A resource rule,
// so a fresh preview judges it from the inputs; that a meshed cluster has a
// mesh-wide policy at all is a stack fact, left to a rule of its own.
func checkMeshMTLS(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typePeerAuthentication {
		return nil
	}
	md, _, _ := object(r.Properties, "metadata")
	ns, _, nsKnown := str(md, "namespace")
	spec, _, specKnown := object(r.Properties, "spec")
	if !nsKnown || !specKnown {
		return nil
	}
	lowers := func(mode string) bool { return mode != "STRICT" && mode != "UNSET" && mode != "" }
	root := ns == meshRootNamespace
	var lowered []string
	mtls, _, _ := object(spec, "mtls")
	mode, present, known := str(mtls, "mode")
	if known && ((root && (!present || mode != "STRICT")) || (!root && lowers(mode))) {
		lowered = append(lowered, fmt.Sprintf("mode %q", mode))
	}
	if ports, present, _ := object(spec, "portLevelMtls"); present {
		for port := range ports.AllStable {
			pm, _, _ := object(ports, port)
			if m, _, known := str(pm, "mode"); known && lowers(m) {
				lowered = append(lowered, "port "+port+" "+m)
			}
		}
	}
	if len(lowered) == 0 {
		return nil
	}
	scope := "namespace " + ns
	if root {
		scope = "the whole mesh"
	}
	args.Manager.ReportViolation(fmt.Sprintf("the mTLS mode for %s is lowered (%s): workloads accept plaintext. Set "+
		"eduai:mesh.mtls: STRICT once every workload has a sidecar, with no namespace or port override below it.",
		scope, strings.Join(lowered, ", ")), "")
	return nil
}

// meshed tells whether a Namespace asks for sidecars (istio-injection:
// enabled, or a revision label istio.io/rev).
func meshed(ns policyx.AnalyzerResource) (name string, on, known bool) {
	meta, _, _ := object(ns.Properties, "metadata")
	labels, known := strMap(meta, "labels")
	name, _, _ = str(meta, "name")
	return name, labels["istio-injection"] == "enabled" || labels["istio.io/rev"] != "", known
}

// MeshWideMTLSFindings: every cluster with a meshed namespace has a
// mesh-wide PeerAuthentication — one in the root namespace (istio-system)
// without a selector. Without it Istio accepts plaintext (its default mode is
// PERMISSIVE: Istio docs, "Mutual TLS Migration"), however STRICT the
// policies that do exist (issue #20: removing it passed). A policy whose
// namespace or selector is not known yet counts as present: only absence is
// judged, which the engine's first preview can see.
func MeshWideMTLSFindings(rs []policyx.AnalyzerResource) []Finding {
	wide := map[string]bool{}
	for _, p := range ofType(rs, typePeerAuthentication) {
		md, _, mdKnown := object(p.Properties, "metadata")
		ns, _, nsKnown := str(md, "namespace")
		spec, _, specKnown := object(p.Properties, "spec")
		_, selected, selKnown := object(spec, "selector")
		if !mdKnown || !nsKnown || !specKnown || !selKnown || (ns == meshRootNamespace && !selected) {
			wide[inCluster(p, "")] = true
		}
	}
	var out []Finding
	reported := map[string]bool{}
	for _, ns := range ofType(rs, typeNamespace) {
		name, on, known := meshed(ns)
		key := inCluster(ns, "")
		if !known || !on || wide[key] || reported[key] {
			continue
		}
		reported[key] = true
		out = append(out, Finding{URN: ns.URN, Message: fmt.Sprintf("namespace %q is meshed, but its cluster has no "+
			"mesh-wide PeerAuthentication (in %s, without a selector), so Istio's default, PERMISSIVE, lets "+
			"workloads accept plaintext. The mesh component creates one with eduai:mesh.mtls: STRICT.", name,
			meshRootNamespace)})
	}
	return out
}

const typePrometheusCR = "kubernetes:monitoring.coreos.com/v1:Prometheus"

// chartValues reads a Helm release's chart name and values. secret tells
// whether the values as a whole are secret; known=false: not known yet.
func chartValues(r policyx.AnalyzerResource) (chart string, values property.Map, secret, known bool) {
	chart, _, chartKnown := str(r.Properties, "chart")
	v, ok := get(r.Properties, "values")
	if !ok {
		return chart, property.Map{}, false, chartKnown
	}
	if v.HasComputed() {
		return chart, property.Map{}, v.Secret(), false
	}
	values, _, _ = object(r.Properties, "values")
	return chart, values, v.Secret(), chartKnown
}

// path reads nested objects; known=false when one of them is not known yet.
func path(m property.Map, keys ...string) (out property.Map, present, known bool) {
	out, present, known = m, true, true
	for _, k := range keys {
		out, present, known = object(out, k)
		if !present || !known {
			return out, present, known
		}
	}
	return out, present, known
}

// checkPrometheusStorage: Prometheus keeps its samples on a persistent
// volume; on an emptyDir a node replacement or a pod reschedule loses every
// metric, the alert history with them.
func checkPrometheusStorage(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	switch r.Type {
	case typeHelmRelease:
		chart, values, _, known := chartValues(r)
		if !known {
			return nil
		}
		switch chart {
		case "kube-prometheus-stack":
			if p, present, known := path(values, "prometheus"); known && present {
				if enabled, set, _ := scalar(p, "enabled", property.Value.IsBool, property.Value.AsBool); set && !enabled {
					return nil
				}
			}
			_, present, known := path(values, "prometheus", "prometheusSpec", "storageSpec", "volumeClaimTemplate")
			if known && !present {
				args.Manager.ReportViolation(fmt.Sprintf("Helm release %q runs Prometheus without a persistent volume: "+
					"a rescheduled pod loses every sample. Set prometheus.prometheusSpec.storageSpec.volumeClaimTemplate "+
					"(eduai:observability.prometheus.storageGiB).", r.Name), "")
			}
		case "prometheus":
			pv, _, known := path(values, "server", "persistentVolume")
			if enabled, set, k := scalar(pv, "enabled", property.Value.IsBool, property.Value.AsBool); known && k && set && !enabled {
				args.Manager.ReportViolation(fmt.Sprintf("Helm release %q turns Prometheus' persistent volume off "+
					"(server.persistentVolume.enabled: false).", r.Name), "")
			}
		}
	case typePrometheusCR:
		spec, _, specKnown := object(r.Properties, "spec")
		if _, present, known := object(spec, "storage"); specKnown && known && !present {
			args.Manager.ReportViolation(fmt.Sprintf("Prometheus %q has no spec.storage: its samples live on an emptyDir.", r.Name), "")
		}
	}
	return nil
}

// checkGrafanaAdminPassword: Grafana's admin password is neither written in
// plain text into Helm values nor left at a chart default; it comes from a
// Secret (admin.existingSecret) or is a secret value.
func checkGrafanaAdminPassword(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeHelmRelease {
		return nil
	}
	chart, values, valuesSecret, known := chartValues(r)
	if !known {
		return nil
	}
	var grafana property.Map
	switch chart {
	case "kube-prometheus-stack":
		g, present, gKnown := path(values, "grafana")
		if !gKnown {
			return nil
		}
		if enabled, set, _ := scalar(g, "enabled", property.Value.IsBool, property.Value.AsBool); present && set && !enabled {
			return nil
		}
		grafana = g
	case "grafana":
		grafana = values
	default:
		return nil
	}
	pw, hasPassword := get(grafana, "adminPassword")
	existing, _, existingKnown := path(grafana, "admin")
	secretName, hasSecret, nameKnown := str(existing, "existingSecret")
	switch {
	case hasPassword && pw.HasComputed():
		return nil
	case hasPassword && pw.IsString() && !pw.Secret() && !valuesSecret:
		args.Manager.ReportViolation(fmt.Sprintf("Helm release %q sets Grafana's adminPassword in plain text: it is "+
			"stored readable in the state and the release. Generate it (pulumi-random) into a Secret and set "+
			"grafana.admin.existingSecret.", r.Name), "")
	case !hasPassword && chart == "kube-prometheus-stack" && existingKnown && nameKnown && (!hasSecret || secretName == ""):
		args.Manager.ReportViolation(fmt.Sprintf("Helm release %q leaves Grafana's admin password at the chart's "+
			"published default (prom-operator). Set grafana.admin.existingSecret to a Secret with a generated password.",
			r.Name), "")
	}
	return nil
}
