package rules

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// A security group that fronts an internet-facing load balancer says so with
// this tag; only such a group may take 80/443 from anywhere.
const (
	RoleTag          = "eduai:role"
	LoadBalancerRole = "load-balancer"
)

var anywhere = []string{"0.0.0.0/0", "::/0"}

// ingress is one ingress permission, from any of the three ways to write one.
type ingress struct {
	from, to float64
	protocol string
	sources  []string
	known    bool
}

// open: the permission's sources are anywhere — 0.0.0.0/0 or ::/0, or
// narrower CIDRs that together cover the whole IPv4 or IPv6 space
// (0.0.0.0/1 and 128.0.0.0/1 are anywhere too; issue #20).
func (in ingress) open() bool {
	for _, s := range in.sources {
		if slices.Contains(anywhere, s) {
			return true
		}
	}
	var v4, v6 []netip.Prefix
	for _, s := range in.sources {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			continue
		}
		if p.Addr().Is4() {
			v4 = append(v4, p.Masked())
		} else {
			v6 = append(v6, p.Masked())
		}
	}
	return coversAll(v4, netip.IPv4Unspecified()) || coversAll(v6, netip.IPv6Unspecified())
}

// coversAll tells whether the prefixes together cover every address of the
// family that zero (0.0.0.0 or ::) starts.
func coversAll(prefixes []netip.Prefix, zero netip.Addr) bool {
	if len(prefixes) == 0 {
		return false
	}
	slices.SortFunc(prefixes, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	next := zero // the first address not covered yet
	for _, p := range prefixes {
		if p.Addr().Compare(next) > 0 {
			return false // a gap
		}
		last := lastAddr(p)
		if !last.Next().IsValid() {
			return true // reached the family's last address
		}
		if last.Next().Compare(next) > 0 {
			next = last.Next()
		}
	}
	return false
}

// lastAddr is a prefix's last address (its host bits all set).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// webOnly: the permission is TCP on exactly port 80 or exactly port 443.
func (in ingress) webOnly() bool {
	tcp := in.protocol == "tcp" || in.protocol == "6"
	return tcp && in.from == in.to && (in.from == 80 || in.from == 443)
}

func (in ingress) ports() string {
	if in.protocol == "-1" || in.protocol == "all" {
		return "all ports"
	}
	if in.from == in.to {
		return fmt.Sprintf("port %v", in.from)
	}
	return fmt.Sprintf("ports %v-%v", in.from, in.to)
}

func readIngress(m property.Map, cidrKeys ...string) ingress {
	in := ingress{known: true}
	var okFrom, okTo, okProto bool
	in.from, _, okFrom = num(m, "fromPort")
	in.to, _, okTo = num(m, "toPort")
	in.protocol, _, okProto = str(m, "protocol")
	if p, present, ok := str(m, "ipProtocol"); present {
		in.protocol, okProto = p, ok
	}
	in.known = okFrom && okTo && okProto
	for _, k := range cidrKeys {
		v, ok := get(m, k)
		switch {
		case !ok:
		case v.HasComputed():
			in.known = false
		case v.IsString():
			in.sources = append(in.sources, v.AsString())
		case v.IsArray():
			list, _ := strList(m, k)
			in.sources = append(in.sources, list...)
		}
	}
	return in
}

func isLoadBalancerGroup(sg policyx.AnalyzerResource) bool {
	tags, _ := strMap(sg.Properties, "tags")
	return tags[RoleTag] == LoadBalancerRole
}

// PublicIngress returns a finding for each ingress permission open to
// 0.0.0.0/0 or ::/0, except TCP 80 or 443 on a group tagged eduai:role=load-balancer.
// Inline ingress blocks, aws:ec2 SecurityGroupRule and aws:vpc SecurityGroupIngressRule are all read,
// and a group's permissions are judged together: a port is open to anywhere
// when the sources of the permissions that reach it cover the address space,
// though none does alone (0.0.0.0/1 in one rule, 128.0.0.0/1 in another; issue #20).
func PublicIngress(rs []policyx.AnalyzerResource) []Finding {
	groups := ofType(rs, typeSecurityGroup, typeDefaultSG)
	type permission struct {
		r         policyx.AnalyzerResource
		group     string // the group's URN, or the rule's own when its group is not in the program
		groupName string
		lb        bool
		in        ingress
	}
	var perms []permission
	for _, sg := range groups {
		rules, known := objList(sg.Properties, "ingress")
		if !known {
			continue
		}
		for _, rule := range rules {
			perms = append(perms, permission{sg, sg.URN, sg.Name, isLoadBalancerGroup(sg),
				readIngress(rule, "cidrBlocks", "ipv6CidrBlocks")})
		}
	}
	add := func(rule policyx.AnalyzerResource, in ingress) {
		for _, sg := range groups {
			if refersTo(rule, "securityGroupId", sg) {
				perms = append(perms, permission{rule, sg.URN, sg.Name, isLoadBalancerGroup(sg), in})
				return
			}
		}
		perms = append(perms, permission{rule, rule.URN, rule.Name, false, in})
	}
	for _, rule := range ofType(rs, typeSGRule) {
		if t, _, _ := str(rule.Properties, "type"); t == "ingress" {
			add(rule, readIngress(rule.Properties, "cidrBlocks", "ipv6CidrBlocks"))
		}
	}
	for _, rule := range ofType(rs, typeSGIngressRule) {
		add(rule, readIngress(rule.Properties, "cidrIpv4", "cidrIpv6"))
	}

	var out []Finding
	for i, p := range perms {
		if !p.in.known || (p.lb && p.in.webOnly()) {
			continue
		}
		reach := p.in
		for j, q := range perms {
			if j != i && q.group == p.group && q.in.known && q.in.reaches(p.in) {
				reach.sources = append(slices.Clone(reach.sources), q.in.sources...)
			}
		}
		if !reach.open() {
			continue
		}
		fix := "Restrict the source to the CIDRs or security groups that need it."
		if !p.lb {
			fix += " A group in front of an internet-facing load balancer may allow TCP 80/443 from anywhere " +
				"when it is tagged " + RoleTag + "=" + LoadBalancerRole + "."
		} else {
			fix += " A load balancer's group may only open TCP 80 and 443 to anywhere."
		}
		together := ""
		if !p.in.open() {
			together = " (with the group's other permissions on these ports)"
		}
		out = append(out, Finding{URN: p.r.URN, Message: fmt.Sprintf(
			"security group %q allows ingress from anywhere (0.0.0.0/0 or ::/0) on %s%s. %s", p.groupName,
			p.in.ports(), together, fix)})
	}
	return out
}

// reaches: q admits traffic on every port and protocol p admits.
func (q ingress) reaches(p ingress) bool {
	all := func(proto string) bool { return proto == "-1" || proto == "all" }
	switch {
	case all(q.protocol):
		return true
	case all(p.protocol) || q.protocol != p.protocol:
		return false
	}
	return q.from <= p.from && q.to >= p.to
}
