package network

import (
	"net/netip"
	"strings"
	"testing"
)

func TestPlanSubnetsLayout(t *testing.T) {
	plans, err := PlanSubnets("10.30.0.0/16", []string{"us-west-2a", "us-west-2b", "us-west-2c"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[Tier]string{
		"us-west-2a": {TierPrivate: "10.30.0.0/19", TierPublic: "10.30.192.0/22", TierDatabase: "10.30.224.0/22"},
		"us-west-2b": {TierPrivate: "10.30.32.0/19", TierPublic: "10.30.196.0/22", TierDatabase: "10.30.228.0/22"},
		"us-west-2c": {TierPrivate: "10.30.64.0/19", TierPublic: "10.30.200.0/22", TierDatabase: "10.30.232.0/22"},
	}
	if len(plans) != 3 {
		t.Fatalf("got %d plans, want 3", len(plans))
	}
	for _, p := range plans {
		for tier, cidr := range want[p.Zone] {
			if p.CIDRs[tier] != cidr {
				t.Errorf("%s %s: got %s, want %s", p.Zone, tier, p.CIDRs[tier], cidr)
			}
		}
	}
}

// Every VPC size the plan accepts, every zone letter: subnets lie inside the
// VPC, never overlap, and a database subnet is at least a /28.
func TestPlanSubnetsNoOverlapInsideVpc(t *testing.T) {
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"}
	for bits := MinVpcPrefix; bits <= MaxVpcPrefix; bits++ {
		vpc := netip.PrefixFrom(netip.MustParseAddr("10.64.0.0"), bits).Masked()
		plans, err := PlanSubnets(vpc.String(), zones)
		if err != nil {
			t.Fatalf("/%d: %v", bits, err)
		}
		var all []netip.Prefix
		for _, p := range plans {
			for _, tier := range Tiers {
				sn := netip.MustParsePrefix(p.CIDRs[tier])
				if !vpc.Contains(sn.Addr()) || sn.Bits() < vpc.Bits() {
					t.Errorf("/%d: %s %s = %s is outside %s", bits, p.Zone, tier, sn, vpc)
				}
				if sn.Bits() > 28 {
					t.Errorf("/%d: %s %s = %s is smaller than AWS's /28 minimum", bits, p.Zone, tier, sn)
				}
				all = append(all, sn)
			}
		}
		for i := range all {
			for j := i + 1; j < len(all); j++ {
				if all[i].Overlaps(all[j]) {
					t.Errorf("/%d: %s overlaps %s", bits, all[i], all[j])
				}
			}
		}
	}
}

// Blocks are keyed by zone letter: dropping a zone moves no other zone's subnets.
func TestPlanSubnetsStableWhenZonesChange(t *testing.T) {
	three, err := PlanSubnets("10.0.0.0/16", []string{"us-west-2a", "us-west-2b", "us-west-2c"})
	if err != nil {
		t.Fatal(err)
	}
	two, err := PlanSubnets("10.0.0.0/16", []string{"us-west-2c", "us-west-2a"})
	if err != nil {
		t.Fatal(err)
	}
	byZone := map[string]SubnetPlan{}
	for _, p := range three {
		byZone[p.Zone] = p
	}
	for _, p := range two {
		for _, tier := range Tiers {
			if p.CIDRs[tier] != byZone[p.Zone].CIDRs[tier] {
				t.Errorf("%s %s moved from %s to %s", p.Zone, tier, byZone[p.Zone].CIDRs[tier], p.CIDRs[tier])
			}
		}
	}
}

func TestPlanSubnetsErrors(t *testing.T) {
	cases := []struct {
		cidr  string
		zones []string
		want  string
	}{
		{"10.0.0.0/24", []string{"us-west-2a", "us-west-2b"}, "too small for the subnet plan (needs /22 or larger)"},
		{"10.0.0.0/8", []string{"us-west-2a", "us-west-2b"}, "larger than AWS allows"},
		{"10.0.1.0/16", []string{"us-west-2a", "us-west-2b"}, "host bits set; did you mean 10.0.0.0/16"},
		{"not-a-cidr", []string{"us-west-2a"}, "is not a CIDR block"},
		{"fd00::/56", []string{"us-west-2a"}, "not an IPv4 block"},
		{"10.0.0.0/16", []string{"us-west-2a", "us-east-1b"}, "zones span regions us-west-2 and us-east-1"},
		{"10.0.0.0/16", []string{"us-west-2a", "us-west-2a"}, `zone "us-west-2a" is listed twice`},
		{"10.0.0.0/16", []string{"us-west-2g"}, "the subnet plan has room for 6 zones"},
		{"10.0.0.0/16", []string{"us-west-2"}, "is not an availability zone name"},
		{"10.0.0.0/16", []string{"xyz9-az1"}, "is not one this program knows"},
		{"10.0.0.0/16", nil, "no availability zones"},
	}
	for _, c := range cases {
		_, err := PlanSubnets(c.cidr, c.zones)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("PlanSubnets(%q, %v) = %v, want error containing %q", c.cidr, c.zones, err, c.want)
		}
	}
}

func TestZoneRegion(t *testing.T) {
	region, letter, err := ZoneRegion("us-gov-west-1c")
	if err != nil || region != "us-gov-west-1" || letter != 2 {
		t.Errorf("ZoneRegion(us-gov-west-1c) = %q, %d, %v", region, letter, err)
	}
	// Issue #17: zone IDs, the same zone in every account.
	region, letter, err = ZoneRegion("use1-az4")
	if err != nil || region != "us-east-1" || letter != 3 || !IsZoneID("use1-az4") || IsZoneID("us-east-1a") {
		t.Errorf("ZoneRegion(use1-az4) = %q, %d, %v", region, letter, err)
	}
	for _, bad := range []string{"xx9-az1", "use1-az7", "use1-az0"} {
		if _, _, err := ZoneRegion(bad); err == nil {
			t.Errorf("ZoneRegion(%s) accepted", bad)
		}
	}
	if _, err := PlanSubnets("10.0.0.0/16", []string{"use1-az1", "us-east-1b"}); err == nil ||
		!strings.Contains(err.Error(), "list zone names or zone IDs, not both") {
		t.Errorf("names and IDs mixed: %v", err)
	}
}
