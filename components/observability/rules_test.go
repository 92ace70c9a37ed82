package observability

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	promlabels "github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/rules"
	"sigs.k8s.io/yaml"
)

// promParser parses PromQL as a default Prometheus server does (no experimental functions).
var promParser = parser.NewParser(parser.Options{})

// checkPrometheusRule validates a rendered PrometheusRule the way the API
// server (its CRD schema: unknown fields, types) and Prometheus (rule file
// format, PromQL, label names, annotation templates) would.
func checkPrometheusRule(t *testing.T, obj map[string]any) []string {
	t.Helper()
	problems := crds(t)["PrometheusRule"].Validate(obj)
	data, err := yaml.Marshal(obj["spec"])
	if err != nil {
		t.Fatal(err)
	}
	_, errs := rulefmt.Parse(data, false, model.UTF8Validation, promParser, slog.New(slog.DiscardHandler))
	for _, e := range errs {
		problems = append(problems, e.Error())
	}
	return problems
}

func TestPrometheusRuleIsValid(t *testing.T) {
	obj, err := PrometheusRuleFor("monitoring", "eduai").Untyped()
	if err != nil {
		t.Fatal(err)
	}
	if p := checkPrometheusRule(t, obj); len(p) != 0 {
		t.Fatalf("PrometheusRule rejected: %v", p)
	}
	group := obj["spec"].(map[string]any)["groups"].([]any)[0].(map[string]any)
	if group["name"] != "deployment.rules" || len(group["rules"].([]any)) != 8 {
		t.Errorf("group %v", group)
	}
}

// A misspelt field and an invalid PromQL expression are both rejected.
func TestPrometheusRuleCheckCatchesMistakes(t *testing.T) {
	misspelt, _ := PrometheusRuleFor("monitoring", "eduai").Untyped()
	r := misspelt["spec"].(map[string]any)["groups"].([]any)[0].(map[string]any)["rules"].([]any)[0].(map[string]any)
	r["expresion"] = r["expr"]
	delete(r, "expr")
	if p := checkPrometheusRule(t, misspelt); !strings.Contains(strings.Join(p, "\n"), "expresion") {
		t.Errorf("misspelt field accepted: %v", p)
	}

	badQuery, _ := PrometheusRuleFor("monitoring", "eduai").Untyped()
	r = badQuery["spec"].(map[string]any)["groups"].([]any)[0].(map[string]any)["rules"].([]any)[0].(map[string]any)
	r["expr"] = `sum by (service) (rate(http_requests_total{status=~"5.."}[5m]) > 0.05`
	p := checkPrometheusRule(t, badQuery)
	if len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), "parse error") {
		t.Errorf("invalid PromQL accepted: %v", p)
	}

	badTemplate, _ := PrometheusRuleFor("monitoring", "eduai").Untyped()
	r = badTemplate["spec"].(map[string]any)["groups"].([]any)[0].(map[string]any)["rules"].([]any)[0].(map[string]any)
	r["annotations"].(map[string]any)["description"] = "{{ $value | humanizePercentage "
	if p := checkPrometheusRule(t, badTemplate); len(p) == 0 {
		t.Error("broken annotation template accepted")
	}
}

func rule(t *testing.T, name string) monitoringv1.Rule {
	t.Helper()
	for _, r := range DeploymentRules("eduai") {
		if r.Alert == name {
			return r
		}
	}
	t.Fatalf("no alert %s", name)
	return monitoringv1.Rule{}
}

