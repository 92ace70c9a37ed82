// Package network provisions the platform's VPC: public, private (workload)
// and database subnets across availability zones, internet and NAT gateways,
// route tables, VPC flow logs, VPC endpoints, and the subnet groups that the
// data stores are placed in.
package network

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/eduai/infra/components/enum"
	"github.com/eduai/infra/components/field"
	"github.com/eduai/infra/components/internal/secure"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NATStrategy says how private subnets reach the internet.
type NATStrategy string

const (
	// NATNone creates no NAT gateway: private subnets reach AWS only through VPC endpoints.
	NATNone NATStrategy = "none"
	// NATSingle creates one NAT gateway, in the first zone, shared by every zone (cheap, one zone's fate).
	NATSingle NATStrategy = "single"
	// NATPerAZ creates one NAT gateway per zone, each zone routing through its own (the default).
	NATPerAZ NATStrategy = "perAz"
)

// NATStrategies lists the valid strategies.
var NATStrategies = []NATStrategy{NATNone, NATSingle, NATPerAZ}

// TrafficType is what a flow log records (the values AWS accepts).
type TrafficType string

const (
	TrafficAll    TrafficType = "ALL"
	TrafficAccept TrafficType = "ACCEPT"
	TrafficReject TrafficType = "REJECT"
)

// TrafficTypes lists the traffic types.
var TrafficTypes = []TrafficType{TrafficAll, TrafficAccept, TrafficReject}

// LogRetentionDays are the retention periods CloudWatch Logs accepts.
var LogRetentionDays = secure.LogRetentionDays

// FlowLogArgs turns on VPC flow logs to CloudWatch Logs.
type FlowLogArgs struct {
	// RetentionDays of the log group. Required; one of LogRetentionDays.
	RetentionDays int
	// TrafficType is ALL, ACCEPT or REJECT.
	TrafficType TrafficType
	// Protect the log group's key (staging, prod).
	Protect bool
}

// VpcArgs configures the VPC.
type VpcArgs struct {
	// NamePrefix starts every Name tag and physical name, e.g. "eduai-prod". Required.
	NamePrefix string
	// CIDR is the VPC's IPv4 block, /16../22. Required. See PlanSubnets for the subnet layout.
	CIDR string
	// AvailabilityZones, 2..6 distinct zones of one region: names (letters
	// a-f, us-west-2a) or zone IDs (az1-az6, use1-az1), all of one kind.
	// Subnets are placed by zone ID when IDs are given. Required.
	AvailabilityZones []string
	// NATStrategy is one of NATStrategies.
	NATStrategy NATStrategy
	// FlowLogs, when non-nil, sends VPC flow logs to a CloudWatch log group. Default off (nil).
	FlowLogs *FlowLogArgs
	// InterfaceEndpoints are AWS service names ("ecr.api", "sts", …) that get an
	// interface endpoint in the private subnets. Default none. The S3 gateway
	// endpoint is always created: it costs nothing and keeps image pulls off NAT.
	InterfaceEndpoints []string
}

var endpointPattern = regexp.MustCompile(`^[a-z0-9-]+(\.[a-z0-9-]+)*$`)

// ValidEndpointName tells whether s looks like an AWS service name for an
// interface endpoint ("ecr.api", "sts").
func ValidEndpointName(s string) bool { return endpointPattern.MatchString(s) }

// Region returns the region of the configured zones.
func (a *VpcArgs) Region() string {
	if len(a.AvailabilityZones) == 0 {
		return ""
	}
	r, _, _ := ZoneRegion(a.AvailabilityZones[0])
	return r
}

// Validate checks the arguments' values (not the zones' count, which the
// subnet plan checks with them) and names each wrong field (field.List);
// stacks/ reports them at their config keys.
func (a *VpcArgs) Validate() error {
	var errs field.List
	if _, err := ParseVpcCIDR(a.CIDR); err != nil {
		errs.Add(field.Format, "CIDR", nil, "%v", err)
	}
	if !enum.Valid(a.NATStrategy, NATStrategies) {
		errs.Add(field.Enum, "NATStrategy", string(a.NATStrategy), "must be one of %s", enum.Describe(NATStrategies))
	}
	if f := a.FlowLogs; f != nil {
		if !slices.Contains(LogRetentionDays, f.RetentionDays) {
			var days []string
			for _, d := range LogRetentionDays {
				days = append(days, strconv.Itoa(d))
			}
			errs.Add(field.Enum, "FlowLogs.RetentionDays", f.RetentionDays, "must be a CloudWatch Logs retention (%s)",
				strings.Join(days, ", "))
		}
		if !enum.Valid(f.TrafficType, TrafficTypes) {
			errs.Add(field.Enum, "FlowLogs.TrafficType", string(f.TrafficType), "must be one of %s", enum.Describe(TrafficTypes))
		}
	}
	seen := map[string]int{}
	for i, e := range a.InterfaceEndpoints {
		at := fmt.Sprintf("InterfaceEndpoints[%d]", i)
		if !ValidEndpointName(e) {
			errs.Add(field.Format, at, e, "must be an AWS service name like ecr.api")
		}
		if j, dup := seen[e]; dup {
			errs.Add(field.Conflict, at, nil, "duplicate endpoint %q (also at [%d])", e, j)
		}
		seen[e] = i
	}
	return errs.Err()
}

