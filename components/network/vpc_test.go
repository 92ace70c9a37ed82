package network

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/eduai/infra/components/internal/secure"
	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	typeVpc         = "aws:ec2/vpc:Vpc"
	typeSubnet      = "aws:ec2/subnet:Subnet"
	typeNat         = "aws:ec2/natGateway:NatGateway"
	typeEip         = "aws:ec2/eip:Eip"
	typeRoute       = "aws:ec2/route:Route"
	typeRouteTable  = "aws:ec2/routeTable:RouteTable"
	typeAssociation = "aws:ec2/routeTableAssociation:RouteTableAssociation"
	typeFlowLog     = "aws:ec2/flowLog:FlowLog"
	typeLogGroup    = "aws:cloudwatch/logGroup:LogGroup"
	typeRole        = "aws:iam/role:Role"
	typeEndpoint    = "aws:ec2/vpcEndpoint:VpcEndpoint"
	typeSG          = "aws:ec2/securityGroup:SecurityGroup"
	typeComponent   = "eduai:network:Vpc"
)

func baseArgs(zones int) *VpcArgs {
	all := []string{"us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"}
	return &VpcArgs{NamePrefix: "eduai-test", CIDR: "10.0.0.0/16", AvailabilityZones: all[:zones], NATStrategy: NATPerAZ}
}

// runVpc builds the component under the recorder with an explicit provider,
// as the stacks do.
func runVpc(t *testing.T, args *VpcArgs) (*mockstack.Recorder, *Vpc) {
	t.Helper()
	var vpc *Vpc
	rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		vpc, err = NewVpc(ctx, "network", args, pulumi.Providers(p))
		return err
	})
	if err != nil {
		t.Fatalf("NewVpc: %v", err)
	}
	return rec, vpc
}

func TestVpcNatStrategies(t *testing.T) {
	cases := []struct {
		strategy       NATStrategy
		zones          int
		nats           int
		privateDefault int // private route tables with a default route
	}{
		{NATNone, 2, 0, 0},
		{NATSingle, 2, 1, 2},
		{NATSingle, 3, 1, 3},
		{NATPerAZ, 3, 3, 3},
		{NATPerAZ, 2, 2, 2},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-%d", c.strategy, c.zones), func(t *testing.T) {
			args := baseArgs(c.zones)
			args.NATStrategy = c.strategy
			rec, vpc := runVpc(t, args)
			if got := len(rec.ByType(typeNat)); got != c.nats {
				t.Errorf("NAT gateways: got %d, want %d", got, c.nats)
			}
			if got := len(rec.ByType(typeEip)); got != c.nats {
				t.Errorf("EIPs: got %d, want %d", got, c.nats)
			}
			if vpc.NATGatewayCount != c.nats {
				t.Errorf("NATGatewayCount: got %d, want %d", vpc.NATGatewayCount, c.nats)
			}
			natDefaults := 0
			for _, r := range rec.ByType(typeRoute) {
				if r.String("natGatewayId") != "" {
					natDefaults++
				}
			}
			if natDefaults != c.privateDefault {
				t.Errorf("private default routes: got %d, want %d", natDefaults, c.privateDefault)
			}
		})
	}
}

// With one NAT per zone, each zone's private route table uses its own zone's gateway.
func TestVpcPerAzRoutesUseOwnZone(t *testing.T) {
	rec, _ := runVpc(t, baseArgs(3))
	for _, zone := range []string{"us-west-2a", "us-west-2b", "us-west-2c"} {
		route := rec.Named(typeRoute, "network-private-"+zone+"-default")
		nat := rec.Named(typeNat, "network-"+zone)
		rt := rec.Named(typeRouteTable, "network-private-"+zone)
		if route == nil || nat == nil || rt == nil {
			t.Fatalf("%s: route, NAT or route table missing", zone)
		}
		if route.String("natGatewayId") != nat.ID || !route.DependsOnURN("natGatewayId", nat.URN) {
			t.Errorf("%s: private default route goes to %s, want %s", zone, route.String("natGatewayId"), nat.ID)
		}
		if route.String("routeTableId") != rt.ID {
			t.Errorf("%s: route is in %s, want %s", zone, route.String("routeTableId"), rt.ID)
		}
		if nat.Inputs["subnetId"].StringValue() != rec.Named(typeSubnet, "network-public-"+zone).ID {
			t.Errorf("%s: NAT gateway is not in the zone's public subnet", zone)
		}
	}
}

