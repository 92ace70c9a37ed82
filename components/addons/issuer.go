package addons

import (
	"fmt"
	"net/mail"

	"github.com/eduai/infra/components/internal/k8sobj"
)

// IssuerKind picks the environment's certificate authority.
type IssuerKind string

const (
	// SelfSigned suits dev: no outside dependency, browsers warn.
	SelfSigned IssuerKind = "selfSigned"
	// LetsEncryptStaging suits staging: real ACME flow, untrusted root, generous limits.
	LetsEncryptStaging IssuerKind = "letsEncryptStaging"
	// LetsEncryptProduction suits prod: trusted certificates, strict rate limits.
	LetsEncryptProduction IssuerKind = "letsEncryptProduction"
)

// IssuerKinds lists the valid kinds.
var IssuerKinds = []IssuerKind{SelfSigned, LetsEncryptStaging, LetsEncryptProduction}

var acmeServers = map[IssuerKind]string{
	LetsEncryptStaging:    "https://acme-staging-v02.api.letsencrypt.org/directory",
	LetsEncryptProduction: "https://acme-v02.api.letsencrypt.org/directory",
}

var issuerNames = map[IssuerKind]string{
	SelfSigned:            "selfsigned",
	LetsEncryptStaging:    "letsencrypt-staging",
	LetsEncryptProduction: "letsencrypt-prod",
}

// IssuerArgs configures the ClusterIssuer.
type IssuerArgs struct {
	Kind IssuerKind
	// Email receives Let's Encrypt expiry notices. Required for the ACME kinds.
	Email string
	// IngressClass solves HTTP-01 challenges. Default "nginx".
	IngressClass string
}

// Name is the ClusterIssuer's name, which Ingresses refer to.
func (i IssuerArgs) Name() string { return issuerNames[i.Kind] }

func (i IssuerArgs) validate() error {
	if _, ok := issuerNames[i.Kind]; !ok {
		return fmt.Errorf("Issuer.Kind: %q is not one of %v", i.Kind, IssuerKinds)
	}
	if _, acme := acmeServers[i.Kind]; acme {
		if _, err := mail.ParseAddress(i.Email); err != nil {
			return fmt.Errorf("Issuer.Email: %q is not an email address (Let's Encrypt needs one)", i.Email)
		}
	}
	return nil
}

// The ClusterIssuer's typed spec (cert-manager.io/v1), the fields we set.
// Tests validate what it renders against the upstream CRD schema.
type (
	ClusterIssuerSpec struct {
		SelfSigned *SelfSignedIssuer `json:"selfSigned,omitempty"`
		ACME       *ACMEIssuer       `json:"acme,omitempty"`
	}
	SelfSignedIssuer struct{}
	ACMEIssuer       struct {
		Server              string            `json:"server"`
		Email               string            `json:"email"`
		PrivateKeySecretRef SecretKeySelector `json:"privateKeySecretRef"`
		Solvers             []ACMESolver      `json:"solvers"`
	}
	SecretKeySelector struct {
		Name string `json:"name"`
	}
	ACMESolver struct {
		HTTP01 *ACMEHTTP01 `json:"http01,omitempty"`
	}
	ACMEHTTP01 struct {
		Ingress *ACMEHTTP01Ingress `json:"ingress,omitempty"`
	}
	ACMEHTTP01Ingress struct {
		IngressClassName string `json:"ingressClassName"`
	}
)

// Manifest renders the ClusterIssuer.
func (i IssuerArgs) Manifest() k8sobj.Object {
	ci := k8sobj.Object{
		APIVersion: "cert-manager.io/v1",
		Kind:       "ClusterIssuer",
		Metadata: k8sobj.Meta{Name: i.Name(), Labels: map[string]string{
			"app.kubernetes.io/name":       "cluster-issuer",
			"app.kubernetes.io/part-of":    "eduai",
			"app.kubernetes.io/managed-by": "pulumi",
		}},
	}
	server, acme := acmeServers[i.Kind]
	if !acme {
		ci.Spec = ClusterIssuerSpec{SelfSigned: &SelfSignedIssuer{}}
		return ci
	}
	class := i.IngressClass
	if class == "" {
		class = "nginx"
	}
	ci.Spec = ClusterIssuerSpec{ACME: &ACMEIssuer{
		Server:              server,
		Email:               i.Email,
		PrivateKeySecretRef: SecretKeySelector{Name: i.Name() + "-account-key"},
		Solvers:             []ACMESolver{{HTTP01: &ACMEHTTP01{Ingress: &ACMEHTTP01Ingress{IngressClassName: class}}}},
	}}
	return ci
}
