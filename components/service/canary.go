package service

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/eduai/infra/components/internal/k8sobj"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The seed's canary: 5 % for 5 minutes, 25 % for 10, 50 % for 15, 75 % for 10, then all.
var canarySteps = []struct {
	weight int
	pause  string
}{{5, "5m"}, {25, "10m"}, {50, "15m"}, {75, "10m"}}

// CanarySteps renders the seed's steps.
func CanarySteps() []CanaryStep {
	var steps []CanaryStep
	for _, s := range canarySteps {
		w := s.weight
		steps = append(steps, CanaryStep{SetWeight: &w}, CanaryStep{Pause: &PauseStep{Duration: s.pause}})
	}
	return steps
}

// The analysis' thresholds: the seed's validation criteria (pass) and
// rollback triggers (fail). Between them a measurement is inconclusive and
// the rollout pauses for a person to decide.
const (
	// MaxErrorRateIncrease: the canary's 5xx share may exceed the stable pods' by less than 0.1 %.
	MaxErrorRateIncrease = 0.001
	// FailErrorRate: a canary 5xx share above 1 % aborts.
	FailErrorRate = 0.01
	// MaxLatencyRatio: the canary's p95 may be at most 10 % above the stable p95.
	MaxLatencyRatio = 1.1
	// FailLatencyRatio: a canary p95 above 2x the stable p95 aborts.
	FailLatencyRatio = 2.0
)

// The analysis reads the mesh's own telemetry (issue #19): the sidecars'
// istio_requests_total and istio_request_duration_milliseconds histogram
// (Istio, "Standard Metrics"), which the observability stack's envoy-stats
// PodMonitor scrapes from every proxy on its own port, outside mTLS. The
// application's /metrics sits behind STRICT mTLS, where Prometheus (not in
// the mesh) cannot reach it, so nothing is read from it here.
//
// reporter="source" is the calling proxy (a caller's sidecar or the ingress
// gateway); it labels each request with the Service it was routed to. The
// Rollout splits traffic by host (the canary and the stable Service, Argo
// Rollouts "Istio: host-level traffic splitting"), so destination_service_name
// tells the canary's requests from the stable pods'. (The workload label
// cannot: Istio names every pod of a Rollout after the Rollout, istio/istio#49256.)
//
// Empty results are outcomes, chosen per metric and written into the
// conditions (Argo Rollouts passes a vector as a list of floats, and
// result[0] of an empty list is an error, which aborts the rollout after
// consecutiveErrorLimit):
//   - no requests to the canary in the window: every metric is
//     inconclusive (nothing to judge; past inconclusiveLimit the rollout
//     pauses for a person);
//   - requests but no 5xx series: an error share of 0 (the default is
//     applied to the 5xx operand alone, so a one-sided 5xx series still
//     counts);
//   - no stable requests: the stable error share is 0 (the increase is the
//     canary's whole share: the stricter reading) and the latency ratio is
//     inconclusive (no baseline);
//   - a histogram without observations (NaN): inconclusive.

// Analysis arguments: the namespace and the two Services traffic is split over.
const (
	argNamespace     = "namespace"
	argCanaryService = "canary-service"
	argStableService = "stable-service"
)

// analysisWindow is the rate window: four 30 s scrapes of the sidecars.
const analysisWindow = "2m"

// istioSelector picks the requests the source proxies routed to the Service named by arg.
func istioSelector(arg string) string {
	return `reporter="source", destination_service_namespace="{{args.` + argNamespace +
		`}}", destination_service_name="{{args.` + arg + `}}"`
}

func requestRate(sel, extra string) string {
	return `sum(rate(istio_requests_total{` + sel + extra + `}[` + analysisWindow + `]))`
}

// errorShare is the 5xx share of the requests: no 5xx series is 0, no requests is empty.
func errorShare(sel string) string {
	return "((" + requestRate(sel, `, response_code=~"5.."`) + ") or on() vector(0)) / (" +
		requestRate(sel, "") + " > 0)"
}

// p95 is the 95th percentile of the request durations (NaN without observations, empty without series).
func p95(sel string) string {
	return `histogram_quantile(0.95, sum by (le) (rate(istio_request_duration_milliseconds_bucket{` + sel +
		`}[` + analysisWindow + `])))`
}