// firing evaluates the alert every minute from `from` to `to` on the
// series in load (promqltest's load syntax, samples a minute apart from
// time 0), as Prometheus's rule manager would, and tells whether it fires at
// the end.
func firing(t *testing.T, alert, load string, from, to time.Duration) bool {
	t.Helper()
	r := rule(t, alert)
	expr, err := promParser.ParseExpr(r.Expr.String())
	if err != nil {
		t.Fatalf("%s: %v", alert, err)
	}
	hold, err := model.ParseDuration(string(*r.For))
	if err != nil {
		t.Fatal(err)
	}
	storage := promqltest.LoadedStorage(t, "load 1m\n"+load)
	engine := promqltest.NewTestEngineWithOpts(t, promql.EngineOpts{MaxSamples: 1_000_000, Timeout: time.Minute,
		Parser: promParser})
	ar := rules.NewAlertingRule(alert, expr, time.Duration(hold), 0, promlabels.FromMap(r.Labels),
		promlabels.FromMap(r.Annotations), promlabels.EmptyLabels(), "", true, slog.New(slog.DiscardHandler))
	query := rules.EngineQueryFunc(engine, storage)
	for ts := from; ts <= to; ts += time.Minute {
		if _, err := ar.Eval(context.Background(), 0, time.Unix(0, 0).Add(ts), query, nil, 0); err != nil {
			t.Fatalf("%s at %v: %v", alert, ts, err)
		}
	}
	for _, a := range ar.ActiveAlerts() {
		if a.State == rules.StateFiring {
			return true
		}
	}
	return false
}

// requests is a service's request counters: perMinute requests a minute,
// errorPercent of them 5xx, for the given minutes.
func requests(service string, perMinute, errorPercent float64, minutes int) string {
	errs := perMinute * errorPercent / 100
	return fmt.Sprintf("http_requests_total{service=%q,status=\"200\"} 0+%gx%d\n"+
		"http_requests_total{service=%q,status=\"500\"} 0+%gx%d\n", service, perMinute-errs, minutes, service, errs, minutes)
}

var buckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5}

// latencies is a service's duration histogram: 100 requests a minute, all
// taking `before` seconds for the first minutes, then `after` seconds.
func latencies(service string, before float64, beforeMinutes int, after float64, afterMinutes int) string {
	var b strings.Builder
	les := append(append([]float64(nil), buckets...), -1)
	for _, le := range les {
		label := fmt.Sprint(le)
		if le < 0 {
			label = "+Inf"
		}
		inc := func(v float64) float64 {
			if le < 0 || v <= le {
				return 100
			}
			return 0
		}
		a, c := inc(before), inc(after)
		last := a * float64(beforeMinutes)
		fmt.Fprintf(&b, "http_request_duration_seconds_bucket{service=%q,le=%q} 0+%gx%d %g+%gx%d\n",
			service, label, a, beforeMinutes, last+c, c, afterMinutes)
	}
	return b.String()
}

func TestHighErrorRateAfterDeployment(t *testing.T) {
	// The seed's trigger: more than 5 % 5xx for 2 minutes.
	if !firing(t, AlertHighErrorRate, requests("content-service", 1000, 6, 30), 10*time.Minute, 20*time.Minute) {
		t.Error("silent at 6 % errors")
	}
	if firing(t, AlertHighErrorRate, requests("content-service", 1000, 4, 30), 10*time.Minute, 20*time.Minute) {
		t.Error("fires at 4 % errors")
	}
	// The ratio is per service: a healthy busy service does not hide a failing one, nor the reverse.
	mixed := requests("content-service", 10000, 0, 30) + requests("auth-service", 100, 6, 30)
	if !firing(t, AlertHighErrorRate, mixed, 10*time.Minute, 20*time.Minute) {
		t.Error("a failing small service is hidden by a healthy big one")
	}
	// 6 % for one minute only is not two minutes.
	if firing(t, AlertHighErrorRate, requests("content-service", 1000, 6, 30), 10*time.Minute, 10*time.Minute+30*time.Second) {
		t.Error("fires before its 2 m hold")
	}
}

func TestElevatedErrorRate(t *testing.T) {
	if !firing(t, AlertElevatedErrorRate, requests("content-service", 1000, 2, 30), 10*time.Minute, 20*time.Minute) {
		t.Error("silent at 2 % errors")
	}
	if firing(t, AlertElevatedErrorRate, requests("content-service", 1000, 0.5, 30), 10*time.Minute, 20*time.Minute) {
		t.Error("fires at 0.5 % errors")
	}
	if firing(t, AlertHighErrorRate, requests("content-service", 1000, 2, 30), 10*time.Minute, 20*time.Minute) {
		t.Error("2 % errors fired the critical alert")
	}
}

