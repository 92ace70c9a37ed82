// Package dns publishes the platform's public name with Route 53 failover
// routing: a PRIMARY alias record to the active region's ingress load
// balancer and a SECONDARY alias record to the other region's, each with a
// health check that calls /health through that region's own name.
package dns

import (
	"errors"
	"fmt"
	"github.com/eduai/infra/components/internal/dnsname"
	"maps"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// nlbZones are the Route 53 hosted zone ids of Network Load Balancers per
// region, which alias records to an NLB name (AWS General Reference,
// "Elastic Load Balancing endpoints and quotas", Network Load Balancers column).
var nlbZones = map[string]string{
	"us-east-1": "Z26RNL4JYFTOTI", "us-east-2": "ZLMOA37VPKANP",
	"us-west-1": "Z24FKFUX50B4VW", "us-west-2": "Z18D5FSROUN65G",
	"ca-central-1": "Z2EPGBW3API2WT",
	"eu-west-1":    "Z2IFOLAFXWLO4F", "eu-west-2": "ZD4D7Y8KGAS4G", "eu-west-3": "Z1CMS0P5QUZ6D5",
	"eu-central-1": "Z3F0SRJ5LGBH90", "eu-north-1": "Z1UDT6IFJ4EJM",
	"ap-northeast-1": "Z31USIVHYNEOWT", "ap-northeast-2": "ZIBE1TIR4HY56",
	"ap-southeast-1": "ZKVM4W9LS7TM", "ap-southeast-2": "ZCT6FZBF4DROD",
	"sa-east-1": "ZTK26PT1VY4CU",
}

// NLBZoneID is the hosted zone id of NLBs in region.
func NLBZoneID(region string) (string, bool) {
	id, ok := nlbZones[region]
	return id, ok
}

// ValidName tells whether s is a DNS name a record can have.
func ValidName(s string) bool { return dnsname.Valid(s) }

// RegionalName is a region's own name under the record: the health check
// calls it, so each region is judged on its own ingress.
func RegionalName(region, record string) string { return region + "." + record }

// Endpoint is one region's ingress.
type Endpoint struct {
	// Region of the ingress, e.g. us-west-2. Required.
	Region string
	// Hostname is the ingress NLB's DNS name. Required.
	Hostname pulumi.StringInput
}

// Role says which failover record a region gets.
type Role string

const (
	Primary   Role = "PRIMARY"
	Secondary Role = "SECONDARY"
)

// FailoverArgs configures the zone, the records and the health checks.
type FailoverArgs struct {
	// ZoneName is the hosted zone's domain, e.g. eduai.com. Required.
	ZoneName string
	// ZoneID is the hosted zone (Zone.ZoneID). Required.
	ZoneID pulumi.StringInput
	// RecordName is the failover name, e.g. api.eduai.com (in ZoneName); the
	// health checks call each region's own name under it. Required.
	RecordName string
	// Hosts are the other names in the zone that fail over with RecordName
	// (the apex, say), judged by the same health checks. Default none.
	Hosts []string
	// Home is the primary region's ingress, Standby the DR region's. Required.
	Home, Standby Endpoint
	// StandbyActive: after a failover the standby is the PRIMARY record's target.
	StandbyActive bool
	// HealthPath the checks call over HTTPS. Default /health.
	HealthPath string
	// Protect the hosted zone (staging, prod).
	Protect bool
}

// Failover is the DNS component.
type Failover struct {
	pulumi.ResourceState
}

func (a *FailoverArgs) validate() error {
	var errs []error
	if !ValidName(a.ZoneName) {
		errs = append(errs, fmt.Errorf("ZoneName: %q is not a DNS name", a.ZoneName))
	}
	if !ValidName(a.RecordName) || !InZone(a.RecordName, a.ZoneName) {
		errs = append(errs, fmt.Errorf("RecordName: %q is not a name in the zone %q", a.RecordName, a.ZoneName))
	}
	if a.ZoneID == nil {
		errs = append(errs, errors.New("ZoneID is required"))
	}
	for _, h := range a.Hosts {
		if !ValidName(h) || !InZone(h, a.ZoneName) || h == a.RecordName {
			errs = append(errs, fmt.Errorf("Hosts: %q is not another name in the zone %q", h, a.ZoneName))
		}
	}
	for _, e := range []Endpoint{a.Home, a.Standby} {
		if _, ok := NLBZoneID(e.Region); !ok {
			errs = append(errs, fmt.Errorf("region %q: no known NLB hosted zone id for alias records", e.Region))
		}
		if e.Hostname == nil {
			errs = append(errs, fmt.Errorf("region %q: Hostname is required", e.Region))
		}
	}
	if a.Home.Region == a.Standby.Region {
		errs = append(errs, fmt.Errorf("Home and Standby are both in %q", a.Home.Region))
	}
	if a.HealthPath != "" && !strings.HasPrefix(a.HealthPath, "/") {
		errs = append(errs, fmt.Errorf("HealthPath: %q does not start with /", a.HealthPath))
	}
	return errors.Join(errs...)
}

// NewFailover creates a regional alias record and a health check per region,
// and the PRIMARY and SECONDARY failover records of RecordName and Hosts.
// Route 53 is global: the component takes the primary region's provider.
func NewFailover(ctx *pulumi.Context, name string, args *FailoverArgs, opts ...pulumi.ResourceOption) (*Failover, error) {
	if args == nil {
		args = &FailoverArgs{}
	}
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("dns %q: %w", name, err)
	}
	path := args.HealthPath
	if path == "" {
		path = "/health"
	}
	f := &Failover{}
	if err := ctx.RegisterComponentResource("eduai:dns:Failover", name, f, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(f)
	// Each region: its own name (an alias to its ingress) and a health check on it.
	type target struct {
		alias route53.RecordAliasArray
		check pulumi.IDOutput
	}
	targets := map[string]target{}
	for _, side := range []struct {
		key string
		e   Endpoint
	}{{"home", args.Home}, {"standby", args.Standby}} {
		nlbZone, _ := NLBZoneID(side.e.Region)
		alias := route53.RecordAliasArray{route53.RecordAliasArgs{
			Name: side.e.Hostname, ZoneId: pulumi.String(nlbZone), EvaluateTargetHealth: pulumi.Bool(true)}}
		regional := RegionalName(side.e.Region, args.RecordName)
		if _, err := route53.NewRecord(ctx, name+"-"+side.key+"-regional", &route53.RecordArgs{
			ZoneId: args.ZoneID, Name: pulumi.String(regional), Type: pulumi.String("A"), Aliases: alias,
		}, parent); err != nil {
			return nil, err
		}
		check, err := route53.NewHealthCheck(ctx, name+"-"+side.key, &route53.HealthCheckArgs{
			Type:             pulumi.String("HTTPS"),
			Fqdn:             pulumi.String(regional),
			Port:             pulumi.Int(443),
			ResourcePath:     pulumi.String(path),
			EnableSni:        pulumi.Bool(true),
			RequestInterval:  pulumi.Int(30),
			FailureThreshold: pulumi.Int(3),
			MeasureLatency:   pulumi.Bool(true),
			Tags:             pulumi.StringMap{"Name": pulumi.String(regional + path)},
		}, parent)
		if err != nil {
			return nil, err
		}
		targets[side.key] = target{alias, check.ID()}
	}
	// The failover records keep their roles; a failover swaps their targets.
	// Route 53 allows one PRIMARY and one SECONDARY record per name
	// (boto/boto3#1347), and the provider changes each record in a change
	// batch of its own: flipping the roles in place would hold two records
	// of one role between the two batches, and Route 53 refuses that.
	active, other := targets["home"], targets["standby"]
	if args.StandbyActive {
		active, other = other, active
	}
	for _, role := range []struct {
		role   Role
		key    string
		target target
		was    string
	}{{Primary, "primary", active, "home"}, {Secondary, "secondary", other, "standby"}} {
		names := map[string]string{name + "-" + role.key: args.RecordName}
		for _, h := range args.Hosts {
			names[name+"-"+role.key+"-"+h] = h
		}
		for _, resourceName := range slices.Sorted(maps.Keys(names)) {
			host := names[resourceName]
			// Until issue #19 the records were named by region ("-home",
			// "-standby") and set the region as their identifier.
			was := strings.Replace(resourceName, name+"-"+role.key, name+"-"+role.was, 1)
			if _, err := route53.NewRecord(ctx, resourceName, &route53.RecordArgs{
				ZoneId: args.ZoneID, Name: pulumi.String(host), Type: pulumi.String("A"),
				SetIdentifier:           pulumi.String(role.key),
				FailoverRoutingPolicies: route53.RecordFailoverRoutingPolicyArray{route53.RecordFailoverRoutingPolicyArgs{Type: pulumi.String(string(role.role))}},
				HealthCheckId:           role.target.check,
				Aliases:                 role.target.alias,
			}, parent, pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(was)}})); err != nil {
				return nil, err
			}
		}
	}
	return f, ctx.RegisterResourceOutputs(f, pulumi.Map{})
}
