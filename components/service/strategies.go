package service

import (
	"slices"

	"github.com/eduai/infra/components/internal/k8sobj"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	k8smeta "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var crLabels = func(app string) map[string]string {
	return map[string]string{"app": app, "app.kubernetes.io/part-of": "eduai", "app.kubernetes.io/managed-by": "pulumi"}
}

// Gateway is the mesh's public Gateway (components/mesh) that external
// traffic enters through when the mesh is on.
const Gateway = "istio-ingress/public"

// metricsLabel marks the one Service a ServiceMonitor scrapes per service.
const metricsLabel = "eduai.io/metrics"

// httpRoute is the service's route: in-mesh by host, and from the public
// gateway by the ingress path.
func (a *Args) httpRoute(dests []RouteDestination) (hosts, gateways []string, route HTTPRoute) {
	hosts = []string{a.Name}
	route = HTTPRoute{Name: "primary", Route: dests}
	if a.Ingress != nil {
		hosts = append(append(hosts, a.Ingress.Host), a.Ingress.Aliases...)
		gateways = []string{Gateway, "mesh"}
		// Everything from the sidecars; from the gateway only the public routes.
		route.Match = []HTTPMatch{{Gateways: []string{"mesh"}}}
	}
	return hosts, gateways, route
}

// publicRoutes are the routes from the gateway: the ingress path, and /health when it is published.
func (a *Args) publicRoutes(dests []RouteDestination) []HTTPRoute {
	fromGateway := []string{Gateway}
	routes := []HTTPRoute{{Name: "public", Match: []HTTPMatch{{URI: &StringMatch{Prefix: a.Ingress.Path}, Gateways: fromGateway}},
		Route: dests}}
	if a.Ingress.Health {
		routes = append(routes, HTTPRoute{Name: "health", Match: []HTTPMatch{{URI: &StringMatch{Exact: LivenessPath},
			Gateways: fromGateway}}, Route: dests})
	}
	return routes
}

// SubsetDestinations are the service's subsets (in order) with their weights.
func SubsetDestinations(a *Args, weights map[string]int, order []string) []RouteDestination {
	var dests []RouteDestination
	for _, subset := range order {
		dests = append(dests, RouteDestination{Destination: Destination{Host: a.Name, Subset: subset}, Weight: weights[subset]})
	}
	return dests
}

// VirtualServiceFor routes the service's traffic to the given destinations.
func VirtualServiceFor(a *Args, dests []RouteDestination) Object {
	hosts, gateways, route := a.httpRoute(dests)
	spec := VirtualServiceSpec{Hosts: hosts, Gateways: gateways, HTTP: []HTTPRoute{route}}
	if a.Ingress != nil {
		// From the gateway only the ingress path; inside the mesh everything.
		spec.HTTP = append(a.publicRoutes(dests), route)
	}
	return Object{APIVersion: "networking.istio.io/v1", Kind: "VirtualService",
		Metadata: Meta{Name: a.Name, Namespace: a.Namespace, Labels: crLabels(a.Name)}, Spec: spec}
}

// DestinationRuleFor names the subsets by the label that tells them apart.
func DestinationRuleFor(a *Args, subsets map[string]map[string]string, order []string) Object {
	spec := DestinationRuleSpec{Host: a.Name}
	for _, name := range order {
		spec.Subsets = append(spec.Subsets, Subset{Name: name, Labels: subsets[name]})
	}
	return Object{APIVersion: "networking.istio.io/v1", Kind: "DestinationRule",
		Metadata: Meta{Name: a.Name, Namespace: a.Namespace, Labels: crLabels(a.Name)}, Spec: spec}
}

// idle is the color not serving.
func idle(active Color) Color {
	if active == Blue {
		return Green
	}
	return Blue
}

// BlueGreenWeights is the VirtualService weight of each color.
func BlueGreenWeights(active Color) map[string]int {
	return map[string]int{string(active): 100, string(idle(active)): 0}
}

