package cluster

import (
	"fmt"
	"slices"
	"strings"

	"github.com/eduai/infra/components/field"

	"github.com/eduai/infra/components/internal/secure"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	awseks "github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TaintEffects are the effects EKS accepts on a node group taint.
var TaintEffects = []string{"NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"}

// Taint keeps pods off a node group unless they tolerate it.
type Taint struct {
	Key, Value string
	// Effect is one of TaintEffects.
	Effect string
}

// NodeGroupArgs configures one managed node group.
type NodeGroupArgs struct {
	// Name keys the group: logical names and the EKS node group name derive from it. Required.
	Name string
	// InstanceTypes, at least one, e.g. [m5.xlarge].
	InstanceTypes []string
	// MinSize <= DesiredSize <= MaxSize, MaxSize >= 1. DesiredSize is only the
	// starting size: later runs leave what the autoscaler set.
	MinSize, MaxSize, DesiredSize int
	// DiskSizeGiB of the encrypted gp3 root volume, 20..16384.
	DiskSizeGiB int
	// Labels and Taints steer workloads (for example memory-optimized work).
	Labels map[string]string
	Taints []Taint
	// MaxUnavailablePercentage during a rolling update, 1..100.
	MaxUnavailablePercentage int
	// AMIType defaults to AL2023_x86_64_STANDARD.
	AMIType string
}

// Validate checks one node group's arguments and names each wrong field
// (field.List).
func (g NodeGroupArgs) Validate() error {
	var errs field.List
	if !ValidName(g.Name) {
		errs.Add(field.Format, "Name", g.Name, "must be a node group name (lowercase letters, digits, dashes)")
	}
	if len(g.InstanceTypes) == 0 {
		errs.Add(field.Required, "InstanceTypes", nil, "must list at least one instance type")
	}
	switch {
	case g.MaxSize < 1:
		errs.Add(field.Range, "MaxSize", g.MaxSize, "must be at least 1")
	case g.MinSize < 0 || g.MinSize > g.MaxSize:
		errs.Add(field.Range, "MinSize", g.MinSize, "must be 0..maxSize (%d)", g.MaxSize)
	case g.DesiredSize < g.MinSize || g.DesiredSize > g.MaxSize:
		errs.Add(field.Range, "DesiredSize", g.DesiredSize, "must be within minSize..maxSize (%d..%d)", g.MinSize, g.MaxSize)
	}
	if g.DiskSizeGiB < 20 || g.DiskSizeGiB > 16384 {
		errs.Add(field.Range, "DiskSizeGiB", g.DiskSizeGiB, "must be 20..16384")
	}
	for i, t := range g.Taints {
		if t.Key == "" {
			errs.Add(field.Required, fmt.Sprintf("Taints[%d].Key", i), nil, "must not be empty")
		}
		if !slices.Contains(TaintEffects, t.Effect) {
			errs.Add(field.Enum, fmt.Sprintf("Taints[%d].Effect", i), t.Effect, "must be one of %s", strings.Join(TaintEffects, ", "))
		}
	}
	if p := g.MaxUnavailablePercentage; p < 1 || p > 100 {
		errs.Add(field.Range, "MaxUnavailablePercentage", p, "must be 1..100")
	}
	return errs.Err()
}

// newNodeGroup creates the group's launch template (IMDSv2 only, hop limit 1,
// encrypted gp3 root volume) and the managed node group that uses it.
func newNodeGroup(ctx *pulumi.Context, name string, args *ClusterArgs, g NodeGroupArgs, role *iam.Role,
	dependsOn []pulumi.Resource, parent pulumi.ResourceOption) (*awseks.NodeGroup, error) {
	physical := args.Name + "-" + g.Name
	tags := pulumi.StringMap{"Name": pulumi.String(physical)}
	lt, err := ec2.NewLaunchTemplate(ctx, name+"-"+g.Name, secure.Hardened(&ec2.LaunchTemplateArgs{
		Description: pulumi.String("Nodes of " + physical + ": IMDSv2 only, encrypted root volume"),
	}, g.DiskSizeGiB, tags), parent)
	if err != nil {
		return nil, err
	}

	var taints awseks.NodeGroupTaintArray
	for _, t := range g.Taints {
		taints = append(taints, awseks.NodeGroupTaintArgs{Key: pulumi.String(t.Key), Value: pulumi.String(t.Value),
			Effect: pulumi.String(t.Effect)})
	}
	maxUnavailable := g.MaxUnavailablePercentage
	ami := g.AMIType
	if ami == "" {
		ami = "AL2023_x86_64_STANDARD"
	}
	return awseks.NewNodeGroup(ctx, name+"-"+g.Name, &awseks.NodeGroupArgs{
		ClusterName:   pulumi.String(args.Name),
		NodeGroupName: pulumi.String(physical),
		NodeRoleArn:   role.Arn,
		SubnetIds:     args.PrivateSubnetIDs,
		AmiType:       pulumi.String(ami),
		// The nodes follow the control plane: without it a group keeps the
		// version it was created with and a cluster upgrade never reaches
		// the nodes (EKS user guide, "Update a managed node group": the
		// version defaults to the cluster's only at creation).
		Version:       pulumi.String(args.Version),
		CapacityType:  pulumi.String("ON_DEMAND"),
		InstanceTypes: pulumi.ToStringArray(g.InstanceTypes),
		ScalingConfig: awseks.NodeGroupScalingConfigArgs{
			MinSize:     pulumi.Int(g.MinSize),
			MaxSize:     pulumi.Int(g.MaxSize),
			DesiredSize: pulumi.Int(g.DesiredSize),
		},
		UpdateConfig: awseks.NodeGroupUpdateConfigArgs{MaxUnavailablePercentage: pulumi.Int(maxUnavailable)},
		LaunchTemplate: awseks.NodeGroupLaunchTemplateArgs{
			Id:      lt.ID(),
			Version: lt.LatestVersion.ApplyT(func(v int) string { return fmt.Sprint(v) }).(pulumi.StringOutput),
		},
		Labels: pulumi.ToStringMap(g.Labels),
		Taints: taints,
		Tags:   tags,
	}, parent, pulumi.DependsOn(dependsOn),
		// The cluster autoscaler owns the size once the group runs: a later `pulumi up` must not reset it.
		pulumi.IgnoreChanges([]string{"scalingConfig.desiredSize"}))
}
