package network

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PeeringArgs joins two VPCs of the stack in different regions, so that the
// workload tier of each reaches the other's (the CI runner in one region
// reaches the private EKS endpoint of the other).
type PeeringArgs struct {
	// Name of the connection (its Name tag). Required.
	Name string
	// Requester is the VPC in the provider's region; Accepter the one in AccepterRegion. Required.
	Requester, Accepter *Vpc
	// RequesterCIDR and AccepterCIDR are their blocks; they must not overlap
	// (AWS refuses a peering of overlapping CIDRs). Required.
	RequesterCIDR, AccepterCIDR string
	// AccepterRegion is the accepter's region. Required.
	AccepterRegion string
	// AccepterProvider is the AWS provider of AccepterRegion. Required.
	AccepterProvider pulumi.ProviderResource
	// AccepterPrefix starts the logical names of the accepter side's
	// resources (the stack names its DR region's "dr-…"). Default none.
	AccepterPrefix string
}

// Peering is the component.
type Peering struct {
	pulumi.ResourceState
	// ID is the peering connection (pcx-…).
	ID pulumi.StringOutput
}

// NewPeering requests the connection from the requester's region, accepts
// it in the accepter's (same account: auto-accept), and routes each side's
// private route tables to the other's block once the connection is active.
// Only the workload tiers route: the database tier stays local.
func NewPeering(ctx *pulumi.Context, name string, args PeeringArgs, opts ...pulumi.ResourceOption) (*Peering, error) {
	if args.Requester == nil || args.Accepter == nil || args.AccepterProvider == nil || args.AccepterRegion == "" ||
		args.RequesterCIDR == "" || args.AccepterCIDR == "" {
		return nil, fmt.Errorf("peering %q: %w", name, errors.New("Requester, Accepter, their CIDRs, AccepterRegion and AccepterProvider are required"))
	}
	a, errA := netip.ParsePrefix(args.RequesterCIDR)
	b, errB := netip.ParsePrefix(args.AccepterCIDR)
	if errA != nil || errB != nil || a.Overlaps(b) {
		return nil, fmt.Errorf("peering %q: %s and %s must be distinct CIDR blocks", name, args.RequesterCIDR, args.AccepterCIDR)
	}
	p := &Peering{}
	if err := ctx.RegisterComponentResource("eduai:network:Peering", name, p, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(p)
	tags := pulumi.StringMap{"Name": pulumi.String(args.Name)}
	pcx, err := ec2.NewVpcPeeringConnection(ctx, name, &ec2.VpcPeeringConnectionArgs{
		VpcId:      args.Requester.VpcID,
		PeerVpcId:  args.Accepter.VpcID,
		PeerRegion: pulumi.String(args.AccepterRegion),
		Tags:       tags,
	}, parent)
	if err != nil {
		return nil, err
	}
	accepted, err := ec2.NewVpcPeeringConnectionAccepter(ctx, args.AccepterPrefix+name, &ec2.VpcPeeringConnectionAccepterArgs{
		VpcPeeringConnectionId: pcx.ID(),
		AutoAccept:             pulumi.Bool(true),
		Tags:                   tags,
	}, parent, pulumi.Provider(args.AccepterProvider))
	if err != nil {
		return nil, err
	}
	// The accepter's id is the connection's, known once it is accepted: routes wait for it.
	active := accepted.ID().ToStringOutput()
	sides := []struct {
		vpc      *Vpc
		to, name string
		opts     []pulumi.ResourceOption
	}{
		{args.Requester, args.AccepterCIDR, name, []pulumi.ResourceOption{parent}},
		{args.Accepter, args.RequesterCIDR, args.AccepterPrefix + name, []pulumi.ResourceOption{parent, pulumi.Provider(args.AccepterProvider)}},
	}
	for _, s := range sides {
		for _, zone := range slices.Sorted(maps.Keys(s.vpc.PrivateRouteTableIDs)) {
			if _, err := ec2.NewRoute(ctx, fmt.Sprintf("%s-%s", s.name, zone), &ec2.RouteArgs{
				RouteTableId:           s.vpc.PrivateRouteTableIDs[zone],
				DestinationCidrBlock:   pulumi.String(s.to),
				VpcPeeringConnectionId: active,
			}, s.opts...); err != nil {
				return nil, err
			}
		}
	}
	p.ID = pcx.ID().ToStringOutput()
	return p, ctx.RegisterResourceOutputs(p, pulumi.Map{"id": p.ID})
}
