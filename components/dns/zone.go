package dns

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/eduai/infra/components/field"
	"github.com/eduai/infra/components/partition"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ZoneArgs configures the stack's public hosted zone.
type ZoneArgs struct {
	// Partition of the stack's region (partition.Of); default aws. The zone's ARN is named in it.
	Partition string
	// ZoneName is the zone's domain, e.g. eduai.com. Required.
	ZoneName string
	// ZoneID of an existing public hosted zone; empty creates the zone, whose
	// name servers the parent domain must then delegate to (README "DNS").
	ZoneID string
	// Protect the created zone against deletion and replacement (staging,
	// prod): a new zone has new name servers, and the delegation breaks.
	Protect bool
}

// zoneIDPattern is a Route 53 hosted zone id: Z and letters and digits.
var zoneIDPattern = regexp.MustCompile(`^Z[A-Z0-9]{4,31}$`)

// Validate checks the zone's values and names each wrong field (field.List).
func (a ZoneArgs) Validate() error {
	var errs field.List
	if !ValidName(a.ZoneName) {
		errs.Add(field.Format, "ZoneName", a.ZoneName, "must be a DNS name")
	}
	if a.ZoneID != "" && !zoneIDPattern.MatchString(a.ZoneID) {
		errs.Add(field.Format, "ZoneID", a.ZoneID, "must be a Route 53 hosted zone id (Z followed by letters and digits)")
	}
	return errs.Err()
}

// Zone is the public hosted zone the stack's hosts live in: the ingress
// records point into it and cert-manager answers DNS-01 challenges in it.
type Zone struct {
	pulumi.ResourceState
	// Name is the zone's domain.
	Name string
	// ZoneID and ARN of the zone; NameServers when the component created it.
	ZoneID, ARN pulumi.StringOutput
	NameServers pulumi.StringArrayOutput
}

// InZone tells whether host is the zone's apex or a name under it.
func InZone(host, zone string) bool { return host == zone || strings.HasSuffix(host, "."+zone) }

// failoverParent names the component the zone used to live under (before
// issue #17 every stack with hosts got a zone, not only the DR stacks):
// the alias keeps it from being replaced, which would change its name servers.
const failoverParent = "eduai:dns:Failover"

// NewZone creates the zone, or adopts an existing one by id.
func NewZone(ctx *pulumi.Context, name string, args ZoneArgs, opts ...pulumi.ResourceOption) (*Zone, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("dns zone %q: %w", name, err)
	}
	z := &Zone{Name: args.ZoneName}
	if err := ctx.RegisterComponentResource("eduai:dns:Zone", name, z, opts...); err != nil {
		return nil, err
	}
	if args.ZoneID != "" {
		z.ZoneID = pulumi.String(args.ZoneID).ToStringOutput()
		z.NameServers = pulumi.StringArray{}.ToStringArrayOutput()
	} else {
		old := pulumi.URN(fmt.Sprintf("urn:pulumi:%s::%s::%s::%s", ctx.Stack(), ctx.Project(), failoverParent, name))
		zone, err := route53.NewZone(ctx, name, &route53.ZoneArgs{
			Name:         pulumi.String(args.ZoneName),
			Comment:      pulumi.String("EduAI public zone (managed by Pulumi)"),
			ForceDestroy: pulumi.Bool(false),
		}, pulumi.Parent(z), pulumi.Protect(args.Protect), pulumi.Aliases([]pulumi.Alias{{ParentURN: old}}))
		if err != nil {
			return nil, err
		}
		z.ZoneID, z.NameServers = zone.ZoneId, zone.NameServers
	}
	// Route 53 zone ARNs name no region or account (IAM service authorization reference, Route 53).
	z.ARN = pulumi.Sprintf("arn:%s:route53:::hostedzone/%s", partition.Or(args.Partition), z.ZoneID)
	return z, ctx.RegisterResourceOutputs(z, pulumi.Map{"zoneId": z.ZoneID, "nameServers": z.NameServers})
}

// HostsArgs points names at one region's ingress.
type HostsArgs struct {
	// ZoneID is the hosted zone of the names. Required.
	ZoneID pulumi.StringInput
	// Hosts, each in the zone. Required.
	Hosts []string
	// Ingress is the region's ingress load balancer. Required.
	Ingress Endpoint
}

// NewHosts creates an alias A record per host to the ingress NLB: the names
// a stack serves without failover (one region).
func NewHosts(ctx *pulumi.Context, name string, args HostsArgs, opts ...pulumi.ResourceOption) error {
	nlbZone, ok := NLBZoneID(args.Ingress.Region)
	if !ok {
		return fmt.Errorf("dns hosts %q: region %q: no known NLB hosted zone id for alias records", name, args.Ingress.Region)
	}
	if args.ZoneID == nil || args.Ingress.Hostname == nil || len(args.Hosts) == 0 {
		return fmt.Errorf("dns hosts %q: ZoneID, Hosts and the ingress Hostname are required", name)
	}
	for _, host := range args.Hosts {
		if !ValidName(host) {
			return fmt.Errorf("dns hosts %q: %q is not a DNS name", name, host)
		}
		if _, err := route53.NewRecord(ctx, name+"-"+host, &route53.RecordArgs{
			ZoneId: args.ZoneID, Name: pulumi.String(host), Type: pulumi.String("A"),
			Aliases: route53.RecordAliasArray{route53.RecordAliasArgs{Name: args.Ingress.Hostname,
				ZoneId: pulumi.String(nlbZone), EvaluateTargetHealth: pulumi.Bool(true)}},
		}, opts...); err != nil {
			return err
		}
	}
	return nil
}