func TestLatencyAlerts(t *testing.T) {
	// 130 minutes at 50 ms (p95 0.095 s), then 20 minutes at another latency.
	window := func(after float64) string { return latencies("content-service", 0.05, 130, after, 20) }
	from, to := 136*time.Minute, 148*time.Minute
	for _, c := range []struct {
		after          float64
		critical, warn bool
	}{
		{0.05, false, false}, // unchanged
		{0.2, false, true},   // p95 0.2425 s: 2.5x the baseline
		{0.75, true, true},   // p95 0.975 s: 10x the baseline
	} {
		if got := firing(t, AlertResponseTimeDegradation, window(c.after), from, to); got != c.critical {
			t.Errorf("%s at %g s: firing %v, want %v", AlertResponseTimeDegradation, c.after, got, c.critical)
		}
		if got := firing(t, AlertPerformanceDegradation, window(c.after), from, to); got != c.warn {
			t.Errorf("%s at %g s: firing %v, want %v", AlertPerformanceDegradation, c.after, got, c.warn)
		}
	}
	// A new service has no baseline: no alert rather than a division by nothing.
	if firing(t, AlertResponseTimeDegradation, latencies("new-service", 0.75, 20, 0.75, 0), 10*time.Minute, 20*time.Minute) {
		t.Error("fires without a baseline")
	}
}

func TestDeploymentStateAlerts(t *testing.T) {
	dep := `{namespace="eduai",deployment="content-service"`
	cases := []struct {
		alert, load string
		want        bool
	}{
		{AlertDeploymentFailed, `kube_deployment_status_condition` + dep + `,condition="Progressing",status="false"} 0x10 1x30`, true},
		{AlertDeploymentFailed, `kube_deployment_status_condition` + dep + `,condition="Progressing",status="false"} 0x20`, false},
		{AlertDeploymentFailed, `kube_deployment_status_condition{namespace="other",deployment="x",condition="Progressing",status="false"} 1x20`, false},
		{AlertServiceUnavailable, `kube_deployment_status_replicas_available` + dep + `} 3x10 0x30
kube_deployment_spec_replicas` + dep + `} 3x45`, true},
		{AlertServiceUnavailable, `kube_deployment_status_replicas_available` + dep + `} 0x20
kube_deployment_spec_replicas` + dep + `} 0x20`, false}, // scaled to zero on purpose
		{AlertLongDeployment, `kube_deployment_status_replicas_updated` + dep + `} 1x30
kube_deployment_spec_replicas` + dep + `} 3x30`, true},
		{AlertLongDeployment, `kube_deployment_status_replicas_updated` + dep + `} 1x5 2x5 3x20
kube_deployment_spec_replicas` + dep + `} 3x30`, false},
	}
	for _, c := range cases {
		if got := firing(t, c.alert, c.load, 0, 30*time.Minute); got != c.want {
			t.Errorf("%s on\n%s\nfiring %v, want %v", c.alert, c.load, got, c.want)
		}
	}
}

func TestIncreasedResourceUsage(t *testing.T) {
	cpu := func(after float64) string {
		// 0.5 cores for 70 minutes, then `after` cores.
		return fmt.Sprintf(`container_cpu_usage_seconds_total{namespace="eduai",pod="content-1",container="app"} 0+30x70 %g+%gx40`,
			2100+after*60, after*60)
	}
	if !firing(t, AlertIncreasedResourceUsage, cpu(1), 70*time.Minute, 100*time.Minute) {
		t.Error("silent when CPU doubled")
	}
	if firing(t, AlertIncreasedResourceUsage, cpu(0.6), 70*time.Minute, 100*time.Minute) {
		t.Error("fires at 1.2x")
	}
}
