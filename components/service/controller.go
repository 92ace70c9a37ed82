package service

import (
	"fmt"
	"regexp"

	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RolloutsRepo publishes the Argo Rollouts chart.
const RolloutsRepo = "https://argoproj.github.io/argo-helm"

// RolloutsNamespace is where the controller runs.
const RolloutsNamespace = "argo-rollouts"

var chartVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// Controller is the Argo Rollouts controller (and its CRDs), which canary services need.
type Controller struct {
	pulumi.ResourceState
	Release *helmv3.Release
}

// NewController installs the argo-rollouts chart at an exact version; its
// CRDs are kept when the release is removed, so Rollouts are never deleted with it.
func NewController(ctx *pulumi.Context, name, version string, replicas int, deps []pulumi.Resource,
	opts ...pulumi.ResourceOption) (*Controller, error) {
	if !chartVersion.MatchString(version) || replicas < 1 {
		return nil, fmt.Errorf("rollouts controller %q: version %q must be exact and replicas (%d) at least 1",
			name, version, replicas)
	}
	c := &Controller{}
	if err := ctx.RegisterComponentResource("eduai:service:RolloutsController", name, c, opts...); err != nil {
		return nil, err
	}
	rel, err := helmv3.NewRelease(ctx, name, &helmv3.ReleaseArgs{
		Name: pulumi.String("argo-rollouts"), Chart: pulumi.String("argo-rollouts"), Version: pulumi.String(version),
		RepositoryOpts:  helmv3.RepositoryOptsArgs{Repo: pulumi.String(RolloutsRepo)},
		Namespace:       pulumi.String(RolloutsNamespace),
		CreateNamespace: pulumi.Bool(true),
		Atomic:          pulumi.Bool(true),
		CleanupOnFail:   pulumi.Bool(true),
		Timeout:         pulumi.Int(600),
		MaxHistory:      pulumi.Int(10),
		Values: pulumi.Map{
			"installCRDs": pulumi.Bool(true),
			"keepCRDs":    pulumi.Bool(true),
			"controller":  pulumi.Map{"replicas": pulumi.Int(replicas)},
		},
	}, pulumi.Parent(c), pulumi.DependsOn(deps))
	if err != nil {
		return nil, err
	}
	c.Release = rel
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{})
}
