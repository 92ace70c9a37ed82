package mesh

import (
	"strings"
	"testing"

	"github.com/eduai/infra/internal/crdcheck"
	"github.com/eduai/infra/internal/mockstack"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func prodArgs() *MeshArgs {
	return &MeshArgs{Version: "1.29.6", ServicesNamespace: "eduai", MTLS: Strict, DefaultDeny: true, IstiodReplicas: 2,
		Callers: map[string][]string{"content-service": {"istio-ingress/istio-ingress", "eduai/auth-service"}},
		Hosts:   []string{"api.eduai.com"}, Issuer: "letsencrypt-prod",
		Tracing: &Tracing{Service: "jaeger-collector.monitoring.svc.cluster.local", Port: 4317, SamplingPercent: 10}}
}

func runMesh(t *testing.T, args *MeshArgs) *mockstack.Recorder {
	t.Helper()
	rec, err := mockstack.RunKubernetes(func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error {
		// The add-ons the stack hands the mesh: the load balancer controller and cert-manager.
		for chart, into := range map[string]*pulumi.Resource{"aws-load-balancer-controller": &args.LoadBalancerController,
			"cert-manager": &args.CertManager} {
			r, err := helmv3.NewRelease(ctx, "addons-"+chart, &helmv3.ReleaseArgs{Chart: pulumi.String(chart),
				Namespace: pulumi.String("kube-system")}, k8s)
			if err != nil {
				return err
			}
			*into = r
		}
		_, err := New(ctx, "mesh", args, k8s)
		return err
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return rec
}

func crds(t *testing.T) map[string]*crdcheck.CRD {
	t.Helper()
	c, err := crdcheck.Kinds("PeerAuthentication", "AuthorizationPolicy", "Gateway", "Telemetry", "Certificate")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMeshProd(t *testing.T) {
	rec := runMesh(t, prodArgs())
	releases := map[string]*mockstack.Resource{}
	for _, r := range rec.ByType("kubernetes:helm.sh/v3:Release") {
		if strings.HasPrefix(r.Name, "addons-") {
			continue // the stack's add-ons, handed in
		}
		releases[r.String("chart")] = r
		if r.String("version") != "1.29.6" || r.Inputs["repositoryOpts"].ObjectValue()["repo"].StringValue() != Repo {
			t.Errorf("%s: %v", r.Name, r.Inputs)
		}
	}
	if len(releases) != 3 || releases["base"] == nil || releases["istiod"] == nil || releases["gateway"] == nil {
		t.Fatalf("releases %v", releases)
	}
	pilot := releases["istiod"].Inputs["values"].Mappable().(map[string]any)["pilot"].(map[string]any)
	if pilot["replicaCount"] != float64(2) || pilot["autoscaleMin"] != float64(2) || pilot["autoscaleMax"] != float64(5) ||
		pilot["autoscaleEnabled"] != true {
		t.Errorf("istiod replicas %v", pilot)
	}
	ns := rec.Named("kubernetes:core/v1:Namespace", "mesh-services")
	if ns.Inputs["metadata"].ObjectValue()["labels"].ObjectValue()["istio-injection"].StringValue() != "enabled" {
		t.Errorf("namespace labels %v", ns.Inputs["metadata"])
	}
	schemas := crds(t)
	kinds := map[string]int{}
	for _, r := range rec.Resources() {
		if !strings.Contains(r.Type, ".istio.io/") && !strings.Contains(r.Type, "cert-manager.io/") {
			continue
		}
		obj := r.Inputs.Mappable()
		kind := obj["kind"].(string)
		kinds[kind]++
		if p := schemas[kind].Validate(obj); len(p) != 0 {
			t.Errorf("%s %s against its CRD: %v", kind, r.Name, p)
		}
	}
	if kinds["PeerAuthentication"] != 1 || kinds["AuthorizationPolicy"] != 2 || kinds["Gateway"] != 1 ||
		kinds["Certificate"] != 1 || kinds["Telemetry"] != 1 {
		t.Errorf("custom resources %v", kinds)
	}
	pa := rec.Named("kubernetes:security.istio.io/v1:PeerAuthentication", "mesh-mtls").Inputs.Mappable()
	if pa["spec"].(map[string]any)["mtls"].(map[string]any)["mode"] != "STRICT" {
		t.Errorf("mTLS %v", pa)
	}
	// Tracing: istiod knows the collector, the Telemetry resource samples 10 %.
	mc := releases["istiod"].Inputs["values"].Mappable().(map[string]any)["meshConfig"].(map[string]any)
	provider := mc["extensionProviders"].([]any)[0].(map[string]any)
	if provider["name"] != TracingProvider || provider["opentelemetry"].(map[string]any)["port"] != float64(4317) {
		t.Errorf("meshConfig %v", mc)
	}
	tel := rec.Named("kubernetes:telemetry.istio.io/v1:Telemetry", "mesh-telemetry").Inputs.Mappable()
	tracing := tel["spec"].(map[string]any)["tracing"].([]any)[0].(map[string]any)
	if tracing["randomSamplingPercentage"] != float64(10) {
		t.Errorf("telemetry %v", tel)
	}
	allow := rec.Named("kubernetes:security.istio.io/v1:AuthorizationPolicy", "mesh-allow-content-service").Inputs.Mappable()
	principals := allow["spec"].(map[string]any)["rules"].([]any)[0].(map[string]any)["from"].([]any)[0].(map[string]any)["source"].(map[string]any)["principals"].([]any)
	if len(principals) != 2 || principals[1] != "cluster.local/ns/eduai/sa/auth-service" {
		t.Errorf("allow policy principals %v", principals)
	}
}

func TestMeshStaging(t *testing.T) {
	args := prodArgs()
	args.MTLS, args.DefaultDeny, args.Hosts, args.Tracing = Permissive, false, nil, nil
	rec := runMesh(t, args)
	if n := len(rec.ByType("kubernetes:security.istio.io/v1:AuthorizationPolicy")); n != 0 {
		t.Errorf("%d authorization policies without default deny", n)
	}
	if n := len(rec.ByType("kubernetes:telemetry.istio.io/v1:Telemetry")); n != 0 {
		t.Errorf("%d telemetry resources without tracing", n)
	}
	if n := len(rec.ByType("kubernetes:networking.istio.io/v1:Gateway")); n != 0 {
		t.Errorf("%d gateways without hosts", n)
	}
	pa := rec.Named("kubernetes:security.istio.io/v1:PeerAuthentication", "mesh-mtls").Inputs.Mappable()
	if pa["spec"].(map[string]any)["mtls"].(map[string]any)["mode"] != "PERMISSIVE" {
		t.Errorf("mTLS %v", pa)
	}
}

// A misspelt field or a wrong enum value in an Istio resource fails the check.
func TestMeshCRDCheckCatchesMistakes(t *testing.T) {
	schemas := crds(t)
	good, _ := PeerAuthenticationFor(Strict).Untyped()
	if p := schemas["PeerAuthentication"].Validate(good); len(p) != 0 {
		t.Fatalf("good: %v", p)
	}
	bad, _ := PeerAuthenticationFor(Strict).Untyped()
	bad["spec"] = map[string]any{"mTLS": map[string]any{"mode": "STRICT"}}
	if p := schemas["PeerAuthentication"].Validate(bad); len(p) == 0 {
		t.Error("misspelt mtls accepted")
	}
	wrong, _ := PeerAuthenticationFor("STRICTEST").Untyped()
	if p := schemas["PeerAuthentication"].Validate(wrong); len(p) == 0 {
		t.Error("unknown mTLS mode accepted")
	}
}

func TestMeshBadArgs(t *testing.T) {
	for _, c := range []struct {
		mutate func(*MeshArgs)
		want   string
	}{
		{func(a *MeshArgs) { a.Version = "1.29" }, `Version: must be an exact Istio chart version like 1.29.6 (got "1.29")`},
		{func(a *MeshArgs) { a.MTLS = "OFF" }, `MTLS: must be one of STRICT, PERMISSIVE (got "OFF")`},
		{func(a *MeshArgs) { a.Callers["content-service"] = []string{"auth-service"} }, `caller "auth-service" is not namespace/serviceAccount`},
		{func(a *MeshArgs) { a.Issuer = "" }, "Issuer: required with Hosts"},
		{func(a *MeshArgs) { a.Tracing.SamplingPercent = 150 }, "Tracing.SamplingPercent: 150"},
		{func(a *MeshArgs) { a.Hosts = []string{"https://api.eduai.com"} }, `Hosts[0]: must be a DNS name (got "https://api.eduai.com")`},
		{func(a *MeshArgs) { a.IstiodReplicas = 0 }, "IstiodReplicas: must be at least 1 (got 0)"},
		{func(a *MeshArgs) { a.IstiodReplicas, a.IstiodMaxReplicas = 7, 5 }, "IstiodMaxReplicas: must be between istiodReplicas (7) and 50 (got 5)"},
	} {
		args := prodArgs()
		c.mutate(args)
		rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
			_, err := New(ctx, "mesh", args)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), c.want) || len(rec.Resources()) != 0 {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

// Issue #17: the chart autoscales istiod, so the minimum and the maximum
// are what count; 7 replicas without a maximum get a maximum of 7, not the
// chart's 5 (which would render min 7 / max 5).
func TestIstiodAutoscalerBounds(t *testing.T) {
	args := prodArgs()
	args.IstiodReplicas = 7
	rec := runMesh(t, args)
	pilot := rec.Named("kubernetes:helm.sh/v3:Release", "mesh-istiod").Inputs["values"].Mappable().(map[string]any)["pilot"].(map[string]any)
	if pilot["autoscaleMin"] != float64(7) || pilot["autoscaleMax"] != float64(7) {
		t.Errorf("istiod autoscaler %v, want min 7 max 7", pilot)
	}
	args.IstiodMaxReplicas = 10
	rec = runMesh(t, args)
	pilot = rec.Named("kubernetes:helm.sh/v3:Release", "mesh-istiod").Inputs["values"].Mappable().(map[string]any)["pilot"].(map[string]any)
	if pilot["autoscaleMin"] != float64(7) || pilot["autoscaleMax"] != float64(10) {
		t.Errorf("istiod autoscaler %v, want min 7 max 10", pilot)
	}
}

// The public NLB is the mesh's own LoadBalancer Service (its address is what
// DNS points at); the gateway chart's Service stays in-cluster.
func TestIngressLoadBalancer(t *testing.T) {
	rec := runMesh(t, prodArgs())
	gateway := rec.Named("kubernetes:helm.sh/v3:Release", "mesh-ingress")
	if typ := gateway.Inputs["values"].Mappable().(map[string]any)["service"].(map[string]any)["type"]; typ != "ClusterIP" {
		t.Errorf("gateway chart Service type %v", typ)
	}
	lb := rec.Named("kubernetes:core/v1:Service", "mesh-ingress-lb")
	controller := rec.Named("kubernetes:helm.sh/v3:Release", "addons-aws-load-balancer-controller")
	if lb == nil || !contains(lb.Dependencies, gateway.URN) || !contains(lb.Dependencies, controller.URN) {
		t.Fatalf("LB Service %v", lb)
	}
	// The Certificate waits for cert-manager (its CRD and webhook).
	cert := rec.Named("kubernetes:cert-manager.io/v1:Certificate", "mesh-certificate")
	if cm := rec.Named("kubernetes:helm.sh/v3:Release", "addons-cert-manager"); cert == nil || !contains(cert.Dependencies, cm.URN) {
		t.Errorf("the Certificate does not wait for cert-manager: %v", cert)
	}
	m := lb.Inputs.Mappable()
	meta, spec := m["metadata"].(map[string]any), m["spec"].(map[string]any)
	ann := meta["annotations"].(map[string]any)
	if meta["name"] != IngressService || meta["namespace"] != IngressNamespace || spec["type"] != "LoadBalancer" ||
		spec["selector"].(map[string]any)["istio"] != "ingress" ||
		ann["service.beta.kubernetes.io/aws-load-balancer-scheme"] != "internet-facing" ||
		ann["service.beta.kubernetes.io/aws-load-balancer-type"] != "external" {
		t.Errorf("LB Service %v", m)
	}
	ports := map[float64]bool{}
	for _, p := range spec["ports"].([]any) {
		ports[p.(map[string]any)["port"].(float64)] = true
	}
	if len(ports) != 2 || !ports[80] || !ports[443] {
		t.Errorf("ports %v", ports)
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