// AnalysisQueries are the three measurements, by metric name.
func AnalysisQueries() map[string]string {
	canary, stable := istioSelector(argCanaryService), istioSelector(argStableService)
	return map[string]string{
		// The canary's error share above the stable pods' (stable without requests: 0).
		"error-rate-increase": errorShare(canary) + " - (" + errorShare(stable) + " or on() vector(0))",
		"error-rate":          errorShare(canary),
		"latency-ratio":       p95(canary) + " / " + p95(stable),
	}
}

// measured guards a condition: an empty result is neither success nor failure (inconclusive).
func measured(cond string) string { return "len(result) > 0 && " + cond }

// AnalysisConditions are each metric's successCondition and failureCondition
// (Argo Rollouts' expr language; between the two a measurement is inconclusive).
func AnalysisConditions() map[string][2]string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return map[string][2]string{
		"error-rate-increase": {measured("result[0] < " + f(MaxErrorRateIncrease)), measured("result[0] >= " + f(FailErrorRate))},
		"error-rate":          {measured("result[0] <= " + f(FailErrorRate)), measured("result[0] > " + f(FailErrorRate))},
		// NaN compares false both ways: inconclusive.
		"latency-ratio": {measured("result[0] < " + f(MaxLatencyRatio)), measured("result[0] > " + f(FailLatencyRatio))},
	}
}

// analysisMetrics are measured every minute, from one window after the analysis starts.
var analysisMetrics = []string{"error-rate-increase", "error-rate", "latency-ratio"}

// AnalysisTemplateFor measures the canary against the stable pods every minute.
func AnalysisTemplateFor(a *Args) Object {
	q, c := AnalysisQueries(), AnalysisConditions()
	var metrics []Metric
	for _, name := range analysisMetrics {
		metrics = append(metrics, Metric{Name: name, Interval: "1m", InitialDelay: analysisWindow,
			FailureLimit: 1, InconclusiveLimit: 2, SuccessCondition: c[name][0], FailureCondition: c[name][1],
			Provider: MetricProvider{Prometheus: PrometheusMetric{Address: a.PrometheusURL, Query: q[name]}}})
	}
	return Object{APIVersion: "argoproj.io/v1alpha1", Kind: "AnalysisTemplate",
		Metadata: Meta{Name: a.Name + "-analysis", Namespace: a.Namespace, Labels: crLabels(a.Name)},
		Spec: AnalysisTemplateSpec{
			Args:    []AnalysisArg{{Name: argNamespace}, {Name: argCanaryService}, {Name: argStableService}},
			Metrics: metrics,
		}}
}

// Blue-green analysis: once a switch has moved the traffic, the color now
// serving is measured on the same telemetry, by its workload (each color is
// a Deployment, <name>-<color>, which Istio reports as destination_workload).
// The other color serves nothing then, so there is no baseline: the
// measure is the error rate against the seed's 1 % rollback trigger.
const argWorkload = "workload"

// BlueGreenChecks are the measurements of the color that took the traffic.
const BlueGreenChecks = 5

// blueGreenSelector picks the requests the source proxies sent to the workload.
func blueGreenSelector() string {
	return `reporter="source", destination_workload_namespace="{{args.` + argNamespace +
		`}}", destination_workload="{{args.` + argWorkload + `}}"`
}

// BlueGreenAnalysisRunFor measures the serving color after a switch, five
// times a minute apart after one rate window; Pulumi waits for it to
// succeed (AnalysisRunWaitFor), so a bad color fails the update and the
// runbook's answer is to flip activeColor back.
func BlueGreenAnalysisRunFor(a *Args, color, tag string) Object {
	c := AnalysisConditions()["error-rate"]
	return Object{APIVersion: "argoproj.io/v1alpha1", Kind: "AnalysisRun",
		Metadata: Meta{Name: jobName(a.Name+"-"+color, tag), Namespace: a.Namespace, Labels: crLabels(a.Name)},
		Spec: AnalysisRunSpec{
			Args: []AnalysisArg{{Name: argNamespace, Value: a.Namespace}, {Name: argWorkload, Value: a.Name + "-" + color}},
			Metrics: []Metric{{Name: "error-rate", Interval: "1m", InitialDelay: analysisWindow, Count: BlueGreenChecks,
				FailureLimit: 1, InconclusiveLimit: 2, SuccessCondition: c[0], FailureCondition: c[1],
				Provider: MetricProvider{Prometheus: PrometheusMetric{Address: a.PrometheusURL, Query: errorShare(blueGreenSelector())}}}},
		}}
}

