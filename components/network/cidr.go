package network

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
)

// Tier names the three subnet tiers of the VPC.
type Tier string

const (
	// TierPublic holds load balancers and NAT gateways; it routes to the internet gateway.
	TierPublic Tier = "public"
	// TierPrivate holds the EKS workers and pods; it reaches out through NAT.
	TierPrivate Tier = "private"
	// TierDatabase holds Aurora, ElastiCache and the brokers; no route leaves the VPC.
	TierDatabase Tier = "database"
)

// Tiers lists the tiers in the order subnets are created.
var Tiers = []Tier{TierPublic, TierPrivate, TierDatabase}

// The subnet plan. Every subnet's block is derived from the VPC block and the
// zone's letter (a=0 … f=5), never from the zone's position in the list, so
// adding or removing a zone leaves the other zones' subnets where they are:
//
//	private  : VPC prefix + 3 bits, slot = letter          (first six eighths)
//	public   : VPC prefix + 6 bits, slot = 48 + letter     (seventh eighth, first half)
//	database : VPC prefix + 6 bits, slot = 56 + letter     (eighth eighth, first half)
//
// For a /16 that is a /19 (8,187 usable addresses) of workload space per zone
// and a /22 each for the public and the database tier.
const (
	privateNewBits   = 3
	edgeNewBits      = 6
	publicBaseSlot   = 48
	databaseBaseSlot = 56
	// MaxZones is the number of zone letters the plan has room for.
	MaxZones = 6
	// MinVpcPrefix and MaxVpcPrefix bound the VPC block: AWS allows /16../28;
	// the plan needs /22 or larger so that each database subnet is at least a /28.
	MinVpcPrefix = 16
	MaxVpcPrefix = 22
)

// SubnetPlan is the block of each tier in one availability zone.
type SubnetPlan struct {
	Zone  string
	CIDRs map[Tier]string
}

var zonePattern = regexp.MustCompile(`^([a-z]{2}(?:-gov)?-[a-z]+-[0-9]+)([a-z])$`)

// zoneIDPattern matches a zone ID: the region's short code and the zone's number.
var zoneIDPattern = regexp.MustCompile(`^([a-z]+[0-9])-az([0-9]+)$`)

// zoneIDRegions maps a zone ID's region code to its region. Zone names
// (us-east-1a) are mapped to zones per account, zone IDs (use1-az1) are the
// same zone in every account (AWS RAM user guide, "Availability Zone IDs
// for your AWS resources"), which is what a service that refuses some
// zones needs.
var zoneIDRegions = map[string]string{
	"use1": "us-east-1", "use2": "us-east-2", "usw1": "us-west-1", "usw2": "us-west-2",
	"cac1": "ca-central-1", "sae1": "sa-east-1",
	"euw1": "eu-west-1", "euw2": "eu-west-2", "euw3": "eu-west-3", "euc1": "eu-central-1", "eun1": "eu-north-1",
	"aps1": "ap-south-1", "apse1": "ap-southeast-1", "apse2": "ap-southeast-2",
	"apne1": "ap-northeast-1", "apne2": "ap-northeast-2", "apne3": "ap-northeast-3",
}

// ZoneIDs returns the first count zone IDs of region (az1, az2, …), leaving
// out skip; nil when the region's code is unknown.
func ZoneIDs(region string, count int, skip []string) []string {
	code := ""
	for c, r := range zoneIDRegions {
		if r == region {
			code = c
		}
	}
	if code == "" {
		return nil
	}
	var out []string
	for n := 1; n <= MaxZones && len(out) < count; n++ {
		id := fmt.Sprintf("%s-az%d", code, n)
		if !slices.Contains(skip, id) {
			out = append(out, id)
		}
	}
	return out
}

// IsZoneID tells whether zone is written as a zone ID (use1-az1), not a name.
func IsZoneID(zone string) bool { return zoneIDPattern.MatchString(zone) }

