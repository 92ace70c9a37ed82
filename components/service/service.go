// Package service deploys one platform service with the rollout strategy it
// declares:
//   - rolling: one Deployment (maxSurge 25 %, maxUnavailable 25 %, progress
//     deadline 600 s, 10 revisions kept);
//   - blueGreen: a Deployment per color; traffic goes to the active color by
//     Service selector (no mesh) or by VirtualService weights over
//     DestinationRule subsets (mesh); a smoke-test Job must pass against the
//     active color before traffic moves; the idle color scales to zero once
//     its keep-until time has passed;
//   - canary: an Argo Rollouts Rollout over the Deployment's pod template
//     (workloadRef) with the seed's steps, canary and stable Services,
//     Istio host-level traffic routing over those two Services with the mesh,
//     and an AnalysisTemplate comparing, on the mesh's telemetry, the
//     canary's error rate and p95 latency with the stable pods'.
//
// Every service gets its ConfigMap (env and connection endpoints), probes,
// requests and limits, a locked-down security context, an HPA or fixed
// replicas, a PodDisruptionBudget where it cannot block a drain, a
// ServiceMonitor, an optional Ingress with cert-manager TLS and a rate
// limit, and an optional migration Job the workload waits for.
package service

import (
	"errors"
	"fmt"
	"github.com/eduai/infra/components/internal/dnsname"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/eduai/infra/components/enum"
	"github.com/eduai/infra/components/field"

	"github.com/eduai/infra/components/internal/podidentity"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Strategy is how a new version reaches users.
type Strategy string

const (
	Rolling   Strategy = "rolling"
	BlueGreen Strategy = "blueGreen"
	Canary    Strategy = "canary"
)

// Strategies lists them.
var Strategies = []Strategy{Rolling, BlueGreen, Canary}

// Color is one of a blue-green service's two versions.
type Color string

// Colors of a blue-green service.
const (
	Blue  Color = "blue"
	Green Color = "green"
)

// Colors lists the colors.
var Colors = []Color{Blue, Green}

// Probe paths and the seed's timings.
const (
	StartupPath   = "/startup"
	LivenessPath  = "/health"
	ReadinessPath = "/ready"
	MetricsPath   = "/metrics"
)

// Resources are a container's requests and limits (Kubernetes quantities).
type Resources struct {
	RequestCPU, RequestMemory, LimitCPU, LimitMemory string
}

// Autoscaling sizes the workload by CPU and memory use.
type Autoscaling struct {
	Min, Max                  int
	CPUPercent, MemoryPercent int
}

// Ingress publishes a path of a host through ingress-nginx.
type Ingress struct {
	Host, Path string
	// Issuer is the cert-manager ClusterIssuer of the TLS certificate.
	Issuer string
	// RateLimitRPS per client address (nginx limit-rps).
	RateLimitRPS int
	// Aliases are more hosts with the same path (a region's own name, which
	// the DNS health check calls).
	Aliases []string
	// Health publishes the service's /health on the hosts: the DNS failover
	// health check's target.
	Health bool
}

// BlueGreenArgs picks the active color and the image tag of each color.
type BlueGreenArgs struct {
	ActiveColor       Color
	BlueTag, GreenTag string
	// KeepIdleUntil: the idle color runs until then, then scales to zero. Zero: keep it.
	KeepIdleUntil time.Time
	// Now is the clock (the stack passes time.Now; tests pin it).
	Now time.Time
}

// Migration is the expand/contract pair of a release's schema change, each a
// Job in the new image with the service's environment. Command (expand) runs
// before the new version and must leave the schema usable by the old one;
// Contract, optional, runs once the new version serves alone (the Rollout
// healthy, the Deployment rolled out, the idle blue-green color scaled to
// zero) and removes what only the old version used. Both must be
// idempotent: a Job is retried and rerun per tag.
type Migration struct {
	Command  []string
	Contract []string
}

// Args configures one service.
type Args struct {
	// Name is the service's name and app label. Required.
	Name string
	// Namespace it runs in (sidecar injection on with the mesh). Required.
	Namespace string
	// Repository (required) and Tag of the image; no tag pulls the registry's latest.
	Repository, Tag string
	Strategy        Strategy
	// Port the container listens on (HTTP, probes and metrics).
	Port int
	// Replicas when Autoscaling is nil.
	Replicas    int
	Autoscaling *Autoscaling
	Resources   Resources
	// Env is put in the service's ConfigMap.
	Env map[string]string
	// SecretEnv holds the env values that are secrets (a `secure:` value in
	// the stack config): they go into the service's own Kubernetes Secret,
	// marked secret in the plan and the state, never into the ConfigMap.
	SecretEnv map[string]string
	// Connections are endpoints of the data stores (outputs), added to the ConfigMap.
	Connections map[string]pulumi.StringInput
	// SecretEnvFrom names existing Secrets whose keys become env (optional ones).
	SecretEnvFrom []string
	Ingress       *Ingress
	// Mesh: Istio is installed (VirtualService/DestinationRule routing; Jobs opt out of injection).
	Mesh bool
	// Monitoring: the Prometheus operator runs (ServiceMonitor, canary analysis).
	Monitoring bool
	// PrometheusURL answers the canary analysis' queries.
	PrometheusURL string
	// NoProbes leaves out the startup, liveness and readiness probes (a
	// worker without HTTP); the policy pack blocks such a workload.
	NoProbes bool
	// NoAnalysis runs a canary without its analysis; the pack blocks that in prod.
	NoAnalysis bool
	// Follows marks a DR standby's copy of a canary: it depends (DependsOn)
	// on the active region's release of the same version, so its Rollout runs
	// no steps and no analysis and takes the version at once (the pack
	// accepts that only with the dependency in the plan).
	Follows   bool
	BlueGreen BlueGreenArgs
	Migration *Migration
	// AWS access through EKS Pod Identity: the cluster and the role's policy. Nil: none.
	AWSAccess *AWSAccess
	// Prerequisites: what every Kubernetes object of the service waits for:
	// what creates its namespace (the API server answers `namespaces "x"
	// not found` before).
	Prerequisites []pulumi.Resource
	// CRDs: what the custom resources also wait for, the releases that
	// install their CRDs (Istio's base chart, kube-prometheus-stack, Argo
	// Rollouts: `no matches for kind` before).
	CRDs []pulumi.Resource
	// DependsOn: what the workloads also wait for (nodes: pods need them).
	DependsOn []pulumi.Resource
	// Isolation opens the service's pods to what they need in a namespace
	// that denies everything (netpol.go); nil: no NetworkPolicy.
	Isolation *Isolation
}

// AWSAccess is a service's AWS permissions.
type AWSAccess struct {
	// Cluster is the EKS cluster's name as the cluster's output
	// (cluster.Cluster.ClusterName), so the association waits for the cluster.
	Cluster pulumi.StringInput
	Policy  pulumi.StringInput
}

var (
	namePattern     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,40}[a-z0-9])?$`)
	quantityPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G)?$`)
	tagPattern      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	pathPattern     = regexp.MustCompile(`^/[A-Za-z0-9/_.-]*$`)
)

