// Package gitops installs Argo CD by Helm and declares what it may deliver:
// one AppProject whose sources are the teams' GitOps repositories and whose
// destinations are the namespaces this component creates for them, and one
// Application per workload. The ownership line: Pulumi owns the platform,
// the services it deploys and these namespaces; Argo CD owns what its
// Applications point to, inside those namespaces only (the project allows
// no cluster-scoped resources), so nothing is owned twice.
package gitops

import (
	"fmt"
	"github.com/eduai/infra/components/field"
	"github.com/eduai/infra/components/internal/netpol"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/eduai/infra/components/internal/k8sobj"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Repo publishes the argo-cd chart.
const Repo = "https://argoproj.github.io/argo-helm"

// Namespace is where Argo CD runs.
const Namespace = "argocd"

// Project is the AppProject every generated Application belongs to.
const Project = "eduai-teams"

// InClusterServer is the API server of the cluster Argo CD runs in.
const InClusterServer = "https://kubernetes.default.svc"

// Application is one workload a team delivers by GitOps.
type Application struct {
	// Name of the Application. Required (DNS label).
	Name string
	// RepoURL of the Git repository (or Helm repository with Chart). Required.
	RepoURL string
	// Path in the Git repository (manifests or a chart directory); or Chart, in a Helm repository.
	Path, Chart string
	// TargetRevision: a branch, tag or commit (Git) or a chart version. Required.
	TargetRevision string
	// Namespace the workload runs in; the component creates it. Required.
	Namespace string
}

// Args configures Argo CD and the teams' project.
type Args struct {
	// ChartVersion of argo-cd, exact. Required.
	ChartVersion string
	// Repos the project may deliver from (the seed's k8s-manifests and helm-charts). Required.
	Repos []string
	// Applications by GitOps.
	Applications []Application
	// AdmitNamespaces may reach the pods of the Applications' namespaces
	// (the ingress gateways, Prometheus); everything else is denied.
	AdmitNamespaces []string
	// AutoSync: Argo CD applies every commit (dev); otherwise a person syncs (staging, prod).
	AutoSync bool
	// HA runs the controller, repo server and API server with two replicas each.
	HA bool
	// Reserved namespaces belong to the platform; no Application may target them.
	Reserved []string
	// DependsOn: what the release waits for (nodes).
	DependsOn []pulumi.Resource
}

var (
	exactVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	dnsLabel     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	repoURL      = regexp.MustCompile(`^(https://[^\s]+|git@[^\s:]+:[^\s]+)$`)
)

// Validate reports every problem of the arguments.
func (a *Args) Validate() error {
	var errs field.List
	if !exactVersion.MatchString(a.ChartVersion) {
		errs.Add(field.Format, "ChartVersion", a.ChartVersion, "must be an exact chart version like 9.5.17")
	}
	if len(a.Repos) == 0 {
		errs.Add(field.Required, "Repos", nil, "must list at least one repository")
	}
	for i, r := range a.Repos {
		if !repoURL.MatchString(r) {
			errs.Add(field.Format, fmt.Sprintf("Repos[%d]", i), r, "must be an https:// or git@ URL")
		}
	}
	seen := map[string]bool{}
	for _, app := range a.Applications {
		at := "Applications[" + app.Name + "]"
		switch {
		case !dnsLabel.MatchString(app.Name):
			errs.Add(field.Format, at, nil, "the name must be a DNS label")
		case seen[app.Name]:
			errs.Add(field.Conflict, at, nil, "names an application twice")
		}
		seen[app.Name] = true
		if !slices.Contains(a.Repos, app.RepoURL) {
			errs.Add(field.Conflict, at+".RepoURL", app.RepoURL, "must be one of the project's repos (%s)", strings.Join(a.Repos, ", "))
		}
		if (app.Path == "") == (app.Chart == "") {
			errs.Add(field.Conflict, at+".Path", nil, "give a path (Git) or a chart (Helm), not both")
		}
		if app.TargetRevision == "" || app.TargetRevision == "HEAD" {
			errs.Add(field.Format, at+".TargetRevision", app.TargetRevision, "must name a branch, tag, commit or chart version")
		}
		if !dnsLabel.MatchString(app.Namespace) || slices.Contains(a.Reserved, app.Namespace) {
			errs.Add(field.Format, at+".Namespace", app.Namespace, "must be a DNS label that does not belong to the platform (%s)",
				strings.Join(a.Reserved, ", "))
		}
	}
	return errs.Err()
}

// ArgoCD is the component.
type ArgoCD struct {
	pulumi.ResourceState
	Release *helmv3.Release
}

// New installs Argo CD and declares the project and Applications.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*ArgoCD, error) {
	if args == nil {
		args = &Args{}
	}
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("gitops %q: %w", name, err)
	}
	c := &ArgoCD{}
	if err := ctx.RegisterComponentResource("eduai:gitops:ArgoCD", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	replicas := 1
	if args.HA {
		replicas = 2
	}
	rel, err := helmv3.NewRelease(ctx, name, &helmv3.ReleaseArgs{
		Name: pulumi.String("argo-cd"), Chart: pulumi.String("argo-cd"), Version: pulumi.String(args.ChartVersion),
		RepositoryOpts:  helmv3.RepositoryOptsArgs{Repo: pulumi.String(Repo)},
		Namespace:       pulumi.String(Namespace),
		CreateNamespace: pulumi.Bool(true),
		Atomic:          pulumi.Bool(true),
		CleanupOnFail:   pulumi.Bool(true),
		Timeout:         pulumi.Int(900),
		MaxHistory:      pulumi.Int(10),
		Values: pulumi.Map{
			// The CRDs outlive the release: removing Argo CD never deletes the Applications' records.
			"crds": pulumi.Map{"install": pulumi.Bool(true), "keep": pulumi.Bool(true)},
			"configs": pulumi.Map{"params": pulumi.Map{
				// TLS ends at the mesh gateway / port-forward; the UI is not published by this program.
				"server.insecure": pulumi.Bool(false),
			}},
			"controller":     pulumi.Map{"replicas": pulumi.Int(replicas)},
			"repoServer":     pulumi.Map{"replicas": pulumi.Int(replicas)},
			"server":         pulumi.Map{"replicas": pulumi.Int(replicas)},
			"applicationSet": pulumi.Map{"replicas": pulumi.Int(replicas)},
			"dex":            pulumi.Map{"enabled": pulumi.Bool(false)},
		},
	}, parent, pulumi.DependsOn(args.DependsOn))
	if err != nil {
		return nil, err
	}
	c.Release = rel

	// The destination namespaces are the platform's: Pulumi creates them, Argo CD fills them.
	namespaces := map[string]*corev1.Namespace{}
	for _, ns := range destinations(args.Applications) {
		n, err := corev1.NewNamespace(ctx, name+"-ns-"+ns, &corev1.NamespaceArgs{
			Metadata: metav1.ObjectMetaArgs{Name: pulumi.String(ns), Labels: pulumi.StringMap{
				"app.kubernetes.io/managed-by": pulumi.String("pulumi"),
				"eduai.io/delivered-by":        pulumi.String("argocd"),
			}},
		}, parent)
		if err != nil {
			return nil, err
		}
		namespaces[ns] = n
		// A team namespace admits its own pods, the ingress gateways and
		// Prometheus; the teams add allows for anything else (issue #17).
		inNS := pulumi.DependsOn([]pulumi.Resource{n})
		if _, err := netpol.DefaultDeny(ctx, name+"-ns-"+ns+"-default-deny", ns, []string{"Ingress"}, parent, inNS); err != nil {
			return nil, err
		}
		from := networkingv1.NetworkPolicyPeerArray{netpol.SameNamespace()}
		for _, peer := range args.AdmitNamespaces {
			from = append(from, netpol.InNamespace(peer))
		}
		if _, err := netpol.Allow(ctx, name+"-ns-"+ns+"-allow", ns, nil, networkingv1.NetworkPolicyIngressRuleArray{
			networkingv1.NetworkPolicyIngressRuleArgs{From: from}}, parent, inNS); err != nil {
			return nil, err
		}
	}
	afterRelease := pulumi.DependsOn([]pulumi.Resource{rel})
	project, err := k8sobj.New(ctx, name+"-project", ProjectFor(args), parent, afterRelease)
	if err != nil {
		return nil, err
	}
	for _, app := range args.Applications {
		deps := []pulumi.Resource{rel, project, namespaces[app.Namespace]}
		if _, err := k8sobj.New(ctx, name+"-app-"+app.Name, ApplicationFor(app, args.AutoSync), parent,
			pulumi.DependsOn(deps)); err != nil {
			return nil, err
		}
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{})
}

