package service

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/antonmedv/expr"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
)

// Issue #19, item 1: the canary's analysis is proven with Prometheus' own
// engine on series labelled as Istio's sidecars label them, and its
// conditions with the expression library and the result shapes Argo
// Rollouts v1.9.1 uses (metricproviders/prometheus processResponse: a vector
// becomes a []float64, empty when the query matched nothing;
// utils/evaluate EvaluateResult: failure wins, success alone passes, neither
// is inconclusive, an evaluation error is an Error measurement;
// github.com/antonmedv/expr v1.15.5, its go.mod's pin).

// Argo's measurement phases.
const (
	successful   = "Successful"
	failed       = "Failed"
	inconclusive = "Inconclusive"
	errored      = "Error"
)

// argoEvaluate is EvaluateResult's decision for a metric with both conditions.
func argoEvaluate(t *testing.T, result any, success, failure string) string {
	t.Helper()
	eval := func(cond string) (bool, error) {
		env := map[string]any{"result": result, "isNaN": math.IsNaN, "isInf": func(f float64) bool { return math.IsInf(f, 0) }}
		program, err := expr.Compile(cond, expr.Env(env))
		if err != nil {
			return false, err
		}
		out, err := expr.Run(program, env)
		if err != nil {
			return false, err
		}
		b, ok := out.(bool)
		if !ok {
			return false, fmt.Errorf("expected bool, but got %T", out)
		}
		return b, nil
	}
	ok, err := eval(success)
	if err != nil {
		return errored
	}
	bad, err := eval(failure)
	if err != nil {
		return errored
	}
	switch {
	case bad:
		return failed
	case ok:
		return successful
	}
	return inconclusive
}

// canaryArgs are the values the Rollout passes the template.
var canaryArgs = map[string]string{argNamespace: "eduai", argCanaryService: "content-service-canary",
	argStableService: "content-service-stable"}

// substitute resolves {{args.x}} as Argo Rollouts does before it sends the query.
func substitute(q string, args map[string]string) string {
	for k, v := range args {
		q = strings.ReplaceAll(q, "{{args."+k+"}}", v)
	}
	return q
}

// istioLabels are a sidecar's labels on a request (Istio, "Standard Metrics").
func istioLabels(reporter, service, code string) string {
	return fmt.Sprintf(`reporter=%q, source_workload="istio-ingress", source_workload_namespace="istio-ingress", `+
		`destination_workload="content-service", destination_workload_namespace="eduai", destination_service=%q, `+
		`destination_service_name=%q, destination_service_namespace="eduai", request_protocol="http", response_code=%q, `+
		`connection_security_policy="unknown"`, reporter, service+".eduai.svc.cluster.local", service, code)
}

// traffic is a Service's requests for 10 minutes: perMinute a minute, errors of them 5xx
// (no 5xx series at all when errors is 0), each taking ms milliseconds, as
// reported by reporter. perMinute 0 writes no series.
func traffic(reporter, service string, perMinute, errors, ms float64) string {
	if perMinute == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "istio_requests_total{%s} 0+%gx10\n", istioLabels(reporter, service, "200"), perMinute-errors)
	if errors > 0 {
		fmt.Fprintf(&b, "istio_requests_total{%s} 0+%gx10\n", istioLabels(reporter, service, "503"), errors)
	}
	// Istio's default buckets, from 25 ms.
	for _, le := range []string{"25", "50", "100", "250", "500", "1000", "2500", "5000", "+Inf"} {
		per := perMinute
		if v, err := parseLE(le); err == nil && ms > v {
			per = 0
		}
		fmt.Fprintf(&b, "istio_request_duration_milliseconds_bucket{%s, le=%q} 0+%gx10\n",
			istioLabels(reporter, service, "200"), le, per)
	}
	return b.String()
}

func parseLE(le string) (float64, error) {
	if le == "+Inf" {
		return math.Inf(1), nil
	}
	var v float64
	_, err := fmt.Sscan(le, &v)
	return v, err
}

// measure runs every metric of the canary's template on the series at
// minute 10 and returns each one's phase and value.
func measure(t *testing.T, series string) (map[string]string, map[string][]float64) {
	t.Helper()
	at := AnalysisTemplateFor(baseArgs(Canary))
	return measureMetrics(t, series, at.Spec.(AnalysisTemplateSpec).Metrics, canaryArgs)
}

