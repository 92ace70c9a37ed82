package rules

import (
	"fmt"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

const (
	typeVpc              = "aws:ec2/vpc:Vpc"
	typeFlowLog          = "aws:ec2/flowLog:FlowLog"
	typeSubnet           = "aws:ec2/subnet:Subnet"
	typeRouteTable       = "aws:ec2/routeTable:RouteTable"
	typeRoute            = "aws:ec2/route:Route"
	typeRTAssociation    = "aws:ec2/routeTableAssociation:RouteTableAssociation"
	typeInternetGateway  = "aws:ec2/internetGateway:InternetGateway"
	typeSecurityGroup    = "aws:ec2/securityGroup:SecurityGroup"
	typeDefaultSG        = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
	typeSGRule           = "aws:ec2/securityGroupRule:SecurityGroupRule"
	typeSGIngressRule    = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	typeSGEgressRule     = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
	databaseTierTagValue = "database"
)

// Finding is one violation a stack rule found: the resource and what to do.
type Finding struct {
	URN     string
	Message string
}

// VpcsWithoutFlowLogs returns a finding for each VPC that no flow log points
// at. A flow log that names no destination (logDestination, or the older
// logGroupName) delivers nothing and does not count (issue #20).
func VpcsWithoutFlowLogs(rs []policyx.AnalyzerResource) []Finding {
	var flowLogs []policyx.AnalyzerResource
	for _, fl := range ofType(rs, typeFlowLog) {
		_, dest, _ := str(fl.Properties, "logDestination")
		_, group, _ := str(fl.Properties, "logGroupName")
		if dest || group {
			flowLogs = append(flowLogs, fl)
		}
	}
	for _, fl := range flowLogs {
		// A flow log whose VPC is not known yet might be any VPC's: no verdict.
		if _, _, known := str(fl.Properties, "vpcId"); !known && len(fl.PropertyDependencies["vpcId"]) == 0 {
			return nil
		}
	}
	var out []Finding
	for _, vpc := range ofType(rs, typeVpc) {
		covered := false
		for _, fl := range flowLogs {
			if refersTo(fl, "vpcId", vpc) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, Finding{URN: vpc.URN, Message: fmt.Sprintf(
				"VPC %q has no flow log. Set eduai:network.flowLogs.enabled: true in the stack file; the network "+
					"component then sends ALL traffic records to a CloudWatch log group with retention.", vpc.Name)})
		}
	}
	return out
}

// DatabaseSubnetsWithInternetRoute returns a finding for each database-tier
// subnet (tag Tier=database) whose route table has a route to an internet gateway.
func DatabaseSubnetsWithInternetRoute(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	for _, subnet := range ofType(rs, typeSubnet) {
		tags, _ := strMap(subnet.Properties, "tags")
		if tags["Tier"] != databaseTierTagValue {
			continue
		}
		for _, rt := range subnetInternetRoutes(rs, subnet) {
			out = append(out, Finding{URN: subnet.URN, Message: fmt.Sprintf(
				"database subnet %q is associated with route table %q, which routes to an internet gateway. "+
					"Associate database subnets only with the database route table (local routes only); "+
					"data stores reach AWS services through VPC endpoints.", subnet.Name, rt)})
		}
	}
	return out
}

// subnetInternetRoute tells whether the subnet is public: a route table
// associated with it routes to an internet gateway (the first one's name).
func subnetInternetRoute(rs []policyx.AnalyzerResource, subnet policyx.AnalyzerResource) (string, bool) {
	if rts := subnetInternetRoutes(rs, subnet); len(rts) > 0 {
		return rts[0], true
	}
	return "", false
}