func TestVpcSubnetsPerTier(t *testing.T) {
	for _, zones := range []int{2, 3, 4} {
		rec, _ := runVpc(t, baseArgs(zones))
		tiers := map[string]int{}
		for _, s := range rec.ByType(typeSubnet) {
			tags := s.Tags()
			tiers[tags["Tier"]]++
			if s.Inputs["mapPublicIpOnLaunch"].BoolValue() {
				t.Errorf("%s maps public IPs on launch", s.Name)
			}
			switch tags["Tier"] {
			case "public":
				if tags["kubernetes.io/role/elb"] != "1" {
					t.Errorf("%s lacks the EKS elb discovery tag", s.Name)
				}
			case "private":
				if tags["kubernetes.io/role/internal-elb"] != "1" {
					t.Errorf("%s lacks the EKS internal-elb discovery tag", s.Name)
				}
			}
			if !strings.HasPrefix(tags["Name"], "eduai-test-") {
				t.Errorf("%s: Name tag %q", s.Name, tags["Name"])
			}
		}
		for _, tier := range []string{"public", "private", "database"} {
			if tiers[tier] != zones {
				t.Errorf("%d zones: %d %s subnets, want %d", zones, tiers[tier], tier, zones)
			}
		}
		if got := len(rec.ByType(typeAssociation)); got != 3*zones {
			t.Errorf("%d zones: %d route table associations, want %d", zones, got, 3*zones)
		}
	}
}

// The database tier's route table has no route at all: only the implicit local one.
func TestVpcDatabaseTierIsolated(t *testing.T) {
	rec, _ := runVpc(t, baseArgs(3))
	dbRT := rec.Named(typeRouteTable, "network-database")
	if dbRT == nil {
		t.Fatal("no database route table")
	}
	for _, r := range rec.ByType(typeRoute) {
		if r.String("routeTableId") == dbRT.ID {
			t.Errorf("route %s is in the database route table", r.Name)
		}
	}
	for _, a := range rec.ByType(typeAssociation) {
		if strings.Contains(a.Name, "-database-") && a.String("routeTableId") != dbRT.ID {
			t.Errorf("%s is not associated with the database route table", a.Name)
		}
	}
	igw := rec.Named("aws:ec2/internetGateway:InternetGateway", "network-igw")
	publicDefault := rec.Named(typeRoute, "network-public-default")
	if publicDefault == nil || publicDefault.String("gatewayId") != igw.ID {
		t.Errorf("public default route does not go to the internet gateway")
	}
}

func TestVpcFlowLogs(t *testing.T) {
	rec, _ := runVpc(t, baseArgs(2))
	for _, typ := range []string{typeFlowLog, typeLogGroup, typeRole} {
		if n := len(rec.ByType(typ)); n != 0 {
			t.Errorf("flow logs off: %d %s", n, typ)
		}
	}

	args := baseArgs(2)
	args.FlowLogs = &FlowLogArgs{RetentionDays: 365, TrafficType: TrafficAll}
	rec, _ = runVpc(t, args)
	fl := rec.Named(typeFlowLog, "network")
	group := rec.Named(typeLogGroup, "network-flow-logs")
	role := rec.Named(typeRole, "network-flow-logs")
	vpc := rec.Named(typeVpc, "network")
	if fl == nil || group == nil || role == nil {
		t.Fatal("flow log, log group or role missing")
	}
	if fl.String("vpcId") != vpc.ID || fl.String("trafficType") != "ALL" ||
		fl.String("logDestinationType") != "cloud-watch-logs" {
		t.Errorf("flow log inputs: %v", fl.Inputs)
	}
	if fl.String("logDestination") != group.State["arn"].StringValue() || fl.String("iamRoleArn") != role.State["arn"].StringValue() {
		t.Errorf("flow log does not write to its log group through its role")
	}
	if got := group.Inputs["retentionInDays"].NumberValue(); got != 365 {
		t.Errorf("retention: got %v, want 365", got)
	}
	// Issue #17: the trust policy names the account and the flow logs of
	// this region (confused deputy), and DescribeLogGroups is granted where
	// it authorizes, the account's log-group:* ARN.
	region, account := secure.RegionAndAccount(vpc.State["arn"].StringValue())
	if account == "" || region == "" {
		t.Fatalf("VPC ARN %q names no region or account", vpc.State["arn"].StringValue())
	}
	trust := role.String("assumeRolePolicy")
	for _, want := range []string{`"Service":"vpc-flow-logs.amazonaws.com"`, `"aws:SourceAccount":"` + account + `"`,
		`"aws:SourceArn":"arn:aws:ec2:` + region + `:` + account + `:vpc-flow-log/*"`} {
		if !strings.Contains(trust, want) {
			t.Errorf("role trust policy lacks %s: %s", want, trust)
		}
	}
	policy := rec.Named("aws:iam/rolePolicy:RolePolicy", "network-flow-logs").String("policy")
	if !strings.Contains(policy, `"Action":"logs:DescribeLogGroups","Resource":"arn:aws:logs:`+region+`:`+account+`:log-group:*"`) {
		t.Errorf("DescribeLogGroups not on the account's log groups: %s", policy)
	}
}