func measureMetrics(t *testing.T, series string, metrics []Metric, args map[string]string) (map[string]string, map[string][]float64) {
	t.Helper()
	storage := promqltest.LoadedStorage(t, "load 1m\n"+series)
	engine := promqltest.NewTestEngineWithOpts(t, promql.EngineOpts{MaxSamples: 1_000_000, Timeout: time.Minute})
	phases, values := map[string]string{}, map[string][]float64{}
	for _, metric := range metrics {
		q := substitute(metric.Provider.Prometheus.Query, args)
		query, err := engine.NewInstantQuery(context.Background(), storage, nil, q, time.Unix(0, 0).Add(10*time.Minute))
		if err != nil {
			t.Fatalf("%s: %v\n%s", metric.Name, err, q)
		}
		res := query.Exec(context.Background())
		if res.Err != nil {
			t.Fatalf("%s: %v", metric.Name, res.Err)
		}
		vec, err := res.Vector()
		if err != nil {
			t.Fatalf("%s returns %s, not a vector", metric.Name, res.Value.Type())
		}
		floats := []float64{}
		for _, s := range vec {
			floats = append(floats, s.F)
		}
		values[metric.Name] = floats
		phases[metric.Name] = argoEvaluate(t, floats, metric.SuccessCondition, metric.FailureCondition)
		query.Close()
	}
	return phases, values
}

func TestCanaryAnalysisOnIstioTelemetry(t *testing.T) {
	const canary, stable = "content-service-canary", "content-service-stable"
	cases := []struct {
		name   string
		series string
		want   map[string]string
	}{
		{"healthy canary against a stable with a few errors",
			traffic("source", canary, 60, 0, 40) + traffic("source", stable, 1140, 2, 40),
			map[string]string{"error-rate-increase": successful, "error-rate": successful, "latency-ratio": successful}},
		// (canary - stable) or vector(0) was 0 here: the stable side had no 5xx series.
		{"failing canary, stable without any 5xx series",
			traffic("source", canary, 100, 3, 40) + traffic("source", stable, 1900, 0, 40),
			map[string]string{"error-rate-increase": failed, "error-rate": failed, "latency-ratio": successful}},
		{"slow canary",
			traffic("source", canary, 60, 0, 800) + traffic("source", stable, 1140, 0, 40),
			map[string]string{"error-rate-increase": successful, "error-rate": successful, "latency-ratio": failed}},
		{"no canary requests: nothing to judge",
			traffic("source", stable, 1140, 1, 40),
			map[string]string{"error-rate-increase": inconclusive, "error-rate": inconclusive, "latency-ratio": inconclusive}},
		{"canary series without requests in the window",
			strings.ReplaceAll(traffic("source", canary, 60, 0, 40), "0+60x10", "0+60x5 300x5") + traffic("source", stable, 1140, 0, 40),
			map[string]string{"error-rate-increase": inconclusive, "error-rate": inconclusive, "latency-ratio": inconclusive}},
		{"no stable requests: the canary's whole error share is the increase, latency has no baseline",
			traffic("source", canary, 200, 1, 40),
			map[string]string{"error-rate-increase": inconclusive, "error-rate": successful, "latency-ratio": inconclusive}},
		// The destination's own reports of the same requests are not counted twice, nor its 5xx.
		{"only the source proxies' reports count",
			traffic("source", canary, 60, 0, 40) + traffic("source", stable, 1140, 0, 40) +
				traffic("destination", canary, 60, 30, 2000),
			map[string]string{"error-rate-increase": successful, "error-rate": successful, "latency-ratio": successful}},
		// The application's own metrics (unreachable under STRICT mTLS) play no part.
		{"application metrics alone: nothing to judge",
			`http_requests_total{service="content-service", status="500"} 0+60x10` + "\n",
			map[string]string{"error-rate-increase": inconclusive, "error-rate": inconclusive, "latency-ratio": inconclusive}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, values := measure(t, c.series)
			for name, want := range c.want {
				if got[name] != want {
					t.Errorf("%s: %s (result %v), want %s", name, got[name], values[name], want)
				}
			}
		})
	}
}

// The values themselves: the increase subtracts the stable share, defaults
// apply to an absent 5xx series only, and the ratio divides the p95s.
func TestCanaryAnalysisValues(t *testing.T) {
	const canary, stable = "content-service-canary", "content-service-stable"
	_, v := measure(t, traffic("source", canary, 100, 2, 40)+traffic("source", stable, 1000, 5, 200))
	near := func(got []float64, want float64) bool { return len(got) == 1 && math.Abs(got[0]-want) < 1e-9 }
	if !near(v["error-rate"], 0.02) || !near(v["error-rate-increase"], 0.02-0.005) {
		t.Errorf("error rate %v, increase %v", v["error-rate"], v["error-rate-increase"])
	}
	// p95 in the (25, 50] bucket against (100, 250]: 48.75 / 242.5.
	if !near(v["latency-ratio"], 48.75/242.5) {
		t.Errorf("latency ratio %v", v["latency-ratio"])
	}
}

