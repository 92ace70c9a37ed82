package rules

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// The delivery-runner-* rules judge every Auto Scaling group the program
// creates — the in-VPC CI runner (issue #18) is one, and so is anything
// else that launches instances — by what its instances get: the launch
// template it launches from, the subnets it places them in and the
// security groups they carry. A group whose launch template is not in the
// program cannot be judged and fails: nothing would say what it launches.

const typeASG = "aws:autoscaling/group:Group"

// groupTemplate finds the launch template an Auto Scaling group launches
// from (launchTemplate, or mixedInstancesPolicy's), by dependency or by id.
func groupTemplate(rs []policyx.AnalyzerResource, asg policyx.AnalyzerResource) (policyx.AnalyzerResource, bool) {
	spec, _, _ := object(asg.Properties, "launchTemplate")
	id, _, _ := str(spec, "id")
	for _, lt := range ofType(rs, typeLaunchTemplate) {
		ltID, _, _ := str(lt.Properties, "id")
		if slices.Contains(asg.PropertyDependencies["launchTemplate"], lt.URN) ||
			slices.Contains(asg.PropertyDependencies["mixedInstancesPolicy"], lt.URN) || (id != "" && id == ltID) {
			return lt, true
		}
	}
	return policyx.AnalyzerResource{}, false
}

// judgeGroups runs judge on each Auto Scaling group and its launch template,
// and reports groups that launch from nothing the pack can read.
func judgeGroups(rs []policyx.AnalyzerResource, rule string,
	judge func(asg, lt policyx.AnalyzerResource) []Finding) []Finding {
	var out []Finding
	for _, asg := range ofType(rs, typeASG) {
		if _, present, _ := str(asg.Properties, "launchConfiguration"); present {
			out = append(out, Finding{URN: asg.URN, Message: fmt.Sprintf("Auto Scaling group %q launches from a launch "+
				"configuration, which %s cannot judge (and AWS no longer adds features to). Launch from a launch "+
				"template (components/runner does).", asg.Name, rule)})
			continue
		}
		lt, ok := groupTemplate(rs, asg)
		if !ok {
			if _, _, known := object(asg.Properties, "launchTemplate"); known {
				out = append(out, Finding{URN: asg.URN, Message: fmt.Sprintf("Auto Scaling group %q launches from a "+
					"launch template that is not in the program, so %s cannot see what its instances get. Create the "+
					"template in the program.", asg.Name, rule)})
			}
			continue
		}
		out = append(out, judge(asg, lt)...)
	}
	return out
}

// RunnerPublicIPFindings: an Auto Scaling group's instances get no public IP
// (the template does not ask for one) and live in no public subnet (one
// that assigns public IPs or routes to an internet gateway).
func RunnerPublicIPFindings(rs []policyx.AnalyzerResource) []Finding {
	return judgeGroups(rs, RunnerNoPublicIP, func(asg, lt policyx.AnalyzerResource) []Finding {
		var out []Finding
		nics, _ := objList(lt.Properties, "networkInterfaces")
		explicitNo := false
		for _, n := range nics {
			on, known := publicIPFlag(n)
			if known && on {
				out = append(out, Finding{URN: asg.URN, Message: fmt.Sprintf("Auto Scaling group %q launches instances "+
					"with a public IP (launch template %q: associatePublicIpAddress). A runner polls GitLab through "+
					"NAT and needs none; set it to false.", asg.Name, lt.Name)})
			}
			explicitNo = explicitNo || (known && !on)
		}
		for _, subnet := range ofType(rs, typeSubnet) {
			if !refersTo(asg, "vpcZoneIdentifiers", subnet) {
				continue
			}
			mapsPublic, _, known := boolProp(subnet.Properties, "mapPublicIpOnLaunch")
			rt, routes := subnetInternetRoute(rs, subnet)
			switch {
			case routes:
				out = append(out, Finding{URN: asg.URN, Message: fmt.Sprintf("Auto Scaling group %q places instances "+
					"in subnet %q, whose route table %q routes to an internet gateway. Place them in the private "+
					"(workload) subnets.", asg.Name, subnet.Name, rt)})
			case known && mapsPublic && !explicitNo:
				out = append(out, Finding{URN: asg.URN, Message: fmt.Sprintf("Auto Scaling group %q places instances "+
					"in subnet %q, which gives them public IPs (mapPublicIpOnLaunch), and its launch template does "+
					"not refuse one. Set associatePublicIpAddress: false and use the private subnets.", asg.Name, subnet.Name)})
			}
		}
		return out
	})
}

// publicIPFlag reads a network interface's associatePublicIpAddress (a
// string in the provider's schema, a bool in hand-written plans).
func publicIPFlag(n property.Map) (on, known bool) {
	v, present := get(n, "associatePublicIpAddress")
	switch {
	case !present || v.IsComputed():
		return false, false
	case v.IsBool():
		return v.AsBool(), true
	case v.IsString():
		return v.AsString() == "true", true
	}
	return false, false
}

