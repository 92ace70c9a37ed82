package rules

import (
	"strings"
	"testing"
)

func TestHelmPinned(t *testing.T) {
	for _, c := range []struct {
		version any
		want    bool
	}{{"1.14.0", false}, {nil, true}, {"", true}, {"latest", true}, {unknown, false}} {
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
		{pa("eduai", "PERMISSIVE"), ""}, // a namespace override is not the mesh-wide default
		{pa("istio-system", unknown), ""},
	}
	for _, c := range cases {
		got := runResourceRule(checkMeshMTLS, res(typePeerAuthentication, "mtls", c.props), nil)
		if (c.want == "") != (len(got) == 0) || (c.want != "" && !strings.Contains(got[0], c.want)) {
			t.Errorf("%v: %v", c.props, got)
		}
	}
}