// Why the conditions guard the index: Argo passes an empty vector as an
// empty list, and result[0] of it is an error (an Error measurement, and
// after consecutiveErrorLimit an aborted rollout), not an inconclusive one.
func TestAnalysisConditionsOnResultShapes(t *testing.T) {
	if got := argoEvaluate(t, []float64{}, "result[0] < 0.001", "result[0] >= 0.01"); got != errored {
		t.Fatalf("an unguarded index on an empty result is %s; the guard below would prove nothing", got)
	}
	conds := AnalysisConditions()
	for _, name := range analysisMetrics {
		c := conds[name]
		shapes := map[string]any{"empty": []float64{}, "NaN": []float64{math.NaN()}}
		for shape, result := range shapes {
			if got := argoEvaluate(t, result, c[0], c[1]); got != inconclusive {
				t.Errorf("%s on a %s result: %s, want %s", name, shape, got, inconclusive)
			}
		}
	}
	// Each threshold on both sides.
	for _, tc := range []struct {
		metric string
		value  float64
		want   string
	}{
		{"error-rate", FailErrorRate, successful}, {"error-rate", FailErrorRate + 1e-6, failed},
		{"error-rate-increase", MaxErrorRateIncrease - 1e-6, successful}, {"error-rate-increase", MaxErrorRateIncrease, inconclusive},
		{"error-rate-increase", FailErrorRate, failed}, {"error-rate-increase", -0.5, successful},
		{"latency-ratio", 1.09, successful}, {"latency-ratio", 1.5, inconclusive}, {"latency-ratio", 2.01, failed},
	} {
		c := conds[tc.metric]
		if got := argoEvaluate(t, []float64{tc.value}, c[0], c[1]); got != tc.want {
			t.Errorf("%s at %g: %s, want %s", tc.metric, tc.value, got, tc.want)
		}
	}
}

// Every query is valid PromQL once Argo has substituted the args, and reads Istio's metrics only.
func TestAnalysisQueriesParse(t *testing.T) {
	for name, q := range AnalysisQueries() {
		q = substitute(q, canaryArgs)
		if strings.Contains(q, "{{") {
			t.Errorf("%s: an argument the Rollout does not pass: %s", name, q)
		}
		e, err := parser.NewParser(parser.Options{}).ParseExpr(q)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, sel := range parser.ExtractSelectors(e) {
			for _, m := range sel {
				if m.Name == "__name__" && !strings.HasPrefix(m.Value, "istio_") {
					t.Errorf("%s reads %s", name, m.Value)
				}
			}
		}
	}
}

// The blue-green run measures the color that took the traffic, by its
// workload (Deployment <name>-<color>), and nothing else.
func TestBlueGreenAnalysisOnIstioTelemetry(t *testing.T) {
	run := BlueGreenAnalysisRunFor(baseArgs(BlueGreen), string(Green), "v1.3.0")
	spec := run.Spec.(AnalysisRunSpec)
	args := map[string]string{}
	for _, a := range spec.Args {
		args[a.Name] = a.Value
	}
	if args[argWorkload] != "content-service-green" || run.Metadata.Name != "content-service-green-v1-3-0" ||
		spec.Metrics[0].Count != BlueGreenChecks {
		t.Fatalf("run %s args %v", run.Metadata.Name, args)
	}
	color := func(c Color, perMinute, errors float64) string {
		return strings.ReplaceAll(traffic("source", "content-service", perMinute, errors, 40),
			`destination_workload="content-service"`, `destination_workload="content-service-`+string(c)+`"`)
	}
	for _, c := range []struct {
		name, series, want string
	}{
		{"healthy green", color(Green, 600, 1), successful},
		{"failing green", color(Green, 600, 30), failed},
		{"the old color's errors are not the new one's", color(Green, 600, 0) + color(Blue, 60, 30), successful},
		{"no requests to green", color(Blue, 600, 0), inconclusive},
	} {
		got, values := measureMetrics(t, c.series, spec.Metrics, args)
		if got["error-rate"] != c.want {
			t.Errorf("%s: %s (result %v), want %s", c.name, got["error-rate"], values["error-rate"], c.want)
		}
	}
}