// AnalysisRunWaitFor: the run is ready when it succeeded (Failed, Error
// and Inconclusive never do, and the update fails at AnalysisRunTimeout).
const AnalysisRunWaitFor = `jsonpath={.status.phase}=Successful`

// AnalysisRunTimeout covers the run: one window, the checks, and margin.
func AnalysisRunTimeout() time.Duration {
	window, _ := time.ParseDuration(analysisWindow)
	return window + BlueGreenChecks*time.Minute + 3*time.Minute
}

// analysisStartingStep is the index of the first pause (after setWeight 5):
// the analysis runs through every stage, the 5 % one included.
const analysisStartingStep = 1

// RolloutFor is the canary Rollout over the service's Deployment.
func RolloutFor(a *Args, replicas *int) Object {
	c := CanaryStrategy{MaxSurge: "25%", MaxUnavailable: 0, Steps: CanarySteps(),
		CanaryService: a.Name + "-canary", StableService: a.Name + "-stable"}
	if a.Follows {
		// A standby's copy: the version passed the active region's steps and analysis already.
		c.Steps = []CanaryStep{}
	}
	if a.Monitoring && !a.NoAnalysis && !a.Follows {
		c.Analysis = &RolloutAnalysis{Templates: []TemplateRef{{TemplateName: a.Name + "-analysis"}},
			StartingStep: analysisStartingStep,
			Args: []AnalysisArg{{Name: argNamespace, Value: a.Namespace},
				{Name: argCanaryService, Value: c.CanaryService}, {Name: argStableService, Value: c.StableService}}}
	}
	if a.Mesh {
		// Host-level splitting: Argo Rollouts weighs the routes' two destinations, the stable and the canary Service.
		c.TrafficRouting = &TrafficRouting{Istio: IstioRouting{
			VirtualService: VirtualServiceRef{Name: a.Name, Routes: canaryRoutes(a)}}}
	}
	return Object{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout",
		Metadata: Meta{Name: a.Name, Namespace: a.Namespace, Labels: crLabels(a.Name)},
		Spec: RolloutSpec{Replicas: replicas, RevisionHistoryLimit: 10, ProgressDeadlineSeconds: int(progressDeadline / time.Second),
			Selector:    LabelSelector{MatchLabels: map[string]string{"app": a.Name}},
			WorkloadRef: WorkloadRef{APIVersion: "apps/v1", Kind: "Deployment", Name: a.Name, ScaleDown: "never"},
			Strategy:    RolloutStrategy{Canary: c}}}
}

// canaryRoutes are the VirtualService routes Argo Rollouts weighs.
func canaryRoutes(a *Args) []string {
	if a.Ingress != nil && a.Ingress.Health {
		return []string{"public", "health", "primary"}
	}
	if a.Ingress != nil {
		return []string{"public", "primary"}
	}
	return []string{"primary"}
}