// ZoneRegion splits "us-west-2a" into its region "us-west-2" and letter
// index 0, and a zone ID "use1-az2" into "us-east-1" and index 1.
func ZoneRegion(zone string) (region string, letter int, err error) {
	if m := zoneIDPattern.FindStringSubmatch(zone); m != nil {
		region, ok := zoneIDRegions[m[1]]
		if !ok {
			return "", 0, fmt.Errorf("%q: the zone ID's region code %q is not one this program knows", zone, m[1])
		}
		n, err := strconv.Atoi(m[2])
		if err != nil || n < 1 || n > MaxZones {
			return "", 0, fmt.Errorf("%q: zone number %d is outside az1..az%d, the subnet plan's room", zone, n, MaxZones)
		}
		return region, n - 1, nil
	}
	m := zonePattern.FindStringSubmatch(zone)
	if m == nil {
		return "", 0, fmt.Errorf("%q is not an availability zone name like us-west-2a or a zone ID like usw2-az1", zone)
	}
	letter = int(m[2][0] - 'a')
	if letter >= MaxZones {
		return "", 0, fmt.Errorf("%q: zone letter %q is past %q; the subnet plan has room for %d zones (a-f)",
			zone, m[2], string(rune('a'+MaxZones-1)), MaxZones)
	}
	return m[1], letter, nil
}

// ParseVpcCIDR checks that cidr is a canonical IPv4 block the plan fits in.
func ParseVpcCIDR(cidr string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR block like 10.0.0.0/16", cidr)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv4 block", cidr)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set; did you mean %s?", cidr, p.Masked())
	}
	if p.Bits() < MinVpcPrefix {
		return netip.Prefix{}, fmt.Errorf("%q is larger than AWS allows for a VPC (/%d at most)", cidr, MinVpcPrefix)
	}
	if p.Bits() > MaxVpcPrefix {
		return netip.Prefix{}, fmt.Errorf("%q is too small for the subnet plan (needs /%d or larger)", cidr, MaxVpcPrefix)
	}
	return p, nil
}

// PlanSubnets returns the subnet blocks for each zone, in the zones' order.
// The zones must be distinct and share one region.
func PlanSubnets(vpcCIDR string, zones []string) ([]SubnetPlan, error) {
	vpc, err := ParseVpcCIDR(vpcCIDR)
	if err != nil {
		return nil, err
	}
	if len(zones) == 0 {
		return nil, fmt.Errorf("no availability zones")
	}
	seen := map[string]bool{}
	var region string
	plans := make([]SubnetPlan, 0, len(zones))
	for _, z := range zones {
		r, letter, err := ZoneRegion(z)
		if err != nil {
			return nil, err
		}
		if region == "" {
			region = r
		} else if r != region {
			return nil, fmt.Errorf("zones span regions %s and %s", region, r)
		}
		if seen[z] {
			return nil, fmt.Errorf("zone %q is listed twice", z)
		}
		if IsZoneID(z) != IsZoneID(zones[0]) {
			// us-east-1a may be use1-az1 in this account: names and IDs cannot be told apart.
			return nil, fmt.Errorf("zones %q and %q: list zone names or zone IDs, not both", zones[0], z)
		}
		seen[z] = true
		plans = append(plans, SubnetPlan{Zone: z, CIDRs: map[Tier]string{
			TierPrivate:  subnet(vpc, privateNewBits, letter).String(),
			TierPublic:   subnet(vpc, edgeNewBits, publicBaseSlot+letter).String(),
			TierDatabase: subnet(vpc, edgeNewBits, databaseBaseSlot+letter).String(),
		}})
	}
	return plans, nil
}

// subnet returns the slot-th block of parent's size + newBits.
func subnet(parent netip.Prefix, newBits, slot int) netip.Prefix {
	bits := parent.Bits() + newBits
	base := parent.Addr().As4()
	n := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	n += uint32(slot) << (32 - bits)
	addr := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	return netip.PrefixFrom(addr, bits)
}