// RunnerIMDSv2Findings: the instances answer only IMDSv2 with a hop limit
// of 1, so neither a request forgery nor a job container takes the
// instance role's credentials.
func RunnerIMDSv2Findings(rs []policyx.AnalyzerResource) []Finding {
	return judgeGroups(rs, RunnerIMDSv2, func(asg, lt policyx.AnalyzerResource) []Finding {
		md, present, known := object(lt.Properties, "metadataOptions")
		if !known {
			return nil
		}
		tokens, _, tokensKnown := str(md, "httpTokens")
		hops, hopsPresent, hopsKnown := num(md, "httpPutResponseHopLimit")
		switch {
		case !present || (tokensKnown && tokens != "required"):
			return []Finding{{URN: asg.URN, Message: fmt.Sprintf("Auto Scaling group %q launches instances that "+
				"answer IMDSv1 (launch template %q: metadataOptions.httpTokens is not \"required\"). Set httpTokens: required.",
				asg.Name, lt.Name)}}
		case hopsKnown && (!hopsPresent || hops != 1):
			return []Finding{{URN: asg.URN, Message: fmt.Sprintf("Auto Scaling group %q lets containers on its "+
				"instances reach the instance role (launch template %q: metadataOptions.httpPutResponseHopLimit "+
				"is not 1). Set it to 1: jobs get their AWS credentials from their own ID token.", asg.Name, lt.Name)}}
		}
		return nil
	})
}

// RunnerInboundFindings: nothing connects to the instances — no key pair,
// and their security groups (named by the template, or the VPC's default
// group when it names none) take no inbound traffic, inline or by a rule.
func RunnerInboundFindings(rs []policyx.AnalyzerResource) []Finding {
	return judgeGroups(rs, RunnerNoInbound, func(asg, lt policyx.AnalyzerResource) []Finding {
		var out []Finding
		if key, present, _ := str(lt.Properties, "keyName"); present && key != "" {
			out = append(out, Finding{URN: asg.URN, Message: fmt.Sprintf("Auto Scaling group %q launches instances "+
				"with the key pair %q (launch template %q). Remove it: operators use Session Manager.", asg.Name, key, lt.Name)})
		}
		var groups []policyx.AnalyzerResource
		for _, sg := range ofType(rs, typeSecurityGroup) {
			if refersTo(lt, "networkInterfaces", sg) || refersTo(lt, "vpcSecurityGroupIds", sg) {
				groups = append(groups, sg)
			}
		}
		nics, nicsKnown := objList(lt.Properties, "networkInterfaces")
		ids, idsKnown := strList(lt.Properties, "vpcSecurityGroupIds")
		named := len(ids) > 0
		for _, n := range nics {
			g, _ := strList(n, "securityGroups")
			named = named || len(g) > 0
		}
		if len(groups) == 0 && !named && nicsKnown && idsKnown {
			out = append(out, Finding{URN: asg.URN, Message: fmt.Sprintf("Auto Scaling group %q launches instances "+
				"into the VPC's default security group (launch template %q names none), which admits the group's "+
				"members. Give them a group of their own with no inbound rule.", asg.Name, lt.Name)})
		}
		for _, sg := range groups {
			for _, rule := range inboundRulesOf(rs, sg) {
				out = append(out, Finding{URN: asg.URN, Message: fmt.Sprintf("Auto Scaling group %q launches instances "+
					"whose security group %q takes inbound traffic (%s). A runner polls GitLab and needs no inbound "+
					"rule; remove it.", asg.Name, sg.Name, rule)})
			}
		}
		return out
	})
}

// inboundRulesOf lists what admits traffic into sg: its inline ingress
// blocks, aws:ec2 SecurityGroupRules of type ingress and aws:vpc
// SecurityGroupIngressRules that name it.
func inboundRulesOf(rs []policyx.AnalyzerResource, sg policyx.AnalyzerResource) []string {
	var out []string
	if rules, known := objList(sg.Properties, "ingress"); known {
		for _, r := range rules {
			out = append(out, "inline ingress on "+readIngress(r, "cidrBlocks", "ipv6CidrBlocks").ports())
		}
	}
	for _, rule := range ofType(rs, typeSGRule) {
		if t, _, _ := str(rule.Properties, "type"); t == "ingress" && refersTo(rule, "securityGroupId", sg) {
			out = append(out, "rule "+rule.Name)
		}
	}
	for _, rule := range ofType(rs, typeSGIngressRule) {
		if refersTo(rule, "securityGroupId", sg) {
			out = append(out, "rule "+rule.Name)
		}
	}
	return out
}