// subnetInternetRoutes names the route tables associated with the subnet
// that route to an internet gateway (inline routes or route resources).
func subnetInternetRoutes(rs []policyx.AnalyzerResource, subnet policyx.AnalyzerResource) []string {
	igws := ofType(rs, typeInternetGateway)
	pointsAtIGW := func(r policyx.AnalyzerResource, prop string, gatewayID string) bool {
		if strings.HasPrefix(gatewayID, "igw-") {
			return true
		}
		for _, igw := range igws {
			if refersTo(r, prop, igw) {
				return true
			}
		}
		return false
	}
	routesToIGW := func(rt policyx.AnalyzerResource) bool {
		// Inline routes on the route table.
		if routes, _ := objList(rt.Properties, "routes"); len(routes) > 0 {
			for _, route := range routes {
				if gw, _, _ := str(route, "gatewayId"); strings.HasPrefix(gw, "igw-") {
					return true
				}
			}
			if pointsAtIGW(rt, "routes", "") {
				return true
			}
		}
		// Separate route resources.
		for _, route := range ofType(rs, typeRoute) {
			if !refersTo(route, "routeTableId", rt) {
				continue
			}
			gw, _, _ := str(route.Properties, "gatewayId")
			if pointsAtIGW(route, "gatewayId", gw) {
				return true
			}
		}
		return false
	}
	var out []string
	for _, assoc := range ofType(rs, typeRTAssociation) {
		if !refersTo(assoc, "subnetId", subnet) {
			continue
		}
		for _, rt := range ofType(rs, typeRouteTable) {
			if refersTo(assoc, "routeTableId", rt) && routesToIGW(rt) {
				out = append(out, rt.Name)
			}
		}
	}
	return out
}

const (
	typeEIP        = "aws:ec2/eip:Eip"
	typeNatGateway = "aws:ec2/natGateway:NatGateway"
)

// EIPAttachedFindings: every Elastic IP is used by a NAT gateway or an
// instance, none billed idle (CKV2_AWS_19).
func EIPAttachedFindings(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	nats := ofType(rs, typeNatGateway)
	for _, e := range ofType(rs, typeEIP) {
		if _, present, _ := str(e.Properties, "instance"); present {
			continue
		}
		used := false
		for _, n := range nats {
			used = used || refersTo(n, "allocationId", e)
		}
		if !used {
			out = append(out, Finding{URN: e.URN, Message: fmt.Sprintf("Elastic IP %q is attached to nothing. "+
				"Remove it, or give it to a NAT gateway (allocationId).", e.Name)})
		}
	}
	return out
}

// SecurityGroupAttachedFindings: every security group the program creates is
// attached to something (a database, cache, broker, endpoint, cluster,
// launch template) — an unused group is either dead weight or a resource
// left unprotected (CKV2_AWS_5). Security groups and their rules do not
// attach a group: a rule of the group, or another group's rule that admits
// it as a source, leaves it guarding nothing (issue #20).
func SecurityGroupAttachedFindings(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	groupTypes := []string{typeSecurityGroup, typeDefaultSG, typeSGRule, typeSGIngressRule, typeSGEgressRule}
	for _, sg := range ofType(rs, typeSecurityGroup) {
		// A component (pulumi-eks' clusterSecurityGroup) takes the group
		// itself; a resource the program gives the group's id literally
		// names it.
		id, _, idKnown := str(sg.Properties, "id")
		names := func(v property.Value) bool {
			return (v.IsResourceReference() && string(v.AsResourceReference().URN) == sg.URN) ||
				(idKnown && id != "" && v.IsString() && v.AsString() == id)
		}
		used := false
		for _, r := range rs {
			if used || slices.Contains(groupTypes, r.Type) {
				continue
			}
			for _, deps := range r.PropertyDependencies {
				used = used || slices.Contains(deps, sg.URN)
			}
			used = used || holds(property.New(r.Properties), names)
		}
		if !used {
			out = append(out, Finding{URN: sg.URN, Message: fmt.Sprintf("security group %q is attached to nothing. "+
				"Attach it to the resource it guards or remove it.", sg.Name)})
		}
	}
	return out
}

// holds tells whether v, or a value nested in it, is one that match accepts.
func holds(v property.Value, match func(property.Value) bool) bool {
	switch {
	case match(v):
		return true
	case v.IsArray():
		for _, e := range v.AsArray().All {
			if holds(e, match) {
				return true
			}
		}
	case v.IsMap():
		for _, e := range v.AsMap().All {
			if holds(e, match) {
				return true
			}
		}
	}
	return false
}
