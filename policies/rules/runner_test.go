package rules

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// runnerPlan is the runner as components/runner builds it: a private subnet,
// a group with no inbound rule, a launch template with IMDSv2 only and no
// public IP, and the Auto Scaling group; change edits the template's and the
// group's properties before they are linked.
func runnerPlan(change func(lt, sg, asg, subnet map[string]any)) []policyx.AnalyzerResource {
	subnetP := map[string]any{"id": "subnet-0aaa", "mapPublicIpOnLaunch": false, "tags": map[string]any{"Tier": "private"}}
	sgP := map[string]any{"id": "sg-0aaa", "ingress": []any{}, "egress": []any{map[string]any{"protocol": "tcp",
		"fromPort": 443, "toPort": 443, "cidrBlocks": []string{"0.0.0.0/0"}}}}
	ltP := map[string]any{"id": "lt-0aaa", "metadataOptions": map[string]any{"httpTokens": "required", "httpPutResponseHopLimit": 1},
		"networkInterfaces": []any{map[string]any{"associatePublicIpAddress": "false", "securityGroups": []string{"sg-0aaa"}}}}
	asgP := map[string]any{"launchTemplate": map[string]any{"id": "lt-0aaa", "version": "$Latest"},
		"vpcZoneIdentifiers": []string{"subnet-0aaa"}, "minSize": 1, "maxSize": 1}
	if change != nil {
		change(ltP, sgP, asgP, subnetP)
	}
	subnet := res(typeSubnet, "private-a", subnetP)
	sg := res(typeSecurityGroup, "ci-runner", sgP)
	lt := dependsOn(res(typeLaunchTemplate, "ci-runner", ltP), "networkInterfaces", sg)
	asg := dependsOn(dependsOn(res(typeASG, "ci-runner", asgP), "launchTemplate", lt), "vpcZoneIdentifiers", subnet)
	return rs(subnet, sg, lt, asg)
}

// publicRoute makes the runner's subnet a public one: its route table routes to an internet gateway.
func publicRoute(plan []policyx.AnalyzerResource) []policyx.AnalyzerResource {
	subnet := plan[0]
	igw := res(typeInternetGateway, "igw", map[string]any{"id": "igw-0aaa"})
	rt := res(typeRouteTable, "public", map[string]any{"id": "rtb-0aaa"})
	route := dependsOn(dependsOn(res(typeRoute, "public-default", map[string]any{"destinationCidrBlock": "0.0.0.0/0"}),
		"routeTableId", rt), "gatewayId", igw)
	assoc := dependsOn(dependsOn(res(typeRTAssociation, "public-a", map[string]any{}), "subnetId", subnet), "routeTableId", rt)
	return append(plan, igw, rt, route, assoc)
}

func TestRunnerRules(t *testing.T) {
	set := func(path string, v any) func(lt, sg, asg, subnet map[string]any) {
		return func(lt, sg, asg, subnet map[string]any) {
			target := map[string]map[string]any{"lt": lt, "sg": sg, "asg": asg, "subnet": subnet}
			obj, key, _ := strings.Cut(path, ".")
			if inner, k, ok := strings.Cut(key, "."); ok {
				switch x := target[obj][inner].(type) {
				case map[string]any:
					x[k] = v
				case []any:
					x[0].(map[string]any)[k] = v
				}
				return
			}
			if v == nil {
				delete(target[obj], key)
			} else {
				target[obj][key] = v
			}
		}
	}
	noPlanTemplate := runnerPlan(nil)
	noPlanTemplate[3].PropertyDependencies["launchTemplate"] = nil
	noPlanTemplate[3].Properties = props(map[string]any{"launchTemplate": map[string]any{"id": "lt-0fff"}, "vpcZoneIdentifiers": []string{"subnet-0aaa"}})

	runStackCases(t, RunnerPublicIPFindings, []stackCase{
		{"the runner as built", runnerPlan(nil), 0},
		{"template asks for a public IP", runnerPlan(set("lt.networkInterfaces.associatePublicIpAddress", "true")), 1},
		{"public IP as a bool", runnerPlan(set("lt.networkInterfaces.associatePublicIpAddress", true)), 1},
		{"subnet routes to an internet gateway", publicRoute(runnerPlan(nil)), 1},
		{"subnet maps public IPs, template silent", runnerPlan(func(lt, sg, asg, subnet map[string]any) {
			subnet["mapPublicIpOnLaunch"] = true
			lt["networkInterfaces"] = []any{map[string]any{"securityGroups": []string{"sg-0aaa"}}}
		}), 1},
		{"subnet maps public IPs, template refuses", runnerPlan(set("subnet.mapPublicIpOnLaunch", true)), 0},
		{"template outside the program", noPlanTemplate, 1},
		{"launch configuration", rs(res(typeASG, "old", map[string]any{"launchConfiguration": "lc-1"})), 1},
	})
	runStackCases(t, RunnerIMDSv2Findings, []stackCase{
		{"the runner as built", runnerPlan(nil), 0},
		{"IMDSv1 allowed", runnerPlan(set("lt.metadataOptions.httpTokens", "optional")), 1},
		{"no metadata options", runnerPlan(set("lt.metadataOptions", nil)), 1},
		{"hop limit 2", runnerPlan(set("lt.metadataOptions.httpPutResponseHopLimit", 2)), 1},
		{"hop limit left to the default", runnerPlan(func(lt, _, _, _ map[string]any) {
			lt["metadataOptions"] = map[string]any{"httpTokens": "required"}
		}), 1},
		{"tokens not known yet", runnerPlan(set("lt.metadataOptions", unknown)), 0},
		{"template outside the program", noPlanTemplate, 1},
	})
	defaultGroup := runnerPlan(func(lt, _, _, _ map[string]any) {
		lt["networkInterfaces"] = []any{map[string]any{"associatePublicIpAddress": "false"}}
	})
	defaultGroup[2].PropertyDependencies = nil
	sgRule := func(typ string, p map[string]any) []policyx.AnalyzerResource {
		plan := runnerPlan(nil)
		return append(plan, dependsOn(res(typ, "ssh", p), "securityGroupId", plan[1]))
	}
	runStackCases(t, RunnerInboundFindings, []stackCase{
		{"the runner as built", runnerPlan(nil), 0},
		{"inline SSH", runnerPlan(set("sg.ingress", []any{map[string]any{"protocol": "tcp", "fromPort": 22, "toPort": 22,
			"cidrBlocks": []string{"10.0.0.0/8"}}})), 1},
		{"ec2 ingress rule", sgRule(typeSGRule, map[string]any{"type": "ingress", "protocol": "tcp", "fromPort": 22, "toPort": 22}), 1},
		{"ec2 egress rule", sgRule(typeSGRule, map[string]any{"type": "egress", "protocol": "tcp", "fromPort": 22, "toPort": 22}), 0},
		{"vpc ingress rule", sgRule(typeSGIngressRule, map[string]any{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22}), 1},
		{"key pair", runnerPlan(set("lt.keyName", "ops")), 1},
		{"default security group", defaultGroup, 1},
	})
}
