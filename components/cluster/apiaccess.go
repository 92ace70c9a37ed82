package cluster

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// APIAccessArgs says who may reach a cluster's private API endpoint.
type APIAccessArgs struct {
	// Name is the cluster's name (the group is "<Name>-api"). Required.
	Name string
	// VpcID is the cluster's VPC. Required.
	VpcID pulumi.StringInput
	// Clients are security groups whose members may reach the endpoint on
	// 443, by a stable name (the CI runner: "ci-runner"). Default none.
	Clients map[string]pulumi.IDOutput
	// ClientCIDRs may reach it on 443 as well: the peered region's workload
	// subnets (its runner), where a security group of another region cannot
	// be named (VPC user guide, "Update your security groups to reference
	// peer security groups": same region only). Default none.
	ClientCIDRs []string
}

// APIAccess is the security group the cluster's API endpoint carries (ours
// rather than the one pulumi-eks would create: nodejs/eks/cluster.ts v2.8.1
// makes one with all egress and no input to add ingress) with an ingress
// rule per client. The private endpoint takes connections only from the
// groups on its network interfaces; the managed nodes reach it through the
// EKS cluster security group.
//
// It is its own component so that the bootstrap's foundation phase creates
// it with the runners (docs/runbooks/new-environment.md).
type APIAccess struct {
	pulumi.ResourceState
	// SecurityGroup is what the cluster's ClusterSecurityGroup names.
	SecurityGroup *ec2.SecurityGroup
}

// NewAPIAccess creates the group and its client rules.
func NewAPIAccess(ctx *pulumi.Context, name string, args APIAccessArgs, opts ...pulumi.ResourceOption) (*APIAccess, error) {
	if args.Name == "" || args.VpcID == nil {
		return nil, fmt.Errorf("API access %q: %w", name, errors.New("Name and VpcID are required"))
	}
	a := &APIAccess{}
	if err := ctx.RegisterComponentResource("eduai:cluster:APIAccess", name, a, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(a)
	sg, err := ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
		VpcId:               args.VpcID,
		Description:         pulumi.String("API endpoint of EKS cluster " + args.Name),
		RevokeRulesOnDelete: pulumi.Bool(true),
		Egress: ec2.SecurityGroupEgressArray{ec2.SecurityGroupEgressArgs{
			Description: pulumi.String("The control plane reaches kubelets and webhooks on the nodes"),
			Protocol:    pulumi.String("-1"), FromPort: pulumi.Int(0), ToPort: pulumi.Int(0),
			CidrBlocks: pulumi.StringArray{pulumi.String("0.0.0.0/0")},
		}},
		Tags: pulumi.StringMap{"Name": pulumi.String(args.Name + "-api")},
	}, parent)
	if err != nil {
		return nil, err
	}
	for _, client := range slices.Sorted(maps.Keys(args.Clients)) {
		if _, err := vpc.NewSecurityGroupIngressRule(ctx, name+"-"+client, &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId:           sg.ID(),
			ReferencedSecurityGroupId: args.Clients[client],
			IpProtocol:                pulumi.String("tcp"),
			FromPort:                  pulumi.Int(443),
			ToPort:                    pulumi.Int(443),
			Description:               pulumi.String("Kubernetes API from " + client),
		}, parent); err != nil {
			return nil, err
		}
	}
	for _, cidr := range slices.Sorted(slices.Values(args.ClientCIDRs)) {
		if _, err := vpc.NewSecurityGroupIngressRule(ctx, name+"-"+strings.NewReplacer(".", "-", "/", "-").Replace(cidr),
			&vpc.SecurityGroupIngressRuleArgs{
				SecurityGroupId: sg.ID(),
				CidrIpv4:        pulumi.String(cidr),
				IpProtocol:      pulumi.String("tcp"),
				FromPort:        pulumi.Int(443),
				ToPort:          pulumi.Int(443),
				Description:     pulumi.String("Kubernetes API from the peered region's workload subnet " + cidr),
			}, parent); err != nil {
			return nil, err
		}
	}
	a.SecurityGroup = sg
	return a, ctx.RegisterResourceOutputs(a, pulumi.Map{"securityGroupId": sg.ID()})
}
