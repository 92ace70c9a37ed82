package addons

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/eduai/infra/internal/crdcheck"
	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	typeRelease = "kubernetes:helm.sh/v3:Release"
	typeIssuer  = "kubernetes:cert-manager.io/v1:ClusterIssuer"
	typeAssoc   = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
	typeRole    = "aws:iam/role:Role"
	typePolicy  = "aws:iam/rolePolicy:RolePolicy"
)

func testArgs(kind IssuerKind) *Args {
	return &Args{
		ClusterName: "eduai-prod", Cluster: pulumi.String("eduai-prod"),
		Region: "us-west-2",
		VpcID:  pulumi.String("vpc-1"),
		ChartVersions: map[Chart]string{MetricsServer: "3.13.0", ClusterAutoscaler: "9.53.0",
			AWSLoadBalancerController: "1.14.0", IngressNginx: "4.13.3", CertManager: "v1.21.1"},
		Issuer:     IssuerArgs{Kind: kind, Email: "platform@example.org", DNSZone: "eduai.com", Region: "us-west-2"},
		DNSZoneARN: pulumi.String("arn:aws:route53:::hostedzone/Z0123456789ABC"),
	}
}

// Issue #17: ACME issuers solve DNS-01 in the Route 53 zone, through a Pod
// Identity role that may only write _acme-challenge TXT records there; no
// HTTP-01 solver is left (the gateway's port 80 redirects, a standby region
// gets no traffic).
func TestIssuerSolvesDNS01(t *testing.T) {
	rec := runAddons(t, testArgs(LetsEncryptProduction))
	spec := rec.ByType(typeIssuer)[0].Inputs.Mappable()["spec"].(map[string]any)
	solvers := spec["acme"].(map[string]any)["solvers"].([]any)
	if len(solvers) != 1 {
		t.Fatalf("solvers %v", solvers)
	}
	solver := solvers[0].(map[string]any)
	if solver["http01"] != nil || solver["dns01"].(map[string]any)["route53"].(map[string]any)["region"] != "us-west-2" ||
		solver["selector"].(map[string]any)["dnsZones"].([]any)[0] != "eduai.com" {
		t.Errorf("solver %v", solver)
	}
	var assoc *mockstack.Resource
	for _, a := range rec.ByType("aws:eks/podIdentityAssociation:PodIdentityAssociation") {
		if a.String("namespace") == "cert-manager" && a.String("serviceAccount") == "cert-manager" {
			assoc = a
		}
	}
	policy := rec.Named(typePolicy, "addons-cert-manager")
	if assoc == nil || policy == nil {
		t.Fatalf("no Pod Identity role for cert-manager: %v %v", assoc, policy)
	}
	doc := policy.String("policy")
	for _, want := range []string{`"Action":"route53:ChangeResourceRecordSets","Resource":"arn:aws:route53:::hostedzone/Z0123456789ABC"`,
		`"route53:ChangeResourceRecordSetsRecordTypes":["TXT"]`, `"route53:GetChange","Resource":"arn:aws:route53:::change/*"`,
		`"route53:ListHostedZonesByName","Resource":"*"`} {
		if !strings.Contains(doc, want) {
			t.Errorf("cert-manager policy lacks %s: %s", want, doc)
		}
	}
	release := rec.Named(typeRelease, "addons-cert-manager")
	if !slices.Contains(release.Dependencies, assoc.URN) {
		t.Error("cert-manager starts before its Pod Identity association")
	}
	// Self-signed issuers need no zone and get no role.
	args := testArgs(SelfSigned)
	args.Issuer.DNSZone, args.DNSZoneARN = "", nil
	if rec := runAddons(t, args); rec.Named(typePolicy, "addons-cert-manager") != nil {
		t.Error("a self-signed issuer got a Route 53 role")
	}
}