func (b *builder) canary(deps []pulumi.Resource) error {
	a := b.args
	// The Deployment only carries the pod template; the Rollout runs the pods.
	dep, err := b.deployment(b.name, a.Name, nil, a.Tag, pulumi.IntPtr(0), deps)
	if err != nil {
		return err
	}
	// Argo Rollouts adds its pod-template hash to these selectors; the program leaves them alone.
	ownedSelector := pulumi.IgnoreChanges([]string{"spec.selector"})
	metrics := map[string]string{metricsLabel: "true"}
	if err := b.service(b.name, a.Name, nil, metrics); err != nil {
		return err
	}
	for _, role := range []string{"canary", "stable"} {
		if err := b.service(b.name+"-"+role, a.Name+"-"+role, nil, nil, ownedSelector); err != nil {
			return err
		}
	}
	var routing []pulumi.Resource
	if a.Mesh {
		// The routes start all on the stable Service; Argo Rollouts rewrites their weights, which the program ignores.
		var ignore []string
		for i := range canaryRoutes(a) {
			ignore = append(ignore, "spec.http["+strconv.Itoa(i)+"].route")
		}
		vs, err := k8sobj.New(b.ctx, b.name+"-routes", VirtualServiceFor(a, []RouteDestination{
			{Destination: Destination{Host: a.Name + "-stable"}, Weight: 100},
			{Destination: Destination{Host: a.Name + "-canary"}, Weight: 0}}),
			b.custom, pulumi.IgnoreChanges(ignore))
		if err != nil {
			return err
		}
		routing = append(routing, vs)
	}
	if a.Monitoring && !a.NoAnalysis && !a.Follows {
		at, err := k8sobj.New(b.ctx, b.name+"-analysis", AnalysisTemplateFor(a), b.custom)
		if err != nil {
			return err
		}
		routing = append(routing, at)
	}
	var replicas *int
	if a.Autoscaling == nil {
		r := a.Replicas
		replicas = &r
	}
	// Pulumi waits for the release: the Rollout is ready once Argo Rollouts
	// has seen this Deployment generation and the Rollout is Healthy (every
	// step done, fully promoted). The annotation changes with every new pod
	// template, so each release updates the Rollout and is awaited.
	waitFor := dep.Metadata.Generation().ApplyT(func(g *int) pulumi.StringOutput {
		if g == nil && b.ctx.DryRun() {
			// A preview of a new or changed Deployment may not know its next
			// generation: the annotation is unknown then, so a saved plan
			// accepts the value `up` computes (a known guess would violate it).
			return pulumi.UnsafeUnknownOutput(nil).ApplyT(func(any) string { return "" }).(pulumi.StringOutput)
		}
		if g == nil {
			return pulumi.String(RolloutWaitFor(0)).ToStringOutput()
		}
		return pulumi.String(RolloutWaitFor(*g)).ToStringOutput()
	}).(pulumi.StringOutput)
	timeout := RolloutTimeout().String()
	rollout, err := k8sobj.NewAnnotated(b.ctx, b.name+"-rollout", RolloutFor(a, replicas), pulumi.StringMap{WaitForAnnotation: waitFor},
		b.custom, pulumi.DependsOn(append(append([]pulumi.Resource{dep}, deps...), routing...)),
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: timeout, Update: timeout}))
	if err != nil {
		return err
	}
	b.released = []pulumi.Resource{rollout}
	return b.autoscaler("Rollout", a.Name)
}

// WaitForAnnotation is pulumi-kubernetes' custom readiness (v4.18+): a JSON
// list of jsonpath conditions that must hold at once on one observed object
// (provider/pkg/metadata/overrides.go, await/condition/all.go).
const WaitForAnnotation = "pulumi.com/waitFor"

// RolloutWaitFor is the Rollout's readiness for the Deployment's generation.
// Argo Rollouts writes status.workloadObservedGeneration (the Deployment
// generation it has seen) in the same status patch as status.phase
// (rollout/sync.go persistRolloutStatus, v1.9.1), so "Healthy" cannot be
// the previous release's: status.observedGeneration is a string there, and
// pulumi-kubernetes' own generation check reads only integers. A Rollout
// that aborts (Degraded) or pauses on an inconclusive analysis never gets
// there, and the update fails at RolloutTimeout, before the contract
// migration runs.
func RolloutWaitFor(generation int) string {
	conds := []string{`jsonpath={.status.phase}=Healthy`}
	if generation > 0 {
		conds = append([]string{fmt.Sprintf(`jsonpath={.status.workloadObservedGeneration}=%d`, generation)}, conds...)
	}
	out, _ := json.Marshal(conds)
	return string(out)
}

// RolloutTimeout is how long Pulumi waits for a release: the steps' pauses
// (40 minutes) plus one progress deadline (10 minutes) for the pods the
// steps start. Argo Rollouts aborts a step whose pods do not come up
// within the deadline, so a healthy release takes less.
func RolloutTimeout() time.Duration {
	var total time.Duration
	for _, s := range canarySteps {
		d, _ := time.ParseDuration(s.pause)
		total += d
	}
	return total + progressDeadline
}

// progressDeadline is the Rollout's progressDeadlineSeconds.
const progressDeadline = 600 * time.Second