func destinations(apps []Application) []string {
	var out []string
	for _, a := range apps {
		if !slices.Contains(out, a.Namespace) {
			out = append(out, a.Namespace)
		}
	}
	sort.Strings(out)
	return out
}

// ProjectFor is the teams' AppProject: their repositories, their
// namespaces in this cluster, and no cluster-scoped resources at all.
func ProjectFor(a *Args) k8sobj.Object {
	spec := AppProjectSpec{
		Description:              "Workloads the EduAI teams deliver by GitOps (managed by Pulumi)",
		SourceRepos:              slices.Clone(a.Repos),
		ClusterResourceWhitelist: []GroupKind{},
		NamespaceResourceBlacklist: []GroupKind{
			// Quotas and network isolation of the namespaces are the platform's.
			{Group: "", Kind: "ResourceQuota"}, {Group: "", Kind: "LimitRange"},
			{Group: "networking.k8s.io", Kind: "NetworkPolicy"},
		},
	}
	for _, ns := range destinations(a.Applications) {
		spec.Destinations = append(spec.Destinations, Destination{Server: InClusterServer, Namespace: ns})
	}
	return k8sobj.Object{APIVersion: "argoproj.io/v1alpha1", Kind: "AppProject",
		Metadata: k8sobj.Meta{Name: Project, Namespace: Namespace, Labels: labels()}, Spec: spec}
}