func (a *VpcArgs) validate() error {
	errs := []error{a.Validate()}
	if a.NamePrefix == "" {
		errs = append(errs, errors.New("NamePrefix is required"))
	}
	if n := len(a.AvailabilityZones); n < 2 || n > MaxZones {
		errs = append(errs, fmt.Errorf("AvailabilityZones: need 2..%d zones (got %d)", MaxZones, n))
	}
	if _, err := PlanSubnets(a.CIDR, a.AvailabilityZones); err != nil {
		errs = append(errs, fmt.Errorf("subnet plan: %w", err))
	}
	return errors.Join(errs...)
}

// Vpc is the network component.
type Vpc struct {
	pulumi.ResourceState

	// VpcID is the VPC's id.
	VpcID pulumi.IDOutput
	// CIDR is the VPC's IPv4 block.
	CIDR pulumi.StringOutput
	// PublicSubnetIDs, PrivateSubnetIDs and DatabaseSubnetIDs are in the zones' order.
	PublicSubnetIDs   pulumi.StringArrayOutput
	PrivateSubnetIDs  pulumi.StringArrayOutput
	DatabaseSubnetIDs pulumi.StringArrayOutput
	// DBSubnetGroupName is the RDS subnet group over the database subnets.
	DBSubnetGroupName pulumi.StringOutput
	// CacheSubnetGroupName is the ElastiCache subnet group over the database subnets.
	CacheSubnetGroupName pulumi.StringOutput
	// EndpointSecurityGroupID guards the interface endpoints ("" when there are none).
	EndpointSecurityGroupID pulumi.StringOutput
	// NATGatewayCount is the number of NAT gateways the strategy created.
	NATGatewayCount int
	// PrivateSubnetCIDRs are the workload tier's blocks, in the zones' order
	// (known before anything is created: data stores admit clients from them).
	PrivateSubnetCIDRs []string
	// PrivateRouteTableIDs are the workload tier's route tables by zone (a
	// peering adds its routes there).
	PrivateRouteTableIDs map[string]pulumi.IDOutput
}

// tierTags are the tags that say what a subnet is for. The EKS discovery tags let
// the AWS Load Balancer Controller place internet-facing and internal load balancers.
func tierTags(tier Tier) map[string]string {
	t := map[string]string{"Tier": string(tier)}
	switch tier {
	case TierPublic:
		t["kubernetes.io/role/elb"] = "1"
	case TierPrivate:
		t["kubernetes.io/role/internal-elb"] = "1"
	}
	return t
}

