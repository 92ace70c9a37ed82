package rules

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// goodContainer passes every workload rule.
func goodContainer() map[string]any {
	return map[string]any{
		"name": "app", "image": "registry.gitlab.com/eduai/auth-service:v1.1.0",
		"resources": map[string]any{"requests": map[string]any{"cpu": "500m", "memory": "1Gi"},
			"limits": map[string]any{"cpu": "1", "memory": "2Gi"}},
		"readinessProbe": map[string]any{"httpGet": map[string]any{"path": "/ready"}},
		"livenessProbe":  map[string]any{"httpGet": map[string]any{"path": "/health"}},
		"securityContext": map[string]any{"runAsNonRoot": true, "readOnlyRootFilesystem": true,
			"privileged": false, "allowPrivilegeEscalation": false},
	}
}

func workloadRes(typ string, replicas any, c map[string]any) policyx.AnalyzerResource {
	spec := map[string]any{
		"selector": map[string]any{"matchLabels": map[string]any{"app": "auth-service"}},
		"template": map[string]any{"spec": map[string]any{"containers": []any{c}}},
	}
	if replicas != nil {
		spec["replicas"] = replicas
	}
	return res(typ, "auth-service", map[string]any{
		"metadata": map[string]any{"name": "auth-service", "namespace": "eduai"}, "spec": spec})
}

func without(key string) map[string]any {
	c := goodContainer()
	delete(c, key)
	return c
}

func with(path []string, v any) map[string]any {
	c := goodContainer()
	m := c
	for _, p := range path[:len(path)-1] {
		m = m[p].(map[string]any)
	}
	m[path[len(path)-1]] = v
	return c
}

