package addons

import (
	"github.com/eduai/infra/components/enum"
	"github.com/eduai/infra/components/field"
	"github.com/eduai/infra/components/partition"
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
	// DNSZone is the public Route 53 zone the certificates' names are in;
	// the ACME kinds solve DNS-01 there. Without it an ACME issuer has no
	// solver and issues nothing (the stack requires a zone with mesh.hosts). HTTP-01 cannot
	// work here: the hosts point at the Istio gateway's NLB, whose port 80
	// redirects to HTTPS, and a standby region receives no traffic at all.
	// DNS-01 needs neither, so each region holds its own valid certificate
	// before a failover sends it traffic.
	DNSZone string
	// Region is the region cert-manager's Route 53 client signs for. Required with DNSZone.
	Region string
}

// Name is the ClusterIssuer's name, which Ingresses refer to.
func (i IssuerArgs) Name() string { return issuerNames[i.Kind] }

func (i IssuerArgs) validate(errs *field.List) {
	if _, ok := issuerNames[i.Kind]; !ok {
		errs.Add(field.Enum, "Issuer.Kind", string(i.Kind), "must be one of %s", enum.Describe(IssuerKinds))
		return
	}
	if _, acme := acmeServers[i.Kind]; acme {
		if _, err := mail.ParseAddress(i.Email); err != nil {
			errs.Add(field.Format, "Issuer.Email", i.Email, "must be an email address for Let's Encrypt notices")
		}
	}
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
		Solvers             []ACMESolver      `json:"solvers,omitempty"`
	}
	SecretKeySelector struct {
		Name string `json:"name"`
	}
	ACMESolver struct {
		Selector *SolverSelector `json:"selector,omitempty"`
		DNS01    *ACMEDNS01      `json:"dns01,omitempty"`
	}
	SolverSelector struct {
		DNSZones []string `json:"dnsZones,omitempty"`
	}
	ACMEDNS01 struct {
		Route53 *Route53Solver `json:"route53,omitempty"`
	}
	// Route53Solver: no keys and no role; cert-manager's controller takes
	// the ambient credentials its service account's Pod Identity association
	// gives it (ClusterIssuers may use ambient credentials by default:
	// cert-manager's --cluster-issuer-ambient-credentials).
	Route53Solver struct {
		Region string `json:"region"`
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
	ci.Spec = ClusterIssuerSpec{ACME: &ACMEIssuer{
		Server:              server,
		Email:               i.Email,
		PrivateKeySecretRef: SecretKeySelector{Name: i.Name() + "-account-key"},
		// cert-manager finds the zone by name (route53:ListHostedZonesByName,
		// skipping private zones) and writes _acme-challenge TXT records in it.
	}}
	if i.DNSZone != "" {
		ci.Spec.(ClusterIssuerSpec).ACME.Solvers = []ACMESolver{{Selector: &SolverSelector{DNSZones: []string{i.DNSZone}},
			DNS01: &ACMEDNS01{Route53: &Route53Solver{Region: i.Region}}}}
	}
	return ci
}

// dns01Policy lets cert-manager answer DNS-01 challenges in one zone and
// nothing else: TXT records named _acme-challenge.* in that zone, reading
// the change status, and finding the zone by name (cert-manager's Route 53
// documentation lists these three actions; the conditions are Route 53's
// record-type and record-name condition keys, IAM service authorization
// reference, Amazon Route 53).
func dns01Policy(zoneARN string) string {
	return `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Action":"route53:ChangeResourceRecordSets","Resource":"` + zoneARN + `",` +
		`"Condition":{"ForAllValues:StringEquals":{"route53:ChangeResourceRecordSetsRecordTypes":["TXT"]},` +
		`"ForAllValues:StringLike":{"route53:ChangeResourceRecordSetsNormalizedRecordNames":["_acme-challenge.*"]}}},` +
		`{"Effect":"Allow","Action":"route53:GetChange","Resource":"arn:` + partition.OfARN(zoneARN) + `:route53:::change/*"},` +
		`{"Effect":"Allow","Action":"route53:ListHostedZonesByName","Resource":"*"}]}`
}