// NewVpc creates the VPC and everything in it. Every child is parented to the
// component and named "<name>-<what>[-<zone>]", keyed by zone, never by position.
func NewVpc(ctx *pulumi.Context, name string, args *VpcArgs, opts ...pulumi.ResourceOption) (*Vpc, error) {
	if args == nil {
		args = &VpcArgs{}
	}
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("network %q: %w", name, err)
	}
	plans, _ := PlanSubnets(args.CIDR, args.AvailabilityZones)
	strategy := args.NATStrategy
	region := args.Region()

	c := &Vpc{PrivateRouteTableIDs: map[string]pulumi.IDOutput{}}
	if err := ctx.RegisterComponentResource("eduai:network:Vpc", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	nameTag := func(suffix string, extra map[string]string) pulumi.StringMap {
		m := pulumi.StringMap{"Name": pulumi.String(args.NamePrefix + "-" + suffix)}
		for k, v := range extra {
			m[k] = pulumi.String(v)
		}
		return m
	}

	vpc, err := ec2.NewVpc(ctx, name, &ec2.VpcArgs{
		CidrBlock:          pulumi.String(args.CIDR),
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               nameTag("vpc", nil),
	}, parent)
	if err != nil {
		return nil, err
	}

	// The default security group is taken over and left with no rules, so
	// nothing placed in it by accident can talk to anything.
	if _, err := ec2.NewDefaultSecurityGroup(ctx, name+"-default", &ec2.DefaultSecurityGroupArgs{
		VpcId: vpc.ID(),
		Tags:  nameTag("default-deny", nil),
	}, parent); err != nil {
		return nil, err
	}

	igw, err := ec2.NewInternetGateway(ctx, name+"-igw", &ec2.InternetGatewayArgs{
		VpcId: vpc.ID(),
		Tags:  nameTag("igw", nil),
	}, parent)
	if err != nil {
		return nil, err
	}

	subnets := map[Tier]map[string]*ec2.Subnet{}
	ids := map[Tier]pulumi.StringArray{}
	for _, tier := range Tiers {
		subnets[tier] = map[string]*ec2.Subnet{}
		for _, p := range plans {
			subnetArgs := &ec2.SubnetArgs{
				VpcId:               vpc.ID(),
				CidrBlock:           pulumi.String(p.CIDRs[tier]),
				MapPublicIpOnLaunch: pulumi.Bool(false),
				Tags:                nameTag(fmt.Sprintf("%s-%s", tier, p.Zone), tierTags(tier)),
			}
			// One of the two: the provider's schema has them conflict.
			if IsZoneID(p.Zone) {
				subnetArgs.AvailabilityZoneId = pulumi.String(p.Zone)
			} else {
				subnetArgs.AvailabilityZone = pulumi.String(p.Zone)
			}
			sn, err := ec2.NewSubnet(ctx, fmt.Sprintf("%s-%s-%s", name, tier, p.Zone), subnetArgs, parent)
			if err != nil {
				return nil, err
			}
			subnets[tier][p.Zone] = sn
			ids[tier] = append(ids[tier], sn.ID().ToStringOutput())
		}
	}

	// Public tier: one route table with the default route to the internet gateway.
	publicRT, err := ec2.NewRouteTable(ctx, name+"-public", &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Tags:  nameTag("public", map[string]string{"Tier": string(TierPublic)}),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := ec2.NewRoute(ctx, name+"-public-default", &ec2.RouteArgs{
		RouteTableId:         publicRT.ID(),
		DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
		GatewayId:            igw.ID(),
	}, parent); err != nil {
		return nil, err
	}

	// NAT gateways, keyed by the zone they sit in.
	nats := map[string]*ec2.NatGateway{}
	var natZones []string
	switch strategy {
	case NATSingle:
		natZones = []string{plans[0].Zone}
	case NATPerAZ:
		for _, p := range plans {
			natZones = append(natZones, p.Zone)
		}
	}
	for _, zone := range natZones {
		eip, err := ec2.NewEip(ctx, fmt.Sprintf("%s-nat-%s", name, zone), &ec2.EipArgs{
			Domain: pulumi.String("vpc"),
			Tags:   nameTag("nat-"+zone, nil),
		}, parent)
		if err != nil {
			return nil, err
		}
		nat, err := ec2.NewNatGateway(ctx, fmt.Sprintf("%s-%s", name, zone), &ec2.NatGatewayArgs{
			AllocationId: eip.ID(),
			SubnetId:     subnets[TierPublic][zone].ID(),
			Tags:         nameTag("nat-"+zone, nil),
		}, parent, pulumi.DependsOn([]pulumi.Resource{igw}))
		if err != nil {
			return nil, err
		}
		nats[zone] = nat
	}
	c.NATGatewayCount = len(nats)
	for _, p := range plans {
		c.PrivateSubnetCIDRs = append(c.PrivateSubnetCIDRs, p.CIDRs[TierPrivate])
	}

	// Private tier: a route table per zone, its default route through the
	// zone's own NAT gateway (perAz) or the shared one (single).
	privateRTs := map[string]*ec2.RouteTable{}
	var gatewayRTs pulumi.StringArray
	for _, p := range plans {
		rt, err := ec2.NewRouteTable(ctx, fmt.Sprintf("%s-private-%s", name, p.Zone), &ec2.RouteTableArgs{
			VpcId: vpc.ID(),
			Tags:  nameTag("private-"+p.Zone, map[string]string{"Tier": string(TierPrivate)}),
		}, parent)
		if err != nil {
			return nil, err
		}
		privateRTs[p.Zone] = rt
		c.PrivateRouteTableIDs[p.Zone] = rt.ID()
		gatewayRTs = append(gatewayRTs, rt.ID().ToStringOutput())
		nat := nats[p.Zone]
		if nat == nil && len(natZones) > 0 {
			nat = nats[natZones[0]]
		}
		if nat != nil {
			if _, err := ec2.NewRoute(ctx, fmt.Sprintf("%s-private-%s-default", name, p.Zone), &ec2.RouteArgs{
				RouteTableId:         rt.ID(),
				DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
				NatGatewayId:         nat.ID(),
			}, parent); err != nil {
				return nil, err
			}
		}
	}

	// Database tier: one route table with only the local route.
	databaseRT, err := ec2.NewRouteTable(ctx, name+"-database", &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Tags:  nameTag("database", map[string]string{"Tier": string(TierDatabase)}),
	}, parent)
	if err != nil {
		return nil, err
	}
	gatewayRTs = append(gatewayRTs, databaseRT.ID().ToStringOutput())

	for _, tier := range Tiers {
		for _, p := range plans {
			rt := publicRT
			switch tier {
			case TierPrivate:
				rt = privateRTs[p.Zone]
			case TierDatabase:
				rt = databaseRT
			}
			if _, err := ec2.NewRouteTableAssociation(ctx, fmt.Sprintf("%s-%s-%s", name, tier, p.Zone),
				&ec2.RouteTableAssociationArgs{
					SubnetId:     subnets[tier][p.Zone].ID(),
					RouteTableId: rt.ID(),
				}, parent); err != nil {
				return nil, err
			}
		}
	}

	if f := args.FlowLogs; f != nil {
		if err := newFlowLog(ctx, name, args.NamePrefix, f, vpc, parent, nameTag); err != nil {
			return nil, err
		}
	}

	// The S3 gateway endpoint serves the private and database tiers.
	if _, err := ec2.NewVpcEndpoint(ctx, name+"-s3", &ec2.VpcEndpointArgs{
		VpcId:           vpc.ID(),
		ServiceName:     pulumi.String(fmt.Sprintf("com.amazonaws.%s.s3", region)),
		VpcEndpointType: pulumi.String("Gateway"),
		RouteTableIds:   gatewayRTs,
		Tags:            nameTag("s3", nil),
	}, parent); err != nil {
		return nil, err
	}

	c.EndpointSecurityGroupID = pulumi.String("").ToStringOutput()
	if len(args.InterfaceEndpoints) > 0 {
		sg, err := ec2.NewSecurityGroup(ctx, name+"-endpoints", &ec2.SecurityGroupArgs{
			VpcId:       vpc.ID(),
			Description: pulumi.String("HTTPS from inside the VPC to the AWS interface endpoints"),
			Ingress: ec2.SecurityGroupIngressArray{ec2.SecurityGroupIngressArgs{
				Description: pulumi.String("HTTPS from the VPC"),
				Protocol:    pulumi.String("tcp"),
				FromPort:    pulumi.Int(443),
				ToPort:      pulumi.Int(443),
				CidrBlocks:  pulumi.StringArray{pulumi.String(args.CIDR)},
			}},
			Tags: nameTag("endpoints", nil),
		}, parent)
		if err != nil {
			return nil, err
		}
		c.EndpointSecurityGroupID = sg.ID().ToStringOutput()
		for _, svc := range args.InterfaceEndpoints {
			if _, err := ec2.NewVpcEndpoint(ctx, fmt.Sprintf("%s-%s", name, strings.ReplaceAll(svc, ".", "-")),
				&ec2.VpcEndpointArgs{
					VpcId:             vpc.ID(),
					ServiceName:       pulumi.String(fmt.Sprintf("com.amazonaws.%s.%s", region, svc)),
					VpcEndpointType:   pulumi.String("Interface"),
					PrivateDnsEnabled: pulumi.Bool(true),
					SubnetIds:         ids[TierPrivate],
					SecurityGroupIds:  pulumi.StringArray{sg.ID()},
					Tags:              nameTag("endpoint-"+svc, nil),
				}, parent); err != nil {
				return nil, err
			}
		}
	}

	dbGroup, err := rds.NewSubnetGroup(ctx, name+"-db", &rds.SubnetGroupArgs{
		Name:        pulumi.String(strings.ToLower(args.NamePrefix + "-db")),
		Description: pulumi.String("Aurora subnets of " + args.NamePrefix + " (database tier)"),
		SubnetIds:   ids[TierDatabase],
		Tags:        nameTag("db", nil),
	}, parent)
	if err != nil {
		return nil, err
	}
	cacheGroup, err := elasticache.NewSubnetGroup(ctx, name+"-cache", &elasticache.SubnetGroupArgs{
		Name:        pulumi.String(strings.ToLower(args.NamePrefix + "-cache")),
		Description: pulumi.String("ElastiCache subnets of " + args.NamePrefix + " (database tier)"),
		SubnetIds:   ids[TierDatabase],
		Tags:        nameTag("cache", nil),
	}, parent)
	if err != nil {
		return nil, err
	}

	c.VpcID = vpc.ID()
	c.CIDR = vpc.CidrBlock
	c.PublicSubnetIDs = ids[TierPublic].ToStringArrayOutput()
	c.PrivateSubnetIDs = ids[TierPrivate].ToStringArrayOutput()
	c.DatabaseSubnetIDs = ids[TierDatabase].ToStringArrayOutput()
	c.DBSubnetGroupName = dbGroup.Name
	c.CacheSubnetGroupName = cacheGroup.Name
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"vpcId":                   c.VpcID,
		"publicSubnetIds":         c.PublicSubnetIDs,
		"privateSubnetIds":        c.PrivateSubnetIDs,
		"databaseSubnetIds":       c.DatabaseSubnetIDs,
		"dbSubnetGroupName":       c.DBSubnetGroupName,
		"cacheSubnetGroupName":    c.CacheSubnetGroupName,
		"endpointSecurityGroupId": c.EndpointSecurityGroupID,
	})
}

