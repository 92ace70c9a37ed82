package rules

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

func TestHelmPinned(t *testing.T) {
	for _, c := range []struct {
		version any
		want    bool
	}{{"1.14.0", false}, {nil, true}, {"", true}, {"latest", true}, {unknown, false},
		// Issue #20: ranges are not pins; a pre-release is an exact version.
		{">=9.0.0", true}, {"2.x", true}, {"~1.2", true}, {"^1.2.3", true}, {"1.2", true}, {"v1.14.0", false}, {"1.0.0-rc.1", false}} {
		got := runResourceRule(checkHelmPinned, res(typeHelmRelease, "r", map[string]any{"chart": "x", "version": c.version}), nil)
		if (len(got) > 0) != c.want || (c.want && !strings.Contains(got[0], "pinned chart version")) {
			t.Errorf("version %v: %v", c.version, got)
		}
	}
}

func TestMeshMTLS(t *testing.T) {
	pa := func(ns string, mode any) map[string]any {
		return map[string]any{"metadata": map[string]any{"name": "default", "namespace": ns},
			"spec": map[string]any{"mtls": map[string]any{"mode": mode}}}
	}
	cases := []struct {
		props map[string]any
		want  string
	}{
		{pa("istio-system", "STRICT"), ""},
		{pa("istio-system", "PERMISSIVE"), `"PERMISSIVE"`},
		{pa("istio-system", unknown), ""},
		// Issue #20: a namespace, workload or port policy that lowers the mode.
		{pa("eduai", "DISABLE"), "namespace eduai"},
		{pa("eduai", "PERMISSIVE"), "namespace eduai"},
		{pa("eduai", "UNSET"), ""},
		{pa("eduai", "STRICT"), ""},
		{map[string]any{"metadata": map[string]any{"name": "db", "namespace": "eduai"},
			"spec": map[string]any{"portLevelMtls": map[string]any{"5432": map[string]any{"mode": "DISABLE"}}}}, "port 5432 DISABLE"},
	}
	for _, c := range cases {
		got := runResourceRule(checkMeshMTLS, res(typePeerAuthentication, "mtls", c.props), nil)
		if (c.want == "") != (len(got) == 0) || (c.want != "" && !strings.Contains(got[0], c.want)) {
			t.Errorf("%v: %v", c.props, got)
		}
	}
}

func release(chart string, values any) policyx.AnalyzerResource {
	return res(typeHelmRelease, "r", map[string]any{"chart": chart, "version": "1.0.0", "values": values})
}

func TestPrometheusStorage(t *testing.T) {
	volume := map[string]any{"volumeClaimTemplate": map[string]any{"spec": map[string]any{"storageClassName": "gp3"}}}
	cases := []struct {
		name string
		r    policyx.AnalyzerResource
		want string
	}{
		{"kube-prometheus-stack with a volume", release("kube-prometheus-stack",
			map[string]any{"prometheus": map[string]any{"prometheusSpec": map[string]any{"storageSpec": volume}}}), ""},
		{"kube-prometheus-stack on emptyDir", release("kube-prometheus-stack",
			map[string]any{"prometheus": map[string]any{"prometheusSpec": map[string]any{"retention": "15d"}}}), "without a persistent volume"},
		{"no values at all", release("kube-prometheus-stack", nil), "without a persistent volume"},
		{"Prometheus turned off", release("kube-prometheus-stack",
			map[string]any{"prometheus": map[string]any{"enabled": false}}), ""},
		{"values not known yet", release("kube-prometheus-stack", unknown), ""},
		{"storage not known yet", release("kube-prometheus-stack",
			map[string]any{"prometheus": map[string]any{"prometheusSpec": unknown}}), ""},
		{"prometheus chart, volume off", release("prometheus",
			map[string]any{"server": map[string]any{"persistentVolume": map[string]any{"enabled": false}}}), "persistent volume off"},
		{"prometheus chart, default volume", release("prometheus", map[string]any{}), ""},
		{"Prometheus resource without storage", res(typePrometheusCR, "p", map[string]any{"spec": map[string]any{"replicas": 2}}), "no spec.storage"},
		{"Prometheus resource with storage", res(typePrometheusCR, "p", map[string]any{"spec": map[string]any{"storage": volume}}), ""},
		{"another chart", release("jaeger", map[string]any{}), ""},
	}
	for _, c := range cases {
		got := runResourceRule(checkPrometheusStorage, c.r, nil)
		if (c.want == "") != (len(got) == 0) || (c.want != "" && !strings.Contains(got[0], c.want)) {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}

func TestGrafanaAdminPassword(t *testing.T) {
	fromSecret := map[string]any{"admin": map[string]any{"existingSecret": "grafana-admin"}}
	secretPassword := property.New("generated").WithSecret(true)
	cases := []struct {
		name string
		r    policyx.AnalyzerResource
		want string
	}{
		{"existing secret", release("kube-prometheus-stack", map[string]any{"grafana": fromSecret}), ""},
		{"plain password", release("kube-prometheus-stack",
			map[string]any{"grafana": map[string]any{"adminPassword": "admin123"}}), "in plain text"},
		{"secret password", release("kube-prometheus-stack",
			map[string]any{"grafana": map[string]any{"adminPassword": secretPassword}}), ""},
		{"chart default", release("kube-prometheus-stack", map[string]any{"grafana": map[string]any{}}), "published default"},
		{"no grafana values", release("kube-prometheus-stack", map[string]any{}), "published default"},
		{"grafana off", release("kube-prometheus-stack", map[string]any{"grafana": map[string]any{"enabled": false}}), ""},
		{"password not known yet", release("kube-prometheus-stack",
			map[string]any{"grafana": map[string]any{"adminPassword": unknown}}), ""},
		{"values not known yet", release("kube-prometheus-stack", unknown), ""},
		{"grafana chart, plain password", release("grafana", map[string]any{"adminPassword": "admin"}), "in plain text"},
		{"grafana chart, generated by the chart", release("grafana", map[string]any{}), ""},
		{"another chart", release("jaeger", map[string]any{"adminPassword": "x"}), ""},
	}
	for _, c := range cases {
		got := runResourceRule(checkGrafanaAdminPassword, c.r, nil)
		if (c.want == "") != (len(got) == 0) || (c.want != "" && !strings.Contains(got[0], c.want)) {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}