func (b *builder) blueGreen(deps []pulumi.Resource) error {
	a, g := b.args, b.args.BlueGreen
	// Colors name objects and label pods: strings from here on.
	active, standby, blue, green := string(g.ActiveColor), string(idle(g.ActiveColor)), string(Blue), string(Green)
	tags := map[string]string{blue: g.BlueTag, green: g.GreenTag}
	for c, t := range tags {
		if t == "" {
			tags[c] = a.Tag
		}
	}
	// The idle color keeps running (fixed size) until KeepIdleUntil, then scales to zero.
	idleReplicas := b.minReplicas()
	if !g.KeepIdleUntil.IsZero() && g.Now.After(g.KeepIdleUntil) {
		idleReplicas = 0
	}
	// Both colors carry explicit replicas. Leaving the active color's field to
	// its HPA would, at a switch, make server-side apply drop the field the
	// program owned (the idle color's count) and the Deployment fall back to
	// its default of 1 pod (Kubernetes, "Server-Side Apply": a field no
	// manager owns any more is reset to its default). So the color that is
	// to serve starts at the autoscaler's minimum and the HPA scales it from
	// there; its inputs change only at a switch or a new tag, so an unchanged
	// `pulumi up` does not reset the HPA's count.
	replicas := map[string]pulumi.IntPtrInput{active: pulumi.IntPtr(b.minReplicas()), standby: pulumi.IntPtr(idleReplicas)}
	deployments := map[string]pulumi.Resource{}
	for _, color := range []string{blue, green} {
		dep, err := b.deployment(b.name+"-"+color, a.Name+"-"+color, map[string]string{"version": color},
			tags[color], replicas[color], deps)
		if err != nil {
			return err
		}
		deployments[color] = dep
		// Each color has its own Service: the smoke test reaches a color directly.
		if err := b.service(b.name+"-"+color, a.Name+"-"+color, map[string]string{"version": color}, nil); err != nil {
			return err
		}
	}
	if err := b.autoscaler("Deployment", a.Name+"-"+active); err != nil {
		return err
	}
	// -preview reaches the idle color, where the next version is tried before the switch.
	if err := b.service(b.name+"-preview", a.Name+"-preview", map[string]string{"version": standby}, nil); err != nil {
		return err
	}
	// The smoke test runs as an account of its own: no API token, no AWS access.
	smokeSA, err := corev1.NewServiceAccount(b.ctx, b.name+"-smoke", &corev1.ServiceAccountArgs{
		Metadata:                     b.meta(SmokeAccount(a.Name), nil),
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, b.parent)
	if err != nil {
		return err
	}
	// The switch waits for the smoke test of the color that is to serve, in
	// its image version; the test starts once that color's Deployment is
	// fully rolled out and scaled (Pulumi awaits a Deployment until its
	// updated replicas are all available). With the mesh it runs in the mesh
	// (a sidecar, and the service's ALLOW policy names its account: see SmokeCaller).
	smoke, err := b.job(b.name+"-smoke", jobName(a.Name+"-smoke-"+active, tags[active]), SmokeImage,
		[]string{"sh", "-c", smokeScript("http://" + a.Name + "-" + active + "." + a.Namespace + ".svc.cluster.local")},
		nil, nil, SmokeAccount(a.Name), append(slices.Clone(deps), smokeSA, deployments[active]), a.Mesh)
	if err != nil {
		return err
	}
	afterSmoke := pulumi.DependsOn([]pulumi.Resource{smoke})
	metrics := map[string]string{metricsLabel: "true"}
	// The new version serves alone once the switch is made and the idle
	// color has no pods left: then the contract migration may run.
	b.activeTag = tags[active]
	released := func(sw pulumi.Resource) {
		if idleReplicas == 0 {
			b.released = []pulumi.Resource{sw, deployments[standby]}
		}
	}
	if !a.Mesh {
		// Without the mesh the Service's selector is the switch.
		sw, err := b.newService(b.name, a.Name, map[string]string{"version": active}, metrics, afterSmoke)
		released(sw)
		return err
	}
	// With the mesh the Service selects both colors; the VirtualService's weights are the switch.
	if err := b.service(b.name, a.Name, nil, metrics); err != nil {
		return err
	}
	order := []string{blue, green}
	subsets := map[string]map[string]string{blue: {"version": blue}, green: {"version": green}}
	if _, err := k8sobj.New(b.ctx, b.name+"-destinations", DestinationRuleFor(a, subsets, order), b.custom); err != nil {
		return err
	}
	sw, err := k8sobj.New(b.ctx, b.name+"-routes", VirtualServiceFor(a, SubsetDestinations(a, BlueGreenWeights(g.ActiveColor), order)), b.custom, afterSmoke)
	if err != nil {
		return err
	}
	released(sw)
	if !a.Monitoring || a.NoAnalysis {
		return nil
	}
	// After the switch, the serving color is measured; the contract step waits for it too.
	timeout := AnalysisRunTimeout().String()
	run, err := k8sobj.NewAnnotated(b.ctx, b.name+"-analysis", BlueGreenAnalysisRunFor(a, active, tags[active]),
		pulumi.StringMap{WaitForAnnotation: pulumi.String(AnalysisRunWaitFor)}, b.custom,
		pulumi.DependsOn([]pulumi.Resource{sw}), pulumi.DeleteBeforeReplace(true),
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: timeout, Update: timeout}))
	if len(b.released) > 0 {
		b.released = append(b.released, run)
	}
	return err
}

