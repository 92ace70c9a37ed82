package dns

import (
	"strings"
	"testing"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func args() *FailoverArgs {
	return &FailoverArgs{ZoneName: "eduai.com", RecordName: "api.eduai.com", Protect: true,
		Home:    Endpoint{Region: "us-west-2", Hostname: pulumi.String("k8s-home.elb.us-west-2.amazonaws.com")},
		Standby: Endpoint{Region: "us-east-1", Hostname: pulumi.String("k8s-standby.elb.us-east-1.amazonaws.com")}}
}

// run creates the zone (or adopts zoneID) and the failover records in it.
func run(t *testing.T, a *FailoverArgs, zoneID ...string) (*mockstack.Recorder, error) {
	t.Helper()
	return mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		za := ZoneArgs{ZoneName: "eduai.com", Protect: true}
		if len(zoneID) > 0 {
			za.ZoneID = zoneID[0]
		}
		zone, err := NewZone(ctx, "dns", za, pulumi.Providers(p))
		if err != nil {
			return err
		}
		if a.ZoneID == nil {
			a.ZoneID = zone.ZoneID
		}
		_, err = NewFailover(ctx, "dns", a, pulumi.Providers(p))
		return err
	})
}

func roleOf(r *mockstack.Resource) string {
	return r.Inputs.Mappable()["failoverRoutingPolicies"].([]any)[0].(map[string]any)["type"].(string)
}

// The failover records keep their roles (PRIMARY, SECONDARY: one each per
// name, as Route 53 requires at every moment); a failover swaps their
// targets, the alias and the health check, in place (issue #19).
func TestFailover(t *testing.T) {
	for _, c := range []struct {
		standbyActive    bool
		primary, standby string
	}{{false, "home", "standby"}, {true, "standby", "home"}} {
		a := args()
		a.StandbyActive = c.standbyActive
		rec, err := run(t, a)
		if err != nil {
			t.Fatal(err)
		}
		zone := rec.Named("aws:route53/zone:Zone", "dns")
		if zone == nil || !zone.Protect || zone.String("name") != "eduai.com" {
			t.Fatalf("zone %v", zone)
		}
		sides := map[string]struct{ region, lb, zone string }{
			"home":    {"us-west-2", "k8s-home.elb.us-west-2.amazonaws.com", "Z18D5FSROUN65G"},
			"standby": {"us-east-1", "k8s-standby.elb.us-east-1.amazonaws.com", "Z26RNL4JYFTOTI"},
		}
		for role, side := range map[string]string{"primary": c.primary, "secondary": c.standby} {
			want := sides[side]
			record, check := rec.Named("aws:route53/record:Record", "dns-"+role), rec.Named("aws:route53/healthCheck:HealthCheck", "dns-"+side)
			alias := record.Inputs.Mappable()["aliases"].([]any)[0].(map[string]any)
			if roleOf(record) != strings.ToUpper(role) || record.String("setIdentifier") != role || record.String("name") != "api.eduai.com" ||
				!record.DependsOnURN("healthCheckId", check.URN) || !record.DependsOnURN("zoneId", zone.URN) ||
				alias["name"] != want.lb || alias["zoneId"] != want.zone || alias["evaluateTargetHealth"] != true {
				t.Errorf("standby active %v: %s record %v", c.standbyActive, role, record.Inputs)
			}
			// The records were named by region before: the alias keeps them in place.
			old := map[string]string{"primary": "dns-home", "secondary": "dns-standby"}[role]
			if len(record.Aliases) != 1 || !strings.HasSuffix(record.Aliases[0], "::"+old) {
				t.Errorf("%s record aliases %v, want the former %s", role, record.Aliases, old)
			}
		}
		for side, want := range sides {
			check := rec.Named("aws:route53/healthCheck:HealthCheck", "dns-"+side)
			regional := rec.Named("aws:route53/record:Record", "dns-"+side+"-regional")
			if regional.String("name") != want.region+".api.eduai.com" {
				t.Errorf("%s regional record %v", side, regional.Inputs)
			}
			if check.String("fqdn") != want.region+".api.eduai.com" || check.String("resourcePath") != "/health" ||
				check.String("type") != "HTTPS" || check.Inputs["port"].NumberValue() != 443 || !check.Inputs["enableSni"].BoolValue() {
				t.Errorf("%s health check %v", side, check.Inputs)
			}
		}
	}
}

func TestExistingZone(t *testing.T) {
	a := args()
	rec, err := run(t, a, "Z0123456789ABC")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Named("aws:route53/zone:Zone", "dns") != nil {
		t.Error("a zone was created though one was given")
	}
	if z := rec.Named("aws:route53/record:Record", "dns-primary").String("zoneId"); z != "Z0123456789ABC" {
		t.Errorf("record in zone %q", z)
	}
}