func TestWorkloadResourceRules(t *testing.T) {
	cases := []struct {
		name  string
		check func(policyx.ResourceValidationArgs) error
		r     policyx.AnalyzerResource
		want  string
	}{
		{"all set", checkWorkloadResources, workloadRes(typeDeployment, 3, goodContainer()), ""},
		{"no limits", checkWorkloadResources, workloadRes(typeDeployment, 3, with([]string{"resources", "limits"}, map[string]any{})),
			"limits.cpu, limits.memory"},
		{"no resources on a job", checkWorkloadResources, workloadRes(typeJob, nil, without("resources")), "requests.cpu"},
		{"template not known yet", checkWorkloadResources, res(typeDeployment, "d", map[string]any{"spec": map[string]any{"template": unknown}}), ""},
		{"probes set", checkWorkloadProbes, workloadRes(typeDeployment, 3, goodContainer()), ""},
		{"no readiness", checkWorkloadProbes, workloadRes(typeDeployment, 3, without("readinessProbe")), "no readinessProbe"},
		{"no probes in a rollout template", checkWorkloadProbes,
			workloadRes(typeRollout, 3, without("livenessProbe")), "no livenessProbe"},
		{"jobs take no probes", checkWorkloadProbes, workloadRes(typeJob, nil, without("livenessProbe")), ""},
		{"rollout over a workloadRef", checkWorkloadProbes, res(typeRollout, "r", map[string]any{"spec": map[string]any{
			"workloadRef": map[string]any{"kind": "Deployment", "name": "x"}}}), ""},
		{"hardened", checkWorkloadHardened, workloadRes(typeDeployment, 3, goodContainer()), ""},
		{"privileged", checkWorkloadHardened, workloadRes(typeDeployment, 3, with([]string{"securityContext", "privileged"}, true)), "is privileged"},
		{"writable root", checkWorkloadHardened, workloadRes(typeDaemonSet, 3, with([]string{"securityContext", "readOnlyRootFilesystem"}, false)), "writable root filesystem"},
		{"root", checkWorkloadHardened, workloadRes(typeStatefulSet, 3, with([]string{"securityContext", "runAsNonRoot"}, false)), "may run as root"},
		{"no security context", checkWorkloadHardened, workloadRes(typeJob, nil, without("securityContext")), "may escalate privileges"},
		{"pinned", checkImageTagPinned, workloadRes(typeDeployment, 3, goodContainer()), ""},
		{"latest", checkImageTagPinned, workloadRes(typeDeployment, 3, with([]string{"image"}, "registry.gitlab.com/eduai/x:latest")), "the tag latest"},
		{"no tag", checkImageTagPinned, workloadRes(typeDeployment, 3, with([]string{"image"}, "registry.local:5000/eduai/x")), "no tag"},
		{"digest", checkImageTagPinned, workloadRes(typeDeployment, 3, with([]string{"image"}, "x@sha256:abc")), ""},
		{"image not known yet", checkImageTagPinned, workloadRes(typeDeployment, 3, with([]string{"image"}, unknown)), ""},
	}
	for _, c := range cases {
		got := runResourceRule(c.check, c.r, nil)
		if (c.want == "") != (len(got) == 0) || (c.want != "" && !strings.Contains(got[0], c.want)) {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}

func TestCanaryAnalysis(t *testing.T) {
	rollout := func(name string, canary map[string]any, deps ...string) policyx.AnalyzerResource {
		r := res(typeRollout, name, map[string]any{"spec": map[string]any{
			"workloadRef": map[string]any{"name": "content-service"}, "strategy": map[string]any{"canary": canary}}})
		r.Dependencies = deps
		return r
	}
	steps := []any{map[string]any{"setWeight": 5}, map[string]any{"pause": map[string]any{"duration": "5m"}}}
	active := "urn:pulumi:prod::eduai::eduai:service:Service$" + typeRollout + "::service-content-service-rollout"
	deployment := "urn:pulumi:prod::eduai::eduai:service:Service$" + typeDeployment + "::service-content-service"
	cases := []struct {
		name string
		r    policyx.AnalyzerResource
		want string
	}{
		{"background analysis", rollout("r", map[string]any{"steps": steps,
			"analysis": map[string]any{"templates": []any{map[string]any{"templateName": "a"}}}}), ""},
		{"analysis step", rollout("r", map[string]any{"steps": append(steps, map[string]any{"analysis": map[string]any{}})}), ""},
		{"none", rollout("r", map[string]any{"steps": steps}), "has no analysis"},
		{"empty templates", rollout("r", map[string]any{"steps": steps, "analysis": map[string]any{"templates": []any{}}}), "has no analysis"},
		{"not known yet", rollout("r", map[string]any{"steps": steps, "analysis": unknown}), ""},
		{"blue-green rollout", res(typeRollout, "r", map[string]any{"spec": map[string]any{
			"strategy": map[string]any{"blueGreen": map[string]any{}}}}), ""},
		// Issue #19: a stepless Rollout (a standby's copy) has no stage to judge; one with steps does, whatever it waits for.
		{"stepless copy", rollout("dr", map[string]any{"steps": []any{}}, deployment, active), ""},
		{"waits for a Rollout but runs its own steps unjudged", rollout("dr", map[string]any{"steps": steps}, active), "has no analysis"},
	}
	for _, c := range cases {
		got := runResourceRule(checkCanaryAnalysis, c.r, nil)
		if (c.want == "") != (len(got) == 0) || (c.want != "" && !strings.Contains(got[0], c.want)) {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}

func TestPDBFindings(t *testing.T) {
	budgeted := func(budget map[string]any) policyx.AnalyzerResource {
		spec := map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "auth-service"}}}
		for k, v := range budget {
			spec[k] = v
		}
		return res(typePDB, "auth-service", map[string]any{"metadata": map[string]any{"namespace": "eduai"}, "spec": spec})
	}
	pdb := budgeted(map[string]any{"minAvailable": 2})
	otherNS := res(typePDB, "elsewhere", map[string]any{"metadata": map[string]any{"namespace": "other"},
		"spec": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": "auth-service"}}}})
	hpa := func(kind string, min any) policyx.AnalyzerResource {
		return res(typeHPA, "h", map[string]any{"metadata": map[string]any{"namespace": "eduai"},
			"spec": map[string]any{"minReplicas": min,
				"scaleTargetRef": map[string]any{"kind": kind, "name": "auth-service"}}})
	}
	cases := []struct {
		name string
		rs   []policyx.AnalyzerResource
		want int
	}{
		{"3 replicas with a PDB", []policyx.AnalyzerResource{workloadRes(typeDeployment, 3, goodContainer()), pdb}, 0},
		{"3 replicas without", []policyx.AnalyzerResource{workloadRes(typeDeployment, 3, goodContainer())}, 1},
		{"a PDB in another namespace", []policyx.AnalyzerResource{workloadRes(typeDeployment, 3, goodContainer()), otherNS}, 1},
		{"one replica", []policyx.AnalyzerResource{workloadRes(typeDeployment, 1, goodContainer())}, 0},
		{"HPA from 3 without a PDB", []policyx.AnalyzerResource{workloadRes(typeDeployment, nil, goodContainer()), hpa("Deployment", 3)}, 1},
		{"HPA from 1", []policyx.AnalyzerResource{workloadRes(typeDeployment, nil, goodContainer()), hpa("Deployment", 1)}, 0},
		{"rollout scaled by an HPA", []policyx.AnalyzerResource{workloadRes(typeRollout, nil, goodContainer()), hpa("Rollout", 3)}, 1},
		{"rollout with its PDB", []policyx.AnalyzerResource{workloadRes(typeRollout, nil, goodContainer()), hpa("Rollout", 3), pdb}, 0},
		{"template Deployment of a Rollout", []policyx.AnalyzerResource{workloadRes(typeDeployment, 0, goodContainer())}, 0},
		{"replicas not known yet", []policyx.AnalyzerResource{workloadRes(typeDeployment, unknown, goodContainer())}, 0},
		// Issue #20: a PDB is judged by its budget, not by its presence.
		{"minAvailable 0", rs(workloadRes(typeDeployment, 3, goodContainer()), budgeted(map[string]any{"minAvailable": 0})), 1},
		{"maxUnavailable 100%", rs(workloadRes(typeDeployment, 3, goodContainer()), budgeted(map[string]any{"maxUnavailable": "100%"})), 1},
		{"maxUnavailable as many as the pods", rs(workloadRes(typeDeployment, 3, goodContainer()), budgeted(map[string]any{"maxUnavailable": 3})), 1},
		{"no budget at all", rs(workloadRes(typeDeployment, 3, goodContainer()), budgeted(nil)), 1},
		{"maxUnavailable 1", rs(workloadRes(typeDeployment, 3, goodContainer()), budgeted(map[string]any{"maxUnavailable": 1})), 0},
		{"minAvailable 50%", rs(workloadRes(typeDeployment, 3, goodContainer()), budgeted(map[string]any{"minAvailable": "50%"})), 0},
		{"budget not known yet", rs(workloadRes(typeDeployment, 3, goodContainer()), budgeted(map[string]any{"minAvailable": unknown})), 0},
		// Issue #20: the DR cluster's PDB does not cover the primary's workload.
		{"PDB in the other cluster only", clusters(workloadRes(typeDeployment, 3, goodContainer()), "k8s",
			workloadRes(typeDeployment, 3, goodContainer()), "dr-k8s", pdb, "dr-k8s"), 1},
		{"PDB in each cluster", clusters(workloadRes(typeDeployment, 3, goodContainer()), "k8s", pdb, "k8s",
			workloadRes(typeDeployment, 3, goodContainer()), "dr-k8s", pdb, "dr-k8s"), 0},
		{"the other cluster's HPA", clusters(workloadRes(typeDeployment, nil, goodContainer()), "k8s", hpa("Deployment", 3), "dr-k8s"), 0},
	}
	for _, c := range cases {
		if got := PDBFindings(c.rs); len(got) != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}

// Issue #17: a namespace with workloads needs a default-deny NetworkPolicy.
func TestNetworkPolicyFindings(t *testing.T) {
	deny := func(ns string, sel map[string]any, types ...any) policyx.AnalyzerResource {
		return res(typeNetworkPolicy, "p", map[string]any{"metadata": map[string]any{"namespace": ns},
			"spec": map[string]any{"podSelector": sel, "policyTypes": types}})
	}
	w := workloadRes(typeDeployment, 3, goodContainer())
	cases := []struct {
		name string
		rs   []policyx.AnalyzerResource
		want int
	}{
		{"no policy", rs(w), 1},
		{"default deny", rs(w, deny("eduai", map[string]any{}, "Ingress", "Egress")), 0},
		{"a policy for one app only", rs(w, deny("eduai", map[string]any{"matchLabels": map[string]any{"app": "x"}}, "Ingress")), 1},
		{"egress only", rs(w, deny("eduai", map[string]any{}, "Egress")), 1},
		{"in another namespace", rs(w, deny("other", map[string]any{}, "Ingress")), 1},
		{"policy not known yet", rs(w, res(typeNetworkPolicy, "p", map[string]any{"metadata": map[string]any{"namespace": "eduai"},
			"spec": unknown})), 0},
		{"two workloads, one finding", rs(w, workloadRes(typeRollout, 3, goodContainer())), 1},
		// Issue #20: one finding per cluster's namespace; the DR cluster's policy does not cover the primary's.
		{"default deny in the other cluster only", clusters(w, "k8s", w, "dr-k8s", deny("eduai", map[string]any{}, "Ingress"), "dr-k8s"), 1},
		{"no default deny in either cluster", clusters(w, "k8s", w, "dr-k8s"), 2},
	}
	for _, c := range cases {
		if got := NetworkPolicyFindings(c.rs); len(got) != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}