// newFlowLog sends the VPC's flow logs to a CloudWatch log group through a
// role that only the flow-logs service can assume and that can only write there.
func newFlowLog(ctx *pulumi.Context, name, prefix string, f *FlowLogArgs, vpc *ec2.Vpc,
	parent pulumi.ResourceOption, nameTag func(string, map[string]string) pulumi.StringMap) error {
	traffic := f.TrafficType

	group, err := secure.NewLogGroup(ctx, name+"-flow-logs", secure.LogGroupArgs{
		Name:          "/eduai/vpc/" + prefix + "/flow-logs",
		RetentionDays: f.RetentionDays,
		Tags:          nameTag("flow-logs", nil),
		RegionalARN:   vpc.Arn,
		Protect:       f.Protect,
	}, parent)
	if err != nil {
		return err
	}
	// The VPC's ARN gives the partition, region and account the guards name.
	parts := vpc.Arn.ApplyT(func(arn string) []string {
		partition, region, account := secure.ARNParts(arn)
		return []string{partition, region, account}
	}).(pulumi.StringArrayOutput)
	partition, region, account := parts.Index(pulumi.Int(0)), parts.Index(pulumi.Int(1)), parts.Index(pulumi.Int(2))
	// The confused-deputy guard of the VPC user guide ("IAM role for
	// publishing flow logs to CloudWatch Logs"): only flow logs of this
	// account and region may assume the role.
	role, err := iam.NewRole(ctx, name+"-flow-logs", &iam.RoleArgs{
		Description: pulumi.String("Lets VPC Flow Logs write " + prefix + "'s flow logs to CloudWatch Logs"),
		AssumeRolePolicy: pulumi.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`+
			`"Principal":{"Service":"vpc-flow-logs.amazonaws.com"},"Action":"sts:AssumeRole",`+
			`"Condition":{"StringEquals":{"aws:SourceAccount":"%s"},`+
			`"ArnLike":{"aws:SourceArn":"arn:%s:ec2:%s:%s:vpc-flow-log/*"}}}]}`, account, partition, region, account),
		Tags: nameTag("flow-logs", nil),
	}, parent)
	if err != nil {
		return err
	}
	// Writing is allowed into this log group only. DescribeLogGroups is a
	// list call that authorizes on the account's log-group:* ARN, not on one
	// group, so it gets a statement of its own there.
	if _, err := iam.NewRolePolicy(ctx, name+"-flow-logs", &iam.RolePolicyArgs{
		Role: role.ID(),
		Policy: pulumi.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[`+
			`"logs:CreateLogStream","logs:PutLogEvents","logs:DescribeLogStreams"],`+
			`"Resource":["%s","%s:*"]},{"Effect":"Allow","Action":"logs:DescribeLogGroups",`+
			`"Resource":"arn:%s:logs:%s:%s:log-group:*"}]}`, group.Arn, group.Arn, partition, region, account),
	}, parent); err != nil {
		return err
	}
	_, err = ec2.NewFlowLog(ctx, name, &ec2.FlowLogArgs{
		VpcId:              vpc.ID(),
		TrafficType:        pulumi.String(string(traffic)),
		LogDestinationType: pulumi.String("cloud-watch-logs"),
		LogDestination:     group.Arn,
		IamRoleArn:         role.Arn,
		// One-minute aggregation: a rejected connection shows within a minute, not ten.
		MaxAggregationInterval: pulumi.Int(60),
		Tags:                   nameTag("flow-logs", nil),
	}, parent)
	return err
}