func runAddons(t *testing.T, args *Args) *mockstack.Recorder {
	t.Helper()
	rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		a, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		k, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{Kubeconfig: pulumi.String("{}")})
		if err != nil {
			return err
		}
		_, err = New(ctx, "addons", args, pulumi.Providers(a, k))
		return err
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return rec
}

func TestReleases(t *testing.T) {
	args := testArgs(LetsEncryptProduction)
	rec := runAddons(t, args)
	releases := map[string]*mockstack.Resource{}
	for _, r := range rec.ByType(typeRelease) {
		releases[r.String("chart")] = r
	}
	if len(releases) != len(Charts) {
		t.Fatalf("releases %v", releases)
	}
	for _, c := range Charts {
		r := releases[string(c)]
		if r.String("version") != args.ChartVersions[c] || r.String("namespace") != charts[c].namespace ||
			r.Inputs["repositoryOpts"].ObjectValue()["repo"].StringValue() != charts[c].repo ||
			!r.Inputs["atomic"].BoolValue() {
			t.Errorf("%s: %v", c, r.Inputs)
		}
		if !strings.HasPrefix(r.Provider, "urn:pulumi:test::eduai::pulumi:providers:kubernetes::") {
			t.Errorf("%s: provider %s", c, r.Provider)
		}
	}
	values := func(c Chart) map[string]any { return releases[string(c)].Inputs["values"].Mappable().(map[string]any) }
	if values(ClusterAutoscaler)["autoDiscovery"].(map[string]any)["clusterName"] != "eduai-prod" {
		t.Errorf("autoscaler discovery: %v", values(ClusterAutoscaler))
	}
	lbc := values(AWSLoadBalancerController)
	if lbc["clusterName"] != "eduai-prod" || lbc["vpcId"] != "vpc-1" || lbc["region"] != "us-west-2" {
		t.Errorf("load balancer controller values: %v", lbc)
	}
	if !values(CertManager)["crds"].(map[string]any)["enabled"].(bool) {
		t.Error("cert-manager does not install its CRDs")
	}
	if !slices.Contains(releases[string(IngressNginx)].Dependencies, releases[string(AWSLoadBalancerController)].URN) {
		t.Error("ingress-nginx does not wait for the load balancer controller")
	}
}

// Each controller that calls AWS gets a role only its own service account can use.
func TestPodIdentities(t *testing.T) {
	rec := runAddons(t, testArgs(SelfSigned))
	assocs := rec.ByType(typeAssoc)
	if len(assocs) != 2 {
		t.Fatalf("%d pod identity associations", len(assocs))
	}
	for _, a := range assocs {
		chart := Chart(strings.TrimPrefix(a.Name, "addons-"))
		spec := charts[chart]
		role := rec.Named(typeRole, a.Name)
		if a.String("namespace") != spec.namespace || a.String("serviceAccount") != spec.serviceAccount ||
			a.String("clusterName") != "eduai-prod" || a.String("roleArn") != role.State["arn"].StringValue() {
			t.Errorf("%s: %v", a.Name, a.Inputs)
		}
		trust := role.String("assumeRolePolicy")
		for _, want := range []string{"pods.eks.amazonaws.com", `"aws:RequestTag/kubernetes-service-account":"` + spec.serviceAccount + `"`,
			`"aws:RequestTag/kubernetes-namespace":"` + spec.namespace + `"`} {
			if !strings.Contains(trust, want) {
				t.Errorf("%s trust lacks %s: %s", a.Name, want, trust)
			}
		}
	}
	policy := rec.Named(typePolicy, "addons-cluster-autoscaler").String("policy")
	if !strings.Contains(policy, `"aws:ResourceTag/k8s.io/cluster-autoscaler/eduai-prod":"owned"`) {
		t.Errorf("autoscaler writes are not scoped to the cluster's groups: %s", policy)
	}
}