// ValidName tells whether n can name a service.
func ValidName(n string) bool { return namePattern.MatchString(n) }

// ValidQuantity tells whether q is a Kubernetes quantity we accept.
func ValidQuantity(q string) bool { return quantityPattern.MatchString(q) }

// ValidTag tells whether t is an image tag.
func ValidTag(t string) bool { return tagPattern.MatchString(t) }

// ValidPath tells whether p is an ingress path.
func ValidPath(p string) bool { return pathPattern.MatchString(p) }

// Validate checks the arguments' values (not the wiring: namespace,
// issuer, Prometheus) and names each wrong field (field.List); stacks/
// reports them at their config keys.
func (a *Args) Validate() error {
	var errs field.List
	if !namePattern.MatchString(a.Name) {
		errs.Add(field.Format, "Name", nil, "service names are 1..42 lowercase letters, digits and dashes")
	}
	if a.Repository == "" || strings.ContainsAny(a.Repository, " :@") {
		errs.Add(field.Format, "Repository", a.Repository, "must be an image repository like registry.gitlab.com/eduai/%s", a.Name)
	}
	// No tag (the registry's latest) is the policy pack's verdict, not an error here.
	if a.Tag != "" && !tagPattern.MatchString(a.Tag) {
		errs.Add(field.Format, "Tag", a.Tag, "must be an image tag")
	}
	if !enum.Valid(a.Strategy, Strategies) {
		errs.Add(field.Enum, "Strategy", string(a.Strategy), "must be one of %s", enum.Describe(Strategies))
	}
	if a.Port < 1 || a.Port > 65535 {
		errs.Add(field.Range, "Port", a.Port, "must be 1..65535")
	}
	// Replicas count only without an autoscaler.
	if a.Autoscaling == nil && (a.Replicas < 1 || a.Replicas > 100) {
		errs.Add(field.Range, "Replicas", a.Replicas, "must be 1..100")
	}
	if s := a.Autoscaling; s != nil {
		if s.Min < 1 || s.Max < s.Min || s.Max > 100 {
			errs.Add(field.Range, "Autoscaling", nil, "needs 1 <= min <= max <= 100 (got min %d, max %d)", s.Min, s.Max)
		}
		for name, p := range map[string]int{"CPUPercent": s.CPUPercent, "MemoryPercent": s.MemoryPercent} {
			if p < 1 || p > 100 {
				errs.Add(field.Range, "Autoscaling."+name, p, "must be 1..100")
			}
		}
	}
	r := a.Resources
	for _, q := range []struct{ name, value string }{{"RequestCPU", r.RequestCPU}, {"RequestMemory", r.RequestMemory},
		{"LimitCPU", r.LimitCPU}, {"LimitMemory", r.LimitMemory}} {
		if !quantityPattern.MatchString(q.value) {
			errs.Add(field.Format, "Resources."+q.name, q.value, "must be a Kubernetes quantity like 500m or 2Gi")
		}
	}
	if in := a.Ingress; in != nil {
		if !dnsname.Host(in.Host) {
			errs.Add(field.Format, "Ingress.Host", in.Host, "must be a DNS name")
		}
		if !pathPattern.MatchString(in.Path) {
			errs.Add(field.Format, "Ingress.Path", in.Path, "must be a path like /api/v1/content")
		}
		if in.RateLimitRPS < 1 {
			errs.Add(field.Range, "Ingress.RateLimitRPS", in.RateLimitRPS, "must be at least 1")
		}
	}
	if iso := a.Isolation; iso != nil {
		for i, c := range iso.Callers {
			if ns, sa, ok := strings.Cut(c, "/"); !ok || !dnsname.Label(ns) || !dnsname.Label(sa) {
				errs.Add(field.Format, fmt.Sprintf("Isolation.Callers[%d]", i), c, "must be namespace/serviceAccount")
			}
		}
	}
	if b := a.BlueGreen; a.Strategy == BlueGreen {
		if !enum.Valid(b.ActiveColor, Colors) {
			errs.Add(field.Enum, "BlueGreen.ActiveColor", string(b.ActiveColor), "must be one of %s", enum.Describe(Colors))
		}
		for _, t := range []struct{ name, tag string }{{"BlueTag", b.BlueTag}, {"GreenTag", b.GreenTag}} {
			if t.tag != "" && !tagPattern.MatchString(t.tag) {
				errs.Add(field.Format, "BlueGreen."+t.name, t.tag, "must be an image tag")
			}
		}
	}
	if m := a.Migration; m != nil && len(m.Command) == 0 {
		errs.Add(field.Required, "Migration.Command", nil, "must name the command to run")
	}
	if m := a.Migration; m != nil && m.Contract != nil && len(m.Contract) == 0 {
		errs.Add(field.Required, "Migration.Contract", nil, "must name the command to run (omit it for no contract step)")
	}
	return errs.Err()
}