func TestVpcEndpoints(t *testing.T) {
	args := baseArgs(3)
	args.InterfaceEndpoints = []string{"ecr.api", "sts"}
	rec, _ := runVpc(t, args)
	eps := rec.ByType(typeEndpoint)
	if len(eps) != 3 {
		t.Fatalf("endpoints: got %d, want 3 (s3 + 2 interface)", len(eps))
	}
	s3 := rec.Named(typeEndpoint, "network-s3")
	if s3.String("serviceName") != "com.amazonaws.us-west-2.s3" || s3.String("vpcEndpointType") != "Gateway" {
		t.Errorf("s3 endpoint: %v", s3.Inputs)
	}
	if n := len(s3.Inputs["routeTableIds"].ArrayValue()); n != 4 {
		t.Errorf("s3 endpoint serves %d route tables, want 4 (3 private + database)", n)
	}
	ecr := rec.Named(typeEndpoint, "network-ecr-api")
	if ecr == nil || ecr.String("serviceName") != "com.amazonaws.us-west-2.ecr.api" ||
		!ecr.Inputs["privateDnsEnabled"].BoolValue() || len(ecr.Inputs["subnetIds"].ArrayValue()) != 3 {
		t.Errorf("ecr.api endpoint: %v", ecr)
	}
	sg := rec.Named(typeSG, "network-endpoints")
	ingress := sg.Inputs["ingress"].ArrayValue()
	if len(ingress) != 1 {
		t.Fatalf("endpoint SG ingress: %v", ingress)
	}
	rule := ingress[0].ObjectValue()
	if rule["fromPort"].NumberValue() != 443 || rule["cidrBlocks"].ArrayValue()[0].StringValue() != "10.0.0.0/16" {
		t.Errorf("endpoint SG ingress rule: %v", rule)
	}

	rec, _ = runVpc(t, baseArgs(2))
	if n := len(rec.ByType(typeSG)); n != 0 {
		t.Errorf("no interface endpoints: %d security groups, want 0", n)
	}
}

// Every child is parented to the component and uses the provider passed to it.
func TestVpcChildrenParentedAndProvided(t *testing.T) {
	args := baseArgs(3)
	args.FlowLogs = &FlowLogArgs{RetentionDays: 30, TrafficType: TrafficAll}
	args.InterfaceEndpoints = []string{"sts"}
	rec, _ := runVpc(t, args)
	comps := rec.ByType(typeComponent)
	if len(comps) != 1 {
		t.Fatalf("%d components", len(comps))
	}
	provider := rec.ByType("pulumi:providers:aws")[0]
	children := 0
	for _, r := range rec.Resources() {
		if r.Type == typeComponent || r.IsProvider() {
			continue
		}
		children++
		if r.Parent != comps[0].URN {
			t.Errorf("%s %s: parent %q, want the component", r.Type, r.Name, r.Parent)
		}
		if r.Provider != provider.URN {
			t.Errorf("%s %s: provider %q, want %q", r.Type, r.Name, r.Provider, provider.URN)
		}
		if !strings.HasPrefix(r.Name, "network") {
			t.Errorf("%s: logical name %q does not start with the component's", r.Type, r.Name)
		}
	}
	if children < 40 {
		t.Errorf("only %d children", children)
	}
}

