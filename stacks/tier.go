package stacks

import (
	"maps"
	"slices"

	"github.com/eduai/infra/components/addons"
	"github.com/eduai/infra/components/cluster"
	"github.com/eduai/infra/components/dns"
	"github.com/eduai/infra/components/gitops"
	"github.com/eduai/infra/components/mesh"
	"github.com/eduai/infra/components/network"
	"github.com/eduai/infra/components/observability"
	"github.com/eduai/infra/components/service"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RegionRole is a region's part: the primary region is aws:region, the
// secondary eduai:dr.region.
type RegionRole string

// Region roles.
const (
	PrimaryRegion   RegionRole = "primary"
	SecondaryRegion RegionRole = "secondary"
)

// RegionRoles lists the roles.
var RegionRoles = []RegionRole{PrimaryRegion, SecondaryRegion}

// tier is one region's application tier: the EKS cluster, the cluster
// add-ons, the mesh, observability and the services. Both regions build it
// with the same code; the region that is not active (eduai:dr.activeRegion)
// gets a standby copy of the config (see standby).
type tier struct {
	// prefix starts the tier's logical names: "" in the primary region, "dr-" in the secondary.
	prefix string
	// cfg is the config the tier is built from (the stack's, or its standby copy).
	cfg *Config
	aws *aws.Provider
	net *network.Vpc
	// stores are the tier region's data stores.
	stores dataStores
	// zone is the public zone of the hosts (eduai:dns); nil without one.
	zone *dns.Zone
	// apiAccess is the cluster's API endpoint security group (it admits the runners).
	apiAccess *cluster.APIAccess
	// after holds the active tier's services, by name, which a standby tier's
	// services wait for (issue #19): the standby takes a version only once
	// the active region has released it (its Rollout Healthy, its analysis
	// passed), so it runs the stable version, never one under analysis.
	after map[string]pulumi.Resource
}

// tierResult is what DNS and the exports need from a tier.
type tierResult struct {
	cfg      *Config
	eks      *cluster.Cluster
	platform *addons.ClusterAddons
	mesh     *mesh.Mesh
	watch    *observability.Observability
	// services are the tier's service components, by name.
	services map[string]pulumi.Resource
}

// StandbyPods is how many pods each service runs in the standby region: two,
// so one node or one bad pod never leaves the SECONDARY record without a target.
const StandbyPods = 2

// tierConfig is the config of a region's tier: the active region's is the
// stack's own; the other region's is its standby copy. The secondary
// region's copy also takes its region, network and names.
func (c *Config) tierConfig(role RegionRole) *Config {
	t := *c
	if role == SecondaryRegion {
		t.Region, t.Network, t.regionSuffix = c.DR.Region, c.DR.Network, "-dr"
	}
	if c.DR.Enabled && c.DR.ActiveRegion != role {
		t.standby()
	}
	return &t
}

// standby shrinks the tier to a pilot light that can take over: every node
// group at dr.standby.nodesPerGroup nodes (same groups, so activation only
// scales), the platform add-ons and the mesh as configured, logs only, and
// each service at StandbyPods pods running its stable version (its workloads
// wait for the active tier's release of it): a canary keeps its Rollout (so
// activation only scales it: turning a rolling Deployment into a Rollout's
// template would drop it to 0 pods before the Rollout had any, issue #19),
// without analysis (no Prometheus); a blue-green service runs its active
// color's tag with the rolling strategy (no pair); no migrations (the
// standby database is read-only).
func (c *Config) standby() {
	n := c.DR.Standby.NodesPerGroup
	groups := make(map[string]NodeGroupConfig, len(c.Cluster.NodeGroups))
	for name, g := range c.Cluster.NodeGroups {
		g.MinSize, g.DesiredSize = n, n
		groups[name] = g
	}
	c.Cluster.NodeGroups = groups
	c.Observability.Mode = observability.Logs
	services := make(map[string]ServiceConfig, len(c.Services))
	for name, s := range c.Services {
		if s.Strategy == service.BlueGreen {
			s.Image.Tag = s.activeTag()
		}
		if s.Strategy != service.Canary {
			s.Strategy = service.Rolling
		}
		s.Replicas, s.Migrations, s.BlueGreen, s.follows = StandbyPods, nil, BlueGreenConfig{}, true
		s.Autoscaling.Min = min(StandbyPods, s.Autoscaling.Max)
		services[name] = s
	}
	c.Services = services
	c.Mesh.IstiodReplicas = 1
	c.standbyTier = true
}

// activeTag is the image tag a blue-green service serves.
func (s ServiceConfig) activeTag() string {
	tag := s.BlueGreen.BlueTag
	if s.BlueGreen.ActiveColor == service.Green {
		tag = s.BlueGreen.GreenTag
	}
	if tag == "" {
		tag = s.Image.Tag
	}
	return tag
}

// regionalName is the tier region's own name under the failover record ("" without DNS).
func (c *Config) regionalName() string {
	if c.DR.DNS == nil {
		return ""
	}
	return dns.RegionalName(c.Region, c.DR.DNS.RecordName)
}

// cluster builds the tier's EKS cluster (with its node groups and managed
// add-ons: AWS APIs only, so the bootstrap's foundation phase builds it too).
func (t *tier) cluster(ctx *pulumi.Context, p *Providers) (*cluster.Cluster, error) {
	args := t.cfg.clusterArgs(t.net)
	args.APIAccess = t.apiAccess
	return cluster.NewCluster(ctx, t.prefix+"cluster", args, pulumi.Providers(t.aws, p.EKS, p.Random))
}

// deploy builds the tier: cluster, Kubernetes provider, add-ons, mesh (or a
// plain namespace), observability and services, in dependency order.
func (t *tier) deploy(ctx *pulumi.Context, p *Providers) (*tierResult, error) {
	c := t.cfg
	eks, err := t.cluster(ctx, p)
	if err != nil {
		return nil, err
	}
	k8s, err := newKubernetesProvider(ctx, t.prefix+"k8s", eks)
	if err != nil {
		return nil, err
	}
	platform, err := addons.New(ctx, t.prefix+"addons", c.addonsArgs(eks, t.net, t.zone), pulumi.Providers(t.aws, k8s))
	if err != nil {
		return nil, err
	}
	out := &tierResult{cfg: c, eks: eks, platform: platform}
	// The services' namespace: the mesh labels it for sidecar injection; without the mesh it is plain.
	var servicesNS pulumi.Resource
	if c.Mesh.Enabled {
		if out.mesh, err = mesh.New(ctx, t.prefix+"mesh", c.meshArgs(eks, platform), pulumi.Providers(k8s)); err != nil {
			return nil, err
		}
		servicesNS = out.mesh.ServicesNamespace
	} else if len(c.Services) > 0 {
		if servicesNS, err = service.NewNamespace(ctx, t.prefix+"services", ServicesNamespace, pulumi.Providers(k8s)); err != nil {
			return nil, err
		}
	}
	if out.watch, err = observability.New(ctx, t.prefix+"observability", c.observabilityArgs(eks),
		pulumi.Providers(t.aws, k8s, p.Random)); err != nil {
		return nil, err
	}
	if out.services, err = deployServices(ctx, c, t.prefix, eks, platform, t.stores, servicesNS, out.mesh, out.watch,
		t.after, pulumi.Providers(t.aws, k8s)); err != nil {
		return nil, err
	}
	if c.gitOpsOn() {
		args := c.gitOpsArgs()
		args.DependsOn = eks.Nodes()
		if _, err := gitops.New(ctx, t.prefix+"gitops", args, pulumi.Providers(k8s)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// gitOpsOn tells whether Argo CD runs in the tier.
func (c *Config) gitOpsOn() bool { return c.GitOps.Enabled }

// PlatformNamespaces belong to the platform: no GitOps Application may deliver into them.
var PlatformNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease", ServicesNamespace,
	"istio-system", "istio-ingress", "cert-manager", "monitoring", "amazon-cloudwatch", "argocd", "argo-rollouts"}

// gitOpsArgs converts eduai:gitops: auto-sync by default in dev only; HA in
// prod's active region.
func (c *Config) gitOpsArgs() *gitops.Args {
	g := c.GitOps
	args := &gitops.Args{HA: c.Environment == Prod && !c.standbyTier, Reserved: PlatformNamespaces,
		AdmitNamespaces: []string{addons.IngressNginxNamespace, mesh.IngressNamespace, observability.MonitoringNamespace}}
	gitOpsBindings.bind(args, &c.GitOps)
	for _, name := range slices.Sorted(maps.Keys(g.Applications)) {
		app, cfg := gitops.Application{Name: name}, g.Applications[name]
		applicationBindings.bind(&app, &cfg)
		args.Applications = append(args.Applications, app)
	}
	return args
}

// gitOpsBindings build Argo CD's arguments from eduai:gitops (the
// Applications entry by entry, through applicationBindings).
var (
	gitOpsBindings = bindings{{arg: "ChartVersion", key: "chartVersion"}, {arg: "Repos", key: "repos"},
		{arg: "AutoSync", key: "autoSync"}, {arg: "Applications", key: "applications", elem: applicationBindings}}
	applicationBindings = bindings{{arg: "Name", key: ""}, {arg: "RepoURL", key: "repoURL"}, {arg: "Path", key: "path"},
		{arg: "Chart", key: "chart"}, {arg: "TargetRevision", key: "targetRevision"}, {arg: "Namespace", key: "namespace"}}
)