// ApplicationFor is one Application: automated sync (prune, self-heal) when
// autoSync, else a person syncs it.
func ApplicationFor(app Application, autoSync bool) k8sobj.Object {
	src := Source{RepoURL: app.RepoURL, TargetRevision: app.TargetRevision, Path: app.Path, Chart: app.Chart}
	spec := ApplicationSpec{Project: Project, Source: src,
		Destination: Destination{Server: InClusterServer, Namespace: app.Namespace},
		SyncPolicy:  &SyncPolicy{SyncOptions: []string{"PruneLast=true", "ApplyOutOfSyncOnly=true"}}}
	if autoSync {
		spec.SyncPolicy.Automated = &Automated{Prune: true, SelfHeal: true}
	}
	return k8sobj.Object{APIVersion: "argoproj.io/v1alpha1", Kind: "Application",
		Metadata: k8sobj.Meta{Name: app.Name, Namespace: Namespace, Labels: labels()}, Spec: spec}
}

func labels() map[string]string {
	return map[string]string{"app.kubernetes.io/part-of": "eduai", "app.kubernetes.io/managed-by": "pulumi"}
}

// Argo CD argoproj.io/v1alpha1: the fields the component sets.
type (
	AppProjectSpec struct {
		Description                string        `json:"description"`
		SourceRepos                []string      `json:"sourceRepos"`
		Destinations               []Destination `json:"destinations"`
		ClusterResourceWhitelist   []GroupKind   `json:"clusterResourceWhitelist"`
		NamespaceResourceBlacklist []GroupKind   `json:"namespaceResourceBlacklist,omitempty"`
	}
	GroupKind struct {
		Group string `json:"group"`
		Kind  string `json:"kind"`
	}
	Destination struct {
		Server    string `json:"server"`
		Namespace string `json:"namespace"`
	}
	ApplicationSpec struct {
		Project     string      `json:"project"`
		Source      Source      `json:"source"`
		Destination Destination `json:"destination"`
		SyncPolicy  *SyncPolicy `json:"syncPolicy,omitempty"`
	}
	Source struct {
		RepoURL        string `json:"repoURL"`
		TargetRevision string `json:"targetRevision"`
		Path           string `json:"path,omitempty"`
		Chart          string `json:"chart,omitempty"`
	}
	SyncPolicy struct {
		Automated   *Automated `json:"automated,omitempty"`
		SyncOptions []string   `json:"syncOptions,omitempty"`
	}
	Automated struct {
		Prune    bool `json:"prune"`
		SelfHeal bool `json:"selfHeal"`
	}
)