func TestVpcSubnetGroups(t *testing.T) {
	rec, _ := runVpc(t, baseArgs(3))
	db := rec.Named("aws:rds/subnetGroup:SubnetGroup", "network-db")
	cache := rec.Named("aws:elasticache/subnetGroup:SubnetGroup", "network-cache")
	if db == nil || cache == nil {
		t.Fatal("subnet groups missing")
	}
	var dbSubnets []string
	for _, s := range rec.ByType(typeSubnet) {
		if s.Tags()["Tier"] == "database" {
			dbSubnets = append(dbSubnets, s.ID)
		}
	}
	for _, g := range []*mockstack.Resource{db, cache} {
		ids := g.Inputs["subnetIds"].ArrayValue()
		if len(ids) != 3 {
			t.Errorf("%s: %d subnets, want 3", g.Name, len(ids))
		}
		for _, id := range ids {
			if !slices.Contains(dbSubnets, id.StringValue()) {
				t.Errorf("%s includes %s, not a database subnet", g.Name, id.StringValue())
			}
		}
	}
	if db.String("name") != "eduai-test-db" || cache.String("name") != "eduai-test-cache" {
		t.Errorf("subnet group names: %q, %q", db.String("name"), cache.String("name"))
	}
}

func TestVpcBadArgs(t *testing.T) {
	cases := []struct {
		mutate func(*VpcArgs)
		want   string
	}{
		{func(a *VpcArgs) { a.NamePrefix = "" }, "NamePrefix is required"},
		{func(a *VpcArgs) { a.AvailabilityZones = a.AvailabilityZones[:1] }, "need 2..6 zones (got 1)"},
		{func(a *VpcArgs) { a.CIDR = "10.0.0.0/25" }, "too small for the subnet plan"},
		{func(a *VpcArgs) { a.NATStrategy = "many" }, `NATStrategy: must be one of none, single, perAz (got "many")`},
		{func(a *VpcArgs) { a.FlowLogs = &FlowLogArgs{RetentionDays: 10, TrafficType: TrafficAll} },
			"FlowLogs.RetentionDays: must be a CloudWatch Logs retention (1, 3, 5"},
		{func(a *VpcArgs) { a.FlowLogs = &FlowLogArgs{RetentionDays: 30, TrafficType: "SOME"} },
			`FlowLogs.TrafficType: must be one of ALL, ACCEPT, REJECT (got "SOME")`},
		{func(a *VpcArgs) { a.InterfaceEndpoints = []string{"sts", "sts"} }, `InterfaceEndpoints[1]: duplicate endpoint "sts" (also at [0])`},
		{func(a *VpcArgs) { a.InterfaceEndpoints = []string{"ECR API"} }, `InterfaceEndpoints[0]: must be an AWS service name like ecr.api (got "ECR API")`},
	}
	for _, c := range cases {
		args := baseArgs(2)
		c.mutate(args)
		rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
			_, err := NewVpc(ctx, "network", args)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %q", err, c.want)
		}
		if n := len(rec.Resources()); n != 0 {
			t.Errorf("%q: %d resources registered before the error", c.want, n)
		}
	}
}

// Issue #17: with zone IDs the subnets are placed by zone ID (the same zone
// in every account), never by a name that maps differently per account.
func TestVpcByZoneID(t *testing.T) {
	args := &VpcArgs{NamePrefix: "eduai-dr", CIDR: "10.130.0.0/16", AvailabilityZones: []string{"use1-az1", "use1-az2", "use1-az4"},
		NATStrategy: NATPerAZ}
	rec, _ := runVpc(t, args)
	subnets := rec.ByType("aws:ec2/subnet:Subnet")
	if len(subnets) != 9 {
		t.Fatalf("%d subnets, want 9", len(subnets))
	}
	for _, sn := range subnets {
		id := sn.String("availabilityZoneId")
		if !slices.Contains(args.AvailabilityZones, id) || sn.Inputs.HasValue("availabilityZone") ||
			!strings.HasSuffix(sn.Name, "-"+id) {
			t.Errorf("%s: zone %q, id %q", sn.Name, sn.String("availabilityZone"), id)
		}
	}
}
