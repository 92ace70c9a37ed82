package stacks

import (
	"github.com/eduai/infra/components/cluster"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-eks/sdk/v2/go/eks"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Providers are the explicit providers every component receives. No resource
// uses a default provider: region and standard tags come from stack config.
type Providers struct {
	// AWS is the primary region's provider; its DefaultTags carry the standard tags.
	AWS *aws.Provider
	// EKS serves pulumi-eks' components; Pulumi.yaml disables every default
	// provider, so it must be explicit too.
	EKS *eks.Provider
	// Random generates passwords and tokens; explicit for the same reason.
	Random *random.Provider
	// DR is the secondary region's provider (same tags); nil without eduai:dr.enabled.
	DR *aws.Provider
}

// DROptions hands the DR region's providers to a component.
func (p *Providers) DROptions() pulumi.ResourceOption { return pulumi.Providers(p.DR, p.EKS, p.Random) }

// Options hands every provider to a component.
func (p *Providers) Options() pulumi.ResourceOption { return pulumi.Providers(p.AWS, p.EKS, p.Random) }

func newProviders(ctx *pulumi.Context, cfg *Config) (*Providers, error) {
	primary, err := aws.NewProvider(ctx, "aws-primary", &aws.ProviderArgs{
		Region:      pulumi.String(cfg.Region),
		DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: pulumi.ToStringMap(cfg.Tags)},
	})
	if err != nil {
		return nil, err
	}
	eksProvider, err := eks.NewProvider(ctx, "eks", &eks.ProviderArgs{})
	if err != nil {
		return nil, err
	}
	randomProvider, err := random.NewProvider(ctx, "random", &random.ProviderArgs{})
	if err != nil {
		return nil, err
	}
	p := &Providers{AWS: primary, EKS: eksProvider, Random: randomProvider}
	if cfg.DR.Enabled {
		p.DR, err = aws.NewProvider(ctx, "aws-dr", &aws.ProviderArgs{
			Region:      pulumi.String(cfg.DR.Region),
			DefaultTags: &aws.ProviderDefaultTagsArgs{Tags: pulumi.ToStringMap(cfg.Tags)},
		})
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// newKubernetesProvider reaches the cluster's API through its kubeconfig.
// Later components get it from stacks/, never make their own. The
// kubeconfig output carries the wait for the cluster; depending on the
// cluster component would also wait for its node groups and add-ons, and
// hold every Kubernetes resource back (the critical-path report caught it).
func newKubernetesProvider(ctx *pulumi.Context, name string, eks *cluster.Cluster) (*kubernetes.Provider, error) {
	return kubernetes.NewProvider(ctx, name, &kubernetes.ProviderArgs{
		Kubeconfig:            eks.KubeconfigJSON,
		EnableServerSideApply: pulumi.Bool(true),
	})
}
