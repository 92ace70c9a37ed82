package observability

import (
	"github.com/eduai/infra/components/internal/k8sobj"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Istio's metrics: istiod's own (service port http-monitoring) and every
// sidecar's merged Envoy and application metrics (port http-envoy-prom,
// /stats/prometheus), which carry the istio_requests_total series.

// IstiodMonitor scrapes the control plane in istioNamespace.
func IstiodMonitor(namespace, istioNamespace string) Object {
	return Object{APIVersion: "monitoring.coreos.com/v1", Kind: "ServiceMonitor",
		Metadata: k8sobj.Meta{Name: "istiod", Namespace: namespace, Labels: labels},
		Spec: monitoringv1.ServiceMonitorSpec{
			Selector:          metav1.LabelSelector{MatchLabels: map[string]string{"app": "istiod"}},
			NamespaceSelector: monitoringv1.NamespaceSelector{MatchNames: []string{istioNamespace}},
			Endpoints:         []monitoringv1.Endpoint{{Port: "http-monitoring", Interval: "30s"}},
		}}
}

// EnvoyMonitor scrapes every pod with an Istio sidecar, in any namespace.
func EnvoyMonitor(namespace string) Object {
	port := "http-envoy-prom"
	return Object{APIVersion: "monitoring.coreos.com/v1", Kind: "PodMonitor",
		Metadata: k8sobj.Meta{Name: "envoy-stats", Namespace: namespace, Labels: labels},
		Spec: monitoringv1.PodMonitorSpec{
			Selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: "security.istio.io/tlsMode", Operator: metav1.LabelSelectorOpExists}}},
			NamespaceSelector:   monitoringv1.NamespaceSelector{Any: true},
			PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{{Port: &port, Path: "/stats/prometheus", Interval: "30s"}},
		}}
}