// SmokeAccount is the service account of a blue-green service's smoke test.
func SmokeAccount(service string) string { return service + "-smoke" }

// SmokeCaller is the smoke test as a caller ("namespace/serviceAccount"),
// which the service's Istio ALLOW policy must name: under the mesh's
// allow-nothing default a caller not named is refused (403).
func SmokeCaller(namespace, service string) string { return namespace + "/" + SmokeAccount(service) }

// smokeScript waits up to 2.5 minutes for the target to be ready and healthy.
func smokeScript(base string) string {
	return "for i in $(seq 1 30); do curl -fsS " + base + ReadinessPath + " && curl -fsS " + base + LivenessPath +
		" && exit 0; sleep 5; done; echo 'smoke test failed: " + base + "'; exit 1"
}

// serviceMonitor scrapes the service's own metrics, with the pods' version and
// Argo Rollouts' pod-template hash as labels, for the dashboards and alerts
// where Prometheus reaches the pods (no STRICT mTLS). The canary analysis
// does not read them: it reads the sidecars' telemetry (canary.go).
func (b *builder) serviceMonitor() error {
	a := b.args
	obj := Object{APIVersion: "monitoring.coreos.com/v1", Kind: "ServiceMonitor",
		Metadata: Meta{Name: a.Name, Namespace: a.Namespace, Labels: crLabels(a.Name)},
		Spec: monitoringv1.ServiceMonitorSpec{
			Selector:        k8smeta.LabelSelector{MatchLabels: map[string]string{"app": a.Name, metricsLabel: "true"}},
			PodTargetLabels: []string{"version", "rollouts-pod-template-hash"},
			Endpoints:       []monitoringv1.Endpoint{{Port: "http", Path: MetricsPath, Interval: "30s"}},
		}}
	_, err := k8sobj.New(b.ctx, b.name+"-monitor", obj, b.custom)
	return err
}

// ingress publishes the service through ingress-nginx with cert-manager TLS
// and a per-client rate limit (used without the mesh; with it the mesh's
// Gateway and the VirtualService publish it).
func (b *builder) ingress() error {
	a, in := b.args, b.args.Ingress
	meta := b.meta(a.Name, nil)
	meta.Annotations = pulumi.StringMap{
		"cert-manager.io/cluster-issuer":           pulumi.String(in.Issuer),
		"nginx.ingress.kubernetes.io/limit-rps":    pulumi.Sprintf("%d", in.RateLimitRPS),
		"nginx.ingress.kubernetes.io/ssl-redirect": pulumi.String("true"),
	}
	backend := networkingv1.IngressBackendArgs{Service: networkingv1.IngressServiceBackendArgs{
		Name: pulumi.String(a.Name), Port: networkingv1.ServiceBackendPortArgs{Number: pulumi.Int(80)}}}
	paths := networkingv1.HTTPIngressPathArray{
		networkingv1.HTTPIngressPathArgs{Path: pulumi.String(in.Path), PathType: pulumi.String("Prefix"), Backend: backend}}
	if in.Health {
		paths = append(paths, networkingv1.HTTPIngressPathArgs{Path: pulumi.String(LivenessPath),
			PathType: pulumi.String("Exact"), Backend: backend})
	}
	hosts := append([]string{in.Host}, in.Aliases...)
	var rules networkingv1.IngressRuleArray
	for _, h := range hosts {
		rules = append(rules, networkingv1.IngressRuleArgs{Host: pulumi.String(h),
			Http: networkingv1.HTTPIngressRuleValueArgs{Paths: paths}})
	}
	_, err := networkingv1.NewIngress(b.ctx, b.name, &networkingv1.IngressArgs{
		Metadata: meta,
		Spec: networkingv1.IngressSpecArgs{
			IngressClassName: pulumi.String("nginx"),
			Tls: networkingv1.IngressTLSArray{networkingv1.IngressTLSArgs{
				Hosts: pulumi.ToStringArray(hosts), SecretName: pulumi.String(a.Name + "-tls")}},
			Rules: rules,
		},
	}, b.parent)
	return err
}