func TestBadFailover(t *testing.T) {
	for _, c := range []struct {
		mutate func(*FailoverArgs)
		want   string
	}{
		{func(a *FailoverArgs) { a.RecordName = "api.example.org" }, `RecordName: "api.example.org" is not a name in the zone`},
		{func(a *FailoverArgs) { a.Standby.Region = "me-south-1" }, `region "me-south-1": no known NLB hosted zone id`},
		{func(a *FailoverArgs) { a.Standby.Region = "us-west-2" }, `both in "us-west-2"`},
		{func(a *FailoverArgs) { a.HealthPath = "health" }, `HealthPath: "health"`},
		{func(a *FailoverArgs) { a.ZoneName = "eduai" }, `ZoneName: "eduai"`},
	} {
		a := args()
		c.mutate(a)
		rec, err := run(t, a)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
		if len(rec.ByType("aws:route53/record:Record")) != 0 {
			t.Error("records registered for bad arguments")
		}
	}
}

// Issue #17: every name the mesh serves gets a record; in a DR stack the
// other names fail over with the record name, judged by its health checks.
func TestFailoverOfEveryHost(t *testing.T) {
	a := args()
	a.Hosts = []string{"eduai.com"}
	rec, err := run(t, a)
	if err != nil {
		t.Fatal(err)
	}
	for side, role := range map[string]string{"home": "primary", "standby": "secondary"} {
		apex := rec.Named("aws:route53/record:Record", "dns-"+role+"-eduai.com")
		check := rec.Named("aws:route53/healthCheck:HealthCheck", "dns-"+side)
		if apex == nil || apex.String("name") != "eduai.com" || roleOf(apex) != strings.ToUpper(role) ||
			!apex.DependsOnURN("healthCheckId", check.URN) || len(apex.Aliases) != 1 ||
			!strings.HasSuffix(apex.Aliases[0], "::dns-"+side+"-eduai.com") {
			t.Errorf("%s: apex record %v", role, apex)
		}
	}
}

// The zone the DR stacks created under the Failover component keeps its
// URN by an alias, so moving it into its own component replaces nothing.
func TestZoneAliasedFromFailover(t *testing.T) {
	rec, err := run(t, args())
	if err != nil {
		t.Fatal(err)
	}
	zone := rec.Named("aws:route53/zone:Zone", "dns")
	if zone == nil || len(zone.Aliases) != 1 || !strings.Contains(zone.Aliases[0], "eduai:dns:Failover$aws:route53/zone:Zone::dns") {
		t.Errorf("zone aliases %v", zone)
	}
}

func TestHosts(t *testing.T) {
	rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		zone, err := NewZone(ctx, "dns", ZoneArgs{ZoneName: "staging.eduai.com"}, pulumi.Providers(p))
		if err != nil {
			return err
		}
		return NewHosts(ctx, "dns-hosts", HostsArgs{ZoneID: zone.ZoneID, Hosts: []string{"staging.eduai.com"},
			Ingress: Endpoint{Region: "us-west-2", Hostname: pulumi.String("k8s-staging.elb.us-west-2.amazonaws.com")}},
			pulumi.Providers(p))
	})
	if err != nil {
		t.Fatal(err)
	}
	r := rec.Named("aws:route53/record:Record", "dns-hosts-staging.eduai.com")
	zone := rec.Named("aws:route53/zone:Zone", "dns")
	if r == nil || !r.DependsOnURN("zoneId", zone.URN) || r.Inputs.Mappable()["aliases"].([]any)[0].(map[string]any)["zoneId"] != "Z18D5FSROUN65G" {
		t.Errorf("host record %v", r)
	}
}

// The zone's ARN (what cert-manager's DNS-01 policy names) is in the stack's
// partition (issue #21).
func TestZoneARNPartition(t *testing.T) {
	arns := make(chan string, 1)
	_, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		zone, err := NewZone(ctx, "dns", ZoneArgs{Partition: "aws-cn", ZoneName: "eduai.cn", ZoneID: "Z0123456789ABC"})
		if err != nil {
			return err
		}
		zone.ARN.ApplyT(func(a string) string { arns <- a; return a })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := <-arns; got != "arn:aws-cn:route53:::hostedzone/Z0123456789ABC" {
		t.Errorf("zone ARN %s", got)
	}
}

// The zone's name and id are checked where the zone is made, with the
// words a stack file's user reads (the stack files them at eduai:dns).
func TestZoneBadArgs(t *testing.T) {
	for _, c := range []struct {
		args ZoneArgs
		want string
	}{
		{ZoneArgs{ZoneName: "eduai"}, `ZoneName: must be a DNS name (got "eduai")`},
		{ZoneArgs{ZoneName: "eduai.com", ZoneID: "Z12"}, `ZoneID: must be a Route 53 hosted zone id (Z followed by letters and digits) (got "Z12")`},
	} {
		if err := c.args.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
