// Package mesh installs Istio by Helm (base, istiod, an ingress gateway
// behind an AWS NLB), labels the services' namespace for sidecar injection,
// and, from config, sets mesh-wide mTLS, a default-deny authorization policy
// with per-service allow policies, and a TLS Gateway whose certificate
// cert-manager issues. Custom resources are typed Go (types.go) and tests
// validate them against the upstream CRDs.
package mesh

import (
	"errors"
	"fmt"
	"github.com/eduai/infra/components/enum"
	"github.com/eduai/infra/components/field"
	"github.com/eduai/infra/components/internal/dnsname"
	"regexp"
	"slices"
	"sort"

	"github.com/eduai/infra/components/internal/k8sobj"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Repo is where Istio's charts are published.
const Repo = "https://istio-release.storage.googleapis.com/charts"

// Namespaces of the mesh.
const (
	SystemNamespace  = "istio-system"
	IngressNamespace = "istio-ingress"
	// IngressService is the public Service (an internet-facing NLB) in front of the ingress gateway.
	IngressService = "istio-ingress-public"
)

// MTLSMode is PeerAuthentication's mode.
type MTLSMode string

const (
	Strict     MTLSMode = "STRICT"
	Permissive MTLSMode = "PERMISSIVE"
)

// MTLSModes lists the modes the mesh component sets.
var MTLSModes = []MTLSMode{Strict, Permissive}

var (
	versionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
)

// ValidHost tells whether h is a DNS name the Gateway can serve.
func ValidHost(h string) bool { return dnsname.Host(h) }

// MeshArgs configures the mesh.
type MeshArgs struct {
	// Version of the Istio charts (base, istiod, gateway), exact. Required.
	Version string
	// ServicesNamespace is labelled for sidecar injection. Required.
	ServicesNamespace string
	// MTLS is the mesh-wide mode, one of MTLSModes.
	MTLS MTLSMode
	// DefaultDeny installs an allow-nothing AuthorizationPolicy in the services
	// namespace and one ALLOW policy per entry of Callers.
	DefaultDeny bool
	// Callers maps a service (its app label) to the principals allowed to call
	// it, "namespace/serviceAccount". The services component (#7) supplies them.
	Callers map[string][]string
	// IstiodReplicas is istiod's minimum replica count, at least 1; 2 or
	// more in prod.
	IstiodReplicas int
	// IstiodMaxReplicas caps istiod's autoscaler, at least IstiodReplicas.
	// Default 5 (the chart's), or IstiodReplicas when that is more.
	IstiodMaxReplicas int
	// Hosts served by the ingress Gateway over TLS; Issuer names the
	// ClusterIssuer for their certificate. No Gateway without hosts.
	Hosts  []string
	Issuer string
	// Tracing sends spans to an OTLP gRPC collector; nil: no tracing.
	Tracing *Tracing
	// DependsOn: resources the releases wait for (node groups: pods need nodes).
	DependsOn []pulumi.Resource
	// LoadBalancerController is the AWS load balancer controller's release:
	// the ingress NLB Service waits for it (its webhook admits the Service,
	// the controller makes the NLB). Required.
	LoadBalancerController pulumi.Resource
	// CertManager is cert-manager's release: the Certificate waits for it
	// (its CRD and webhook). Required with Hosts.
	CertManager pulumi.Resource
}

// Validate checks the arguments' values (not the wiring: releases,
// issuer, tracing, callers) and names each wrong field (field.List);
// stacks/ reports them at their config keys.
func (a *MeshArgs) Validate() error {
	var errs field.List
	if !versionPattern.MatchString(a.Version) {
		errs.Add(field.Format, "Version", a.Version, "must be an exact Istio chart version like 1.29.6")
	}
	if !enum.Valid(a.MTLS, MTLSModes) {
		errs.Add(field.Enum, "MTLS", string(a.MTLS), "must be one of %s", enum.Describe(MTLSModes))
	}
	if a.IstiodReplicas < 1 {
		errs.Add(field.Range, "IstiodReplicas", a.IstiodReplicas, "must be at least 1")
	}
	// 0: the autoscaler's maximum follows the minimum (5, or more).
	if a.IstiodMaxReplicas != 0 && (a.IstiodMaxReplicas < a.IstiodReplicas || a.IstiodMaxReplicas > 50) {
		errs.Add(field.Range, "IstiodMaxReplicas", a.IstiodMaxReplicas, "must be between istiodReplicas (%d) and 50",
			a.IstiodReplicas)
	}
	for i, h := range a.Hosts {
		if !dnsname.Host(h) {
			errs.Add(field.Format, fmt.Sprintf("Hosts[%d]", i), h, "must be a DNS name")
		}
	}
	return errs.Err()
}

func (a *MeshArgs) validate() error {
	errs := []error{a.Validate()}
	if !dnsname.Label(a.ServicesNamespace) {
		errs = append(errs, fmt.Errorf("ServicesNamespace: %q is not a namespace name", a.ServicesNamespace))
	}
	if a.LoadBalancerController == nil {
		errs = append(errs, errors.New("LoadBalancerController: required (the ingress NLB Service waits for it)"))
	}
	if len(a.Hosts) > 0 && a.CertManager == nil {
		errs = append(errs, errors.New("CertManager: required with Hosts (the Certificate waits for it)"))
	}
	if len(a.Hosts) > 0 && a.Issuer == "" {
		errs = append(errs, errors.New("Issuer: required with Hosts"))
	}
	if t := a.Tracing; t != nil {
		if !dnsname.Host(t.Service) && !dnsname.Label(t.Service) {
			errs = append(errs, fmt.Errorf("Tracing.Service: %q is not a service host name", t.Service))
		}
		if t.Port < 1 || t.Port > 65535 {
			errs = append(errs, fmt.Errorf("Tracing.Port: %d", t.Port))
		}
		if t.SamplingPercent < 0 || t.SamplingPercent > 100 {
			errs = append(errs, fmt.Errorf("Tracing.SamplingPercent: %d is not 0..100", t.SamplingPercent))
		}
	}
	for svc, callers := range a.Callers {
		if !dnsname.Label(svc) {
			errs = append(errs, fmt.Errorf("Callers: %q is not a service name", svc))
		}
		for _, c := range callers {
			if _, err := principal(c); err != nil {
				errs = append(errs, fmt.Errorf("Callers[%s]: %w", svc, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Tracing is where the proxies send spans and how many.
type Tracing struct {
	// Service and Port of the collector's OTLP gRPC receiver, like
	// jaeger-collector.monitoring.svc.cluster.local and 4317.
	Service string
	Port    int
	// SamplingPercent of requests traced, 0..100.
	SamplingPercent int
}

// Mesh is the component.
type Mesh struct {
	pulumi.ResourceState
	// Namespace is the services' namespace (sidecar injection on).
	Namespace pulumi.StringOutput
	// IngressHostname is the DNS name of the ingress NLB (DNS records point at it).
	IngressHostname pulumi.StringOutput
	// ServicesNamespace is the Namespace object of the services: what their
	// objects wait for (a dependency on the component would be the children
	// registered so far: the Go SDK's addDependency).
	ServicesNamespace pulumi.Resource
	// ControlPlane is istiod's release, installed after the CRDs (base):
	// what the Istio custom resources of others wait for.
	ControlPlane pulumi.Resource
}

// New installs the mesh. The component needs the Kubernetes provider.
func New(ctx *pulumi.Context, name string, args *MeshArgs, opts ...pulumi.ResourceOption) (*Mesh, error) {
	if args == nil {
		args = &MeshArgs{}
	}
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("mesh %q: %w", name, err)
	}
	mode, replicas := args.MTLS, args.IstiodReplicas
	maxReplicas := args.IstiodMaxReplicas
	if maxReplicas == 0 {
		maxReplicas = max(5, replicas)
	}
	c := &Mesh{}
	if err := ctx.RegisterComponentResource("eduai:mesh:Istio", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	release := func(suffix, chart, namespace string, values pulumi.Map, deps []pulumi.Resource) (*helmv3.Release, error) {
		return helmv3.NewRelease(ctx, name+"-"+suffix, &helmv3.ReleaseArgs{
			Name: pulumi.String("istio-" + suffix), Chart: pulumi.String(chart), Version: pulumi.String(args.Version),
			RepositoryOpts:  helmv3.RepositoryOptsArgs{Repo: pulumi.String(Repo)},
			Namespace:       pulumi.String(namespace),
			CreateNamespace: pulumi.Bool(true),
			Atomic:          pulumi.Bool(true),
			Timeout:         pulumi.Int(600),
			Values:          values,
		}, parent, pulumi.DependsOn(deps))
	}
	base, err := release("base", "base", SystemNamespace, pulumi.Map{}, args.DependsOn)
	if err != nil {
		return nil, err
	}
	istiodValues := pulumi.Map{
		// The istiod chart autoscales by default (pilot.autoscaleEnabled
		// true, autoscaleMin 1, autoscaleMax 5 in istio/istio
		// manifests/charts/istio-control/istio-discovery/values.yaml at
		// 1.29.6), so replicaCount alone does nothing: the HPA's bounds
		// decide, and both come from config.
		"pilot": pulumi.Map{"autoscaleEnabled": pulumi.Bool(true), "replicaCount": pulumi.Int(replicas),
			"autoscaleMin": pulumi.Int(replicas), "autoscaleMax": pulumi.Int(maxReplicas)},
		// istiod keeps a PodDisruptionBudget so a node drain never takes the control plane away.
		"global": pulumi.Map{"defaultPodDisruptionBudget": pulumi.Map{"enabled": pulumi.Bool(true)}},
	}
	if t := args.Tracing; t != nil {
		istiodValues["meshConfig"] = pulumi.Map{
			"enableTracing": pulumi.Bool(true),
			"extensionProviders": pulumi.Array{pulumi.Map{"name": pulumi.String(TracingProvider),
				"opentelemetry": pulumi.Map{"service": pulumi.String(t.Service), "port": pulumi.Int(t.Port)}}},
		}
	}
	istiod, err := release("istiod", "istiod", SystemNamespace, istiodValues, append(slices.Clone(args.DependsOn), base))
	if err != nil {
		return nil, err
	}
	// The chart's own Service stays in-cluster; the public NLB is the
	// Service below, whose address Pulumi waits for and hands to DNS.
	gateway, err := release("ingress", "gateway", IngressNamespace, pulumi.Map{
		"service": pulumi.Map{"type": pulumi.String("ClusterIP")},
	}, append(slices.Clone(args.DependsOn), istiod))
	if err != nil {
		return nil, err
	}
	lb, err := corev1.NewService(ctx, name+"-ingress-lb", &corev1.ServiceArgs{
		Metadata: metav1.ObjectMetaArgs{
			Name: pulumi.String(IngressService), Namespace: pulumi.String(IngressNamespace),
			Annotations: pulumi.StringMap{
				"service.beta.kubernetes.io/aws-load-balancer-type":            pulumi.String("external"),
				"service.beta.kubernetes.io/aws-load-balancer-scheme":          pulumi.String("internet-facing"),
				"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": pulumi.String("ip"),
			},
			Labels: pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String("eduai"),
				"app.kubernetes.io/managed-by": pulumi.String("pulumi")},
		},
		Spec: corev1.ServiceSpecArgs{
			Type:     pulumi.String("LoadBalancer"),
			Selector: pulumi.StringMap{"istio": pulumi.String("ingress")},
			Ports: corev1.ServicePortArray{
				corev1.ServicePortArgs{Name: pulumi.String("http2"), Port: pulumi.Int(80), TargetPort: pulumi.Int(80)},
				corev1.ServicePortArgs{Name: pulumi.String("https"), Port: pulumi.Int(443), TargetPort: pulumi.Int(443)},
			},
		},
	}, parent, pulumi.DependsOn([]pulumi.Resource{gateway, args.LoadBalancerController}))
	if err != nil {
		return nil, err
	}
	c.IngressHostname = lb.Status.LoadBalancer().Ingress().Index(pulumi.Int(0)).Hostname().Elem()

	ns, err := corev1.NewNamespace(ctx, name+"-services", &corev1.NamespaceArgs{
		Metadata: metav1.ObjectMetaArgs{
			Name: pulumi.String(args.ServicesNamespace),
			Labels: pulumi.StringMap{
				"istio-injection":              pulumi.String("enabled"),
				"app.kubernetes.io/part-of":    pulumi.String("eduai"),
				"app.kubernetes.io/managed-by": pulumi.String("pulumi"),
			},
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	c.Namespace = ns.Metadata.Name().Elem()
	c.ServicesNamespace, c.ControlPlane = ns, istiod

	afterIstiod := pulumi.DependsOn([]pulumi.Resource{istiod})
	if _, err := k8sobj.New(ctx, name+"-mtls", PeerAuthenticationFor(mode), parent, afterIstiod); err != nil {
		return nil, err
	}
	if args.Tracing != nil {
		if _, err := k8sobj.New(ctx, name+"-telemetry", TelemetryFor(args.Tracing.SamplingPercent), parent, afterIstiod); err != nil {
			return nil, err
		}
	}
	if args.DefaultDeny {
		afterNS := pulumi.DependsOn([]pulumi.Resource{istiod, ns})
		if _, err := k8sobj.New(ctx, name+"-deny-all", DenyAll(args.ServicesNamespace), parent, afterNS); err != nil {
			return nil, err
		}
		services := make([]string, 0, len(args.Callers))
		for svc := range args.Callers {
			services = append(services, svc)
		}
		sort.Strings(services)
		for _, svc := range services {
			policy, _ := AllowCallers(args.ServicesNamespace, svc, args.Callers[svc])
			if _, err := k8sobj.New(ctx, name+"-allow-"+svc, policy, parent, afterNS); err != nil {
				return nil, err
			}
		}
	}
	if len(args.Hosts) > 0 {
		afterGateway := pulumi.DependsOn([]pulumi.Resource{gateway})
		// The Certificate lives in the gateway's namespace, which the gateway
		// release creates, and needs cert-manager (its CRD and webhook).
		if _, err := k8sobj.New(ctx, name+"-certificate", CertificateFor(args.Hosts, args.Issuer), parent,
			pulumi.DependsOn([]pulumi.Resource{gateway, args.CertManager})); err != nil {
			return nil, err
		}
		if _, err := k8sobj.New(ctx, name+"-gateway", GatewayFor(args.Hosts), parent, afterGateway); err != nil {
			return nil, err
		}
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"namespace": c.Namespace, "ingressHostname": c.IngressHostname})
}
