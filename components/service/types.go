package service

import (
	"github.com/eduai/infra/components/internal/k8sobj"
)

// Object and Meta are the shared typed custom-resource shapes.
type (
	Object = k8sobj.Object
	Meta   = k8sobj.Meta
)

// Istio networking.istio.io/v1: the fields the services use.
type (
	VirtualServiceSpec struct {
		Hosts    []string    `json:"hosts"`
		Gateways []string    `json:"gateways,omitempty"`
		HTTP     []HTTPRoute `json:"http"`
	}
	HTTPRoute struct {
		Name  string             `json:"name"`
		Match []HTTPMatch        `json:"match,omitempty"`
		Route []RouteDestination `json:"route"`
	}
	HTTPMatch struct {
		URI *StringMatch `json:"uri,omitempty"`
		// Gateways limits the match to traffic from these gateways ("mesh": sidecars).
		Gateways []string `json:"gateways,omitempty"`
	}
	StringMatch struct {
		Exact  string `json:"exact,omitempty"`
		Prefix string `json:"prefix,omitempty"`
	}
	RouteDestination struct {
		Destination Destination `json:"destination"`
		Weight      int         `json:"weight"`
	}
	Destination struct {
		Host   string `json:"host"`
		Subset string `json:"subset,omitempty"`
	}
	DestinationRuleSpec struct {
		Host    string   `json:"host"`
		Subsets []Subset `json:"subsets"`
	}
	Subset struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	}
)

// Argo Rollouts argoproj.io/v1alpha1: the fields the canary strategy uses.
type (
	RolloutSpec struct {
		Replicas                *int            `json:"replicas,omitempty"`
		RevisionHistoryLimit    int             `json:"revisionHistoryLimit"`
		ProgressDeadlineSeconds int             `json:"progressDeadlineSeconds"`
		Selector                LabelSelector   `json:"selector"`
		WorkloadRef             WorkloadRef     `json:"workloadRef"`
		Strategy                RolloutStrategy `json:"strategy"`
	}
	LabelSelector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	}
	// WorkloadRef points the Rollout at a Deployment's pod template, so the
	// pod spec is written (and checked by the pack) in one place.
	WorkloadRef struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Name       string `json:"name"`
		ScaleDown  string `json:"scaleDown"`
	}
	RolloutStrategy struct {
		Canary CanaryStrategy `json:"canary"`
	}
	CanaryStrategy struct {
		MaxSurge       string           `json:"maxSurge"`
		MaxUnavailable int              `json:"maxUnavailable"`
		CanaryService  string           `json:"canaryService,omitempty"`
		StableService  string           `json:"stableService,omitempty"`
		Steps          []CanaryStep     `json:"steps"`
		Analysis       *RolloutAnalysis `json:"analysis,omitempty"`
		TrafficRouting *TrafficRouting  `json:"trafficRouting,omitempty"`
	}
	CanaryStep struct {
		SetWeight *int       `json:"setWeight,omitempty"`
		Pause     *PauseStep `json:"pause,omitempty"`
	}
	PauseStep struct {
		Duration string `json:"duration"`
	}
	RolloutAnalysis struct {
		Templates    []TemplateRef `json:"templates"`
		StartingStep int           `json:"startingStep"`
		Args         []AnalysisArg `json:"args"`
	}
	TemplateRef struct {
		TemplateName string `json:"templateName"`
	}
	AnalysisArg struct {
		Name  string `json:"name"`
		Value string `json:"value,omitempty"`
	}
	TrafficRouting struct {
		Istio IstioRouting `json:"istio"`
	}
	IstioRouting struct {
		VirtualService VirtualServiceRef `json:"virtualService"`
	}
	VirtualServiceRef struct {
		Name   string   `json:"name"`
		Routes []string `json:"routes"`
	}

	AnalysisRunSpec struct {
		Args    []AnalysisArg `json:"args"`
		Metrics []Metric      `json:"metrics"`
	}
	AnalysisTemplateSpec struct {
		Args    []AnalysisArg `json:"args"`
		Metrics []Metric      `json:"metrics"`
	}
	Metric struct {
		Name              string         `json:"name"`
		Interval          string         `json:"interval"`
		InitialDelay      string         `json:"initialDelay,omitempty"`
		Count             int            `json:"count,omitempty"`
		FailureLimit      int            `json:"failureLimit"`
		InconclusiveLimit int            `json:"inconclusiveLimit,omitempty"`
		SuccessCondition  string         `json:"successCondition"`
		FailureCondition  string         `json:"failureCondition"`
		Provider          MetricProvider `json:"provider"`
	}
	MetricProvider struct {
		Prometheus PrometheusMetric `json:"prometheus"`
	}
	PrometheusMetric struct {
		Address string `json:"address"`
		Query   string `json:"query"`
	}
)
