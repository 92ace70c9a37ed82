package observability

import (
	"github.com/eduai/infra/components/internal/k8sobj"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The deployment alerts of the seed ("Monitoring and Alerting for
// Deployments"). Two of them, HighErrorRateAfterDeployment and
// ResponseTimeDegradation, carry action=rollback: the rollout tooling (#7)
// aborts a deployment on them.
//
// The seed's expressions are corrected here:
//   - the 5xx ratio divides sums per service; the seed divides series by
//     series, which is 1 for every 5xx series and absent for the others;
//   - quantiles aggregate buckets by (le, service): per-pod series of new
//     pods have no history an hour back, so the baseline must not be per pod.
//
// Service metrics are the services' own http_requests_total and
// http_request_duration_seconds (label service); deployment state comes from
// kube-state-metrics, which kube-prometheus-stack installs.

// Alert names.
const (
	AlertHighErrorRate           = "HighErrorRateAfterDeployment"
	AlertResponseTimeDegradation = "ResponseTimeDegradation"
	AlertDeploymentFailed        = "DeploymentFailed"
	AlertServiceUnavailable      = "ServiceUnavailable"
	AlertElevatedErrorRate       = "ElevatedErrorRate"
	AlertLongDeployment          = "LongDeployment"
	AlertIncreasedResourceUsage  = "IncreasedResourceUsage"
	AlertPerformanceDegradation  = "PerformanceDegradation"
)

// Severities; Alertmanager routes on them.
const (
	Critical = "critical"
	Warning  = "warning"
)

// RuleGroupName is the seed's group name.
const RuleGroupName = "deployment.rules"

// errorRatio is the 5xx share of requests per service over 5 minutes.
const errorRatio = `sum by (service) (rate(http_requests_total{status=~"5.."}[5m]))
  / sum by (service) (rate(http_requests_total[5m]))`

// p95 is the 95th percentile latency per service over the given window.
func p95(window, offset string) string {
	sel := "http_request_duration_seconds_bucket[" + window + "]"
	if offset != "" {
		sel += " offset " + offset
	}
	return "histogram_quantile(0.95, sum by (le, service) (rate(" + sel + ")))"
}

// DeploymentRules are the alerts for the services in namespace ns.
func DeploymentRules(ns string) []monitoringv1.Rule {
	inNS := `namespace="` + ns + `"`
	rule := func(name, expr, hold, severity string, rollback bool, summary, description string) monitoringv1.Rule {
		d := monitoringv1.Duration(hold)
		labels := map[string]string{"severity": severity}
		if rollback {
			labels["action"] = "rollback"
		}
		return monitoringv1.Rule{Alert: name, Expr: intstr.FromString(expr), For: &d, Labels: labels,
			Annotations: map[string]string{"summary": summary, "description": description}}
	}
	return []monitoringv1.Rule{
		// Critical: the seed's rollback triggers and its other critical alerts.
		rule(AlertHighErrorRate, errorRatio+"\n> 0.05", "2m", Critical, true,
			"High error rate detected after deployment",
			"Error rate is {{ $value | humanizePercentage }} for {{ $labels.service }}"),
		rule(AlertResponseTimeDegradation, p95("5m", "")+"\n> 5 * "+p95("1h", "1h"), "3m", Critical, true,
			"Significant response time degradation",
			"95th percentile response time of {{ $labels.service }} is more than 5x its baseline an hour earlier"),
		rule(AlertDeploymentFailed,
			`kube_deployment_status_condition{`+inNS+`, condition="Progressing", status="false"} == 1`, "1m", Critical, false,
			"Deployment failed",
			"Deployment {{ $labels.deployment }} exceeded its progress deadline"),
		rule(AlertServiceUnavailable,
			`kube_deployment_status_replicas_available{`+inNS+`} == 0
  and on (namespace, deployment) kube_deployment_spec_replicas{`+inNS+`} > 0`, "2m", Critical, false,
			"Service unavailable",
			"Deployment {{ $labels.deployment }} has no available replica"),
		// Warnings.
		rule(AlertElevatedErrorRate, errorRatio+"\n> 0.01", "5m", Warning, false,
			"Elevated error rate",
			"Error rate is {{ $value | humanizePercentage }} for {{ $labels.service }}"),
		rule(AlertLongDeployment,
			`kube_deployment_status_replicas_updated{`+inNS+`}
  < on (namespace, deployment) kube_deployment_spec_replicas{`+inNS+`}`, "15m", Warning, false,
			"Long deployment",
			"Deployment {{ $labels.deployment }} has been rolling out for more than 15 minutes"),
		rule(AlertIncreasedResourceUsage,
			`sum by (namespace, container) (rate(container_cpu_usage_seconds_total{`+inNS+`, container!=""}[5m]))
> 1.5 * sum by (namespace, container) (rate(container_cpu_usage_seconds_total{`+inNS+`, container!=""}[5m] offset 1h))`,
			"15m", Warning, false,
			"Increased resource usage",
			"CPU use of {{ $labels.container }} is more than 1.5x what it was an hour earlier"),
		rule(AlertPerformanceDegradation, p95("5m", "")+"\n> 2 * "+p95("1h", "1h"), "5m", Warning, false,
			"Performance degradation",
			"95th percentile response time of {{ $labels.service }} is more than 2x its baseline an hour earlier"),
	}
}

// PrometheusRuleFor is the PrometheusRule holding the deployment alerts.
func PrometheusRuleFor(namespace, servicesNamespace string) Object {
	return Object{APIVersion: "monitoring.coreos.com/v1", Kind: "PrometheusRule",
		Metadata: k8sobj.Meta{Name: "eduai-deployment", Namespace: namespace, Labels: labels},
		Spec: monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{{
			Name: RuleGroupName, Rules: DeploymentRules(servicesNamespace)}}}}
}