func (a *Args) validate() error {
	errs := []error{a.Validate()}
	if a.Namespace == "" {
		errs = append(errs, errors.New("Namespace is required"))
	}
	if in := a.Ingress; in != nil && in.Issuer == "" {
		errs = append(errs, errors.New("Ingress.Issuer: required (the certificate of its host)"))
	}
	if a.Strategy == Canary && a.Monitoring && a.PrometheusURL == "" {
		errs = append(errs, errors.New("PrometheusURL: required for a canary's analysis"))
	}
	return errors.Join(errs...)
}

// Service is the component.
type Service struct {
	pulumi.ResourceState
	// Host is the in-cluster DNS name of the service.
	Host string
}

// New deploys the service. It needs the Kubernetes provider (and the AWS
// provider with AWSAccess) among its providers.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Service, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("service %q: %w", name, err)
	}
	c := &Service{Host: args.Name + "." + args.Namespace + ".svc.cluster.local"}
	if err := ctx.RegisterComponentResource("eduai:service:Service", name, c, opts...); err != nil {
		return nil, err
	}
	b := &builder{ctx: ctx, name: name, args: args, owner: pulumi.Parent(c),
		parent: pulumi.Composite(pulumi.Parent(c), pulumi.DependsOn(args.Prerequisites)),
		custom: pulumi.Composite(pulumi.Parent(c), pulumi.DependsOn(append(slices.Clone(args.Prerequisites), args.CRDs...)))}
	if err := b.build(); err != nil {
		return nil, err
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"host": pulumi.String(c.Host)})
}

func (b *builder) build() error {
	a := b.args
	deps := slices.Clone(a.DependsOn)
	if a.AWSAccess != nil {
		assoc, err := podidentity.New(b.ctx, b.name, podidentity.Binding{Cluster: a.AWSAccess.Cluster,
			Namespace: a.Namespace, ServiceAccount: a.Name, Policy: a.AWSAccess.Policy}, b.owner)
		if err != nil {
			return err
		}
		deps = append(deps, assoc)
	}
	prereqs, err := b.basics()
	if err != nil {
		return err
	}
	deps = append(deps, prereqs...)
	if a.Migration != nil {
		job, err := b.migrationJob(deps)
		if err != nil {
			return err
		}
		// The new revision waits for its migration; a failed Job stops the deploy.
		deps = append(deps, job)
	}
	switch a.Strategy {
	case Rolling:
		var dep pulumi.Resource
		dep, err = b.deployment(b.name, a.Name, nil, a.Tag, b.replicas(), deps)
		b.released = []pulumi.Resource{dep}
		if err == nil {
			err = b.autoscaler("Deployment", a.Name)
		}
		if err == nil {
			err = b.service(b.name, a.Name, nil, map[string]string{metricsLabel: "true"})
		}
	case BlueGreen:
		err = b.blueGreen(deps)
	case Canary:
		err = b.canary(deps)
	}
	if err != nil {
		return err
	}
	if err := b.contractJob(deps); err != nil {
		return err
	}
	if err := b.networkPolicy(); err != nil {
		return err
	}
	return b.extras()
}
