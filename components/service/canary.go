package service

import (
	"strconv"

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

// Analysis arguments: the service and the two pod-template hashes.
const (
	argService    = "service-name"
	argCanaryHash = "canary-hash"
	argStableHash = "stable-hash"
)

func ratio(hash string) string {
	sel := `service="{{args.` + argService + `}}", rollouts_pod_template_hash="{{args.` + hash + `}}"`
	return `sum(rate(http_requests_total{` + sel + `, status=~"5.."}[2m])) / sum(rate(http_requests_total{` + sel + `}[2m]))`
}

func quantile(hash string) string {
	return `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="{{args.` +
		argService + `}}", rollouts_pod_template_hash="{{args.` + hash + `}}"}[2m])))`
}

// AnalysisQueries are the three measurements, by metric name.
func AnalysisQueries() map[string]string {
	return map[string]string{
		// The canary's error rate above the stable pods' own (no traffic: no increase).
		"error-rate-increase": "(" + ratio(argCanaryHash) + " - " + ratio(argStableHash) + ") or on() vector(0)",
		"error-rate":          "(" + ratio(argCanaryHash) + ") or on() vector(0)",
		"latency-ratio":       quantile(argCanaryHash) + " / " + quantile(argStableHash),
	}
}

// AnalysisTemplateFor measures the canary against the stable pods every minute.
func AnalysisTemplateFor(a *Args) Object {
	q := AnalysisQueries()
	metric := func(name, success, failure string) Metric {
		return Metric{Name: name, Interval: "1m", FailureLimit: 1, InconclusiveLimit: 2,
			SuccessCondition: success, FailureCondition: failure,
			Provider: MetricProvider{Prometheus: PrometheusMetric{Address: a.PrometheusURL, Query: q[name]}}}
	}
	return Object{APIVersion: "argoproj.io/v1alpha1", Kind: "AnalysisTemplate",
		Metadata: Meta{Name: a.Name + "-analysis", Namespace: a.Namespace, Labels: crLabels(a.Name)},
		Spec: AnalysisTemplateSpec{
			Args: []AnalysisArg{{Name: argService}, {Name: argCanaryHash}, {Name: argStableHash}},
			Metrics: []Metric{
				metric("error-rate-increase", "result[0] < 0.001", "result[0] >= 0.01"),
				metric("error-rate", "result[0] <= 0.01", "result[0] > 0.01"),
				// No stable latency (no traffic yet) is NaN: neither passes nor fails.
				metric("latency-ratio", "result[0] < 1.1", "result[0] > 2"),
			},
		}}
}

// RolloutFor is the canary Rollout over the service's Deployment.
func RolloutFor(a *Args, replicas *int) Object {
	c := CanaryStrategy{MaxSurge: "25%", MaxUnavailable: 0, Steps: CanarySteps(),
		CanaryService: a.Name + "-canary", StableService: a.Name + "-stable"}
	if a.Monitoring && !a.NoAnalysis {
		// Analysis from the second step on (after the first 5 % pause has started).
		c.Analysis = &RolloutAnalysis{Templates: []TemplateRef{{TemplateName: a.Name + "-analysis"}}, StartingStep: 2,
			Args: []AnalysisArg{{Name: argService, Value: a.Name},
				{Name: argCanaryHash, ValueFrom: &ArgValueFrom{PodTemplateHashValue: "Latest"}},
				{Name: argStableHash, ValueFrom: &ArgValueFrom{PodTemplateHashValue: "Stable"}}}}
	}
	if a.Mesh {
		c.TrafficRouting = &TrafficRouting{Istio: IstioRouting{
			VirtualService:  VirtualServiceRef{Name: a.Name, Routes: canaryRoutes(a)},
			DestinationRule: DestinationRuleRef{Name: a.Name, CanarySubsetName: "canary", StableSubsetName: "stable"},
		}}
	}
	return Object{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout",
		Metadata: Meta{Name: a.Name, Namespace: a.Namespace, Labels: crLabels(a.Name)},
		Spec: RolloutSpec{Replicas: replicas, RevisionHistoryLimit: 10, ProgressDeadlineSeconds: 600,
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
		// Argo Rollouts rewrites the route weights and the subsets' labels; the program ignores those.
		order := []string{"stable", "canary"}
		subsets := map[string]map[string]string{"stable": {"app": a.Name}, "canary": {"app": a.Name}}
		dr, err := k8sobj.New(b.ctx, b.name+"-destinations", DestinationRuleFor(a, subsets, order), b.custom,
			pulumi.IgnoreChanges([]string{"spec.subsets"}))
		if err != nil {
			return err
		}
		var ignore []string
		for i := range canaryRoutes(a) {
			ignore = append(ignore, "spec.http["+strconv.Itoa(i)+"].route")
		}
		vs, err := k8sobj.New(b.ctx, b.name+"-routes", VirtualServiceFor(a, map[string]int{"stable": 100}, order),
			b.custom, pulumi.IgnoreChanges(ignore))
		if err != nil {
			return err
		}
		routing = append(routing, dr, vs)
	}
	if a.Monitoring && !a.NoAnalysis {
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
	if _, err := k8sobj.New(b.ctx, b.name+"-rollout", RolloutFor(a, replicas), b.custom,
		pulumi.DependsOn(append(append([]pulumi.Resource{dep}, deps...), routing...))); err != nil {
		return err
	}
	return b.autoscaler("Rollout", a.Name)
}