func loadIssuerCRD(t *testing.T) *crdcheck.CRD {
	t.Helper()
	dir, err := crdcheck.Dir()
	if err != nil {
		t.Fatal(err)
	}
	crd, err := crdcheck.Load(filepath.Join(dir, "cert-manager", "cert-manager.io_clusterissuers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return crd
}

// The ClusterIssuer the program registers, for every kind, is valid against
// cert-manager's CRD schema, with no field the API server would drop.
func TestClusterIssuerMatchesCRD(t *testing.T) {
	crd := loadIssuerCRD(t)
	for _, kind := range IssuerKinds {
		rec := runAddons(t, testArgs(kind))
		issuers := rec.ByType(typeIssuer)
		if len(issuers) != 1 {
			t.Fatalf("%s: %d issuers", kind, len(issuers))
		}
		obj := issuers[0].Inputs.Mappable()
		if problems := crd.Validate(obj); len(problems) != 0 {
			t.Errorf("%s: %v", kind, problems)
		}
		spec := obj["spec"].(map[string]any)
		if _, acme := acmeServers[kind]; acme != (spec["acme"] != nil) || acme == (spec["selfSigned"] != nil) {
			t.Errorf("%s: spec %v", kind, spec)
		}
		if !slices.Contains(issuers[0].Dependencies, rec.Named(typeRelease, "addons-cert-manager").URN) {
			t.Errorf("%s: the issuer does not wait for cert-manager", kind)
		}
	}
}

// The check would catch a misspelt or mistyped field.
func TestCRDCheckCatchesMistakes(t *testing.T) {
	crd := loadIssuerCRD(t)
	good, _ := testArgs(LetsEncryptStaging).Issuer.Manifest().Untyped()
	if p := crd.Validate(good); len(p) != 0 {
		t.Fatalf("good manifest: %v", p)
	}
	misspelt, _ := testArgs(LetsEncryptStaging).Issuer.Manifest().Untyped()
	acme := misspelt["spec"].(map[string]any)["acme"].(map[string]any)
	acme["emial"] = acme["email"]
	delete(acme, "email")
	if p := crd.Validate(misspelt); len(p) == 0 || !strings.Contains(strings.Join(p, " "), "emial") {
		t.Errorf("misspelt field not reported: %v", p)
	}
	wrongType, _ := testArgs(LetsEncryptStaging).Issuer.Manifest().Untyped()
	wrongType["spec"].(map[string]any)["acme"].(map[string]any)["solvers"] = "dns01"
	if p := crd.Validate(wrongType); len(p) == 0 {
		t.Error("a string where a list belongs was accepted")
	}
}

func TestAddonsBadArgs(t *testing.T) {
	cases := []struct {
		mutate func(*Args)
		want   string
	}{
		{func(a *Args) { a.ChartVersions[CertManager] = "latest" }, `ChartVersions[cert-manager]: must be an exact chart version like 1.14.0 (got "latest")`},
		{func(a *Args) { delete(a.ChartVersions, MetricsServer) }, "ChartVersions: must pin metrics-server"},
		{func(a *Args) { a.Issuer, a.DNSZoneARN = IssuerArgs{Kind: LetsEncryptProduction}, nil }, `Issuer.Email: must be an email address for Let's Encrypt notices (got "")`},
		{func(a *Args) { a.Issuer.Region = "" }, "Issuer.Region: required with Issuer.DNSZone"},
		{func(a *Args) { a.DNSZoneARN = nil }, "DNSZoneARN: required with Issuer.DNSZone"},
		{func(a *Args) { a.Issuer.Kind = "vault" }, `Issuer.Kind: must be one of selfSigned, letsEncryptStaging, letsEncryptProduction (got "vault")`},
		{func(a *Args) { a.ClusterName = "" }, "ClusterName, Cluster, Region and VpcID are required"},
	}
	for _, c := range cases {
		args := testArgs(LetsEncryptStaging)
		c.mutate(args)
		rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
			_, err := New(ctx, "addons", args)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
		if n := len(rec.Resources()); n != 0 {
			t.Errorf("%q: %d resources registered", c.want, n)
		}
	}
}
