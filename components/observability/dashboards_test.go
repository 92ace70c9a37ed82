package observability

import (
	"encoding/json"
	"strings"
	"testing"
)

// Every dashboard is JSON Grafana loads: the fields it needs, panels on the
// 24-column grid without overlap, unique panel ids, and queries that are
// valid PromQL against the Prometheus data source variable.
func TestDashboardsAreValid(t *testing.T) {
	want := map[string]bool{"eduai-deployment-status": true, "eduai-service-health": true,
		"eduai-errors-latency": true, "eduai-resources": true}
	for _, d := range Dashboards("eduai") {
		delete(want, d.UID)
		var back Dashboard
		dec := json.NewDecoder(strings.NewReader(d.JSON()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&back); err != nil {
			t.Fatalf("%s: %v", d.UID, err)
		}
		var generic map[string]any
		if err := json.Unmarshal([]byte(d.JSON()), &generic); err != nil {
			t.Fatalf("%s: %v", d.UID, err)
		}
		for _, key := range []string{"uid", "title", "panels", "schemaVersion", "templating", "time"} {
			if _, ok := generic[key]; !ok {
				t.Errorf("%s lacks %q", d.UID, key)
			}
		}
		if len(back.UID) > 40 || back.Title == "" || len(back.Panels) == 0 {
			t.Errorf("%s: uid/title/panels %q %q %d", d.UID, back.UID, back.Title, len(back.Panels))
		}
		if back.Templating.List[0].Type != "datasource" || back.Templating.List[0].Query != "prometheus" {
			t.Errorf("%s: datasource variable %v", d.UID, back.Templating.List)
		}
		ids := map[int]bool{}
		cells := map[[2]int]int{}
		for _, p := range back.Panels {
			if ids[p.ID] {
				t.Errorf("%s: panel id %d twice", d.UID, p.ID)
			}
			ids[p.ID] = true
			g := p.GridPos
			if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
				t.Errorf("%s/%s: grid %v", d.UID, p.Title, g)
			}
			for x := g.X; x < g.X+g.W; x++ {
				for y := g.Y; y < g.Y+g.H; y++ {
					if other, taken := cells[[2]int{x, y}]; taken {
						t.Errorf("%s: panels %d and %d overlap", d.UID, other, p.ID)
					}
					cells[[2]int{x, y}] = p.ID
				}
			}
			if len(p.Targets) == 0 || p.Datasource.UID != "${datasource}" {
				t.Errorf("%s/%s: no query or no datasource", d.UID, p.Title)
			}
			for _, q := range p.Targets {
				if _, err := promParser.ParseExpr(q.Expr); err != nil {
					t.Errorf("%s/%s: %q: %v", d.UID, p.Title, q.Expr, err)
				}
			}
		}
	}
	if len(want) != 0 {
		t.Errorf("missing dashboards %v", want)
	}
}
