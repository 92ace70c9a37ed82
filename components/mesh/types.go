package mesh

import (
	"fmt"
	"github.com/eduai/infra/components/internal/dnsname"
	"strings"

	"github.com/eduai/infra/components/internal/k8sobj"
)

// Object and Meta are the shared typed custom-resource shapes.
type (
	Object = k8sobj.Object
	Meta   = k8sobj.Meta
)

// Istio security.istio.io/v1 and networking.istio.io/v1, cert-manager.io/v1:
// the fields the mesh uses.
type (
	PeerAuthenticationSpec struct {
		MTLS PeerAuthenticationMTLS `json:"mtls"`
	}
	PeerAuthenticationMTLS struct {
		Mode string `json:"mode"`
	}
	AuthorizationPolicySpec struct {
		Selector *WorkloadSelector `json:"selector,omitempty"`
		Action   string            `json:"action,omitempty"`
		Rules    []Rule            `json:"rules,omitempty"`
	}
	WorkloadSelector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	}
	Rule struct {
		From []RuleFrom `json:"from,omitempty"`
	}
	RuleFrom struct {
		Source Source `json:"source"`
	}
	Source struct {
		Principals []string `json:"principals,omitempty"`
	}
	GatewaySpec struct {
		Selector map[string]string `json:"selector"`
		Servers  []Server          `json:"servers"`
	}
	Server struct {
		Port  Port       `json:"port"`
		Hosts []string   `json:"hosts"`
		TLS   *ServerTLS `json:"tls,omitempty"`
	}
	Port struct {
		Number   int    `json:"number"`
		Name     string `json:"name"`
		Protocol string `json:"protocol"`
	}
	ServerTLS struct {
		Mode           string `json:"mode,omitempty"`
		CredentialName string `json:"credentialName,omitempty"`
		HTTPSRedirect  bool   `json:"httpsRedirect,omitempty"`
		MinProtocol    string `json:"minProtocolVersion,omitempty"`
	}
	TelemetrySpec struct {
		Tracing []TelemetryTracing `json:"tracing"`
	}
	TelemetryTracing struct {
		Providers                []ProviderRef `json:"providers"`
		RandomSamplingPercentage float64       `json:"randomSamplingPercentage"`
	}
	ProviderRef struct {
		Name string `json:"name"`
	}
	CertificateSpec struct {
		SecretName string    `json:"secretName"`
		DNSNames   []string  `json:"dnsNames"`
		IssuerRef  IssuerRef `json:"issuerRef"`
	}
	IssuerRef struct {
		Name  string `json:"name"`
		Kind  string `json:"kind"`
		Group string `json:"group"`
	}
)

var labels = map[string]string{"app.kubernetes.io/part-of": "eduai", "app.kubernetes.io/managed-by": "pulumi"}

// PeerAuthenticationFor is the mesh-wide mTLS policy (in the root namespace).
func PeerAuthenticationFor(mode MTLSMode) Object {
	return Object{APIVersion: "security.istio.io/v1", Kind: "PeerAuthentication",
		Metadata: Meta{Name: "default", Namespace: SystemNamespace, Labels: labels},
		Spec:     PeerAuthenticationSpec{MTLS: PeerAuthenticationMTLS{Mode: string(mode)}}}
}

// DenyAll is the allow-nothing policy: an empty spec denies every request in the namespace.
func DenyAll(namespace string) Object {
	return Object{APIVersion: "security.istio.io/v1", Kind: "AuthorizationPolicy",
		Metadata: Meta{Name: "deny-all", Namespace: namespace, Labels: labels}, Spec: AuthorizationPolicySpec{}}
}

// principal turns "namespace/serviceAccount" into an Istio principal.
func principal(caller string) (string, error) {
	ns, sa, ok := strings.Cut(caller, "/")
	if !ok || !dnsname.Label(ns) || !dnsname.Label(sa) {
		return "", fmt.Errorf("caller %q is not namespace/serviceAccount", caller)
	}
	return "cluster.local/ns/" + ns + "/sa/" + sa, nil
}

// AllowCallers lets the given callers reach the service with app=service.
func AllowCallers(namespace, service string, callers []string) (Object, error) {
	var principals []string
	for _, c := range callers {
		p, err := principal(c)
		if err != nil {
			return Object{}, err
		}
		principals = append(principals, p)
	}
	return Object{APIVersion: "security.istio.io/v1", Kind: "AuthorizationPolicy",
		Metadata: Meta{Name: "allow-" + service, Namespace: namespace, Labels: labels},
		Spec: AuthorizationPolicySpec{
			Selector: &WorkloadSelector{MatchLabels: map[string]string{"app": service}},
			Action:   "ALLOW",
			Rules:    []Rule{{From: []RuleFrom{{Source: Source{Principals: principals}}}}},
		}}, nil
}

// credentialName is the TLS secret the certificate writes and the gateway reads.
const credentialName = "ingress-tls"

// GatewayFor serves the hosts on 443 with the certificate's secret and
// redirects port 80 to HTTPS.
func GatewayFor(hosts []string) Object {
	return Object{APIVersion: "networking.istio.io/v1", Kind: "Gateway",
		Metadata: Meta{Name: "public", Namespace: IngressNamespace, Labels: labels},
		Spec: GatewaySpec{
			Selector: map[string]string{"istio": "ingress"},
			Servers: []Server{
				{Port: Port{Number: 443, Name: "https", Protocol: "HTTPS"}, Hosts: hosts,
					TLS: &ServerTLS{Mode: "SIMPLE", CredentialName: credentialName, MinProtocol: "TLSV1_2"}},
				{Port: Port{Number: 80, Name: "http", Protocol: "HTTP"}, Hosts: hosts, TLS: &ServerTLS{HTTPSRedirect: true}},
			},
		}}
}

// CertificateFor asks cert-manager for the hosts' certificate from the ClusterIssuer.
func CertificateFor(hosts []string, issuer string) Object {
	return Object{APIVersion: "cert-manager.io/v1", Kind: "Certificate",
		Metadata: Meta{Name: "ingress", Namespace: IngressNamespace, Labels: labels},
		Spec: CertificateSpec{SecretName: credentialName, DNSNames: hosts,
			IssuerRef: IssuerRef{Name: issuer, Kind: "ClusterIssuer", Group: "cert-manager.io"}}}
}

// TracingProvider names the mesh's OpenTelemetry extension provider.
const TracingProvider = "otel-tracing"

// TelemetryFor turns tracing on mesh-wide (root namespace) at the given sampling rate.
func TelemetryFor(samplingPercent int) Object {
	return Object{APIVersion: "telemetry.istio.io/v1", Kind: "Telemetry",
		Metadata: Meta{Name: "mesh-default", Namespace: SystemNamespace, Labels: labels},
		Spec: TelemetrySpec{Tracing: []TelemetryTracing{{Providers: []ProviderRef{{Name: TracingProvider}},
			RandomSamplingPercentage: float64(samplingPercent)}}}}
}
