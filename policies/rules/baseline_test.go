package rules

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

func TestKMSRotation(t *testing.T) {
	cases := []struct {
		props map[string]any
		want  string
	}{
		{map[string]any{"enableKeyRotation": true}, ""},
		{map[string]any{"enableKeyRotation": false}, "does not rotate"},
		{map[string]any{}, "does not rotate"}, // AWS's default is off
		{map[string]any{"enableKeyRotation": unknown}, ""},
		{map[string]any{"customerMasterKeySpec": "RSA_2048"}, ""},
	}
	for _, c := range cases {
		got := runResourceRule(checkKMSRotation, res(typeKMSKey, "key", c.props), nil)
		if (c.want == "") != (len(got) == 0) || (c.want != "" && !strings.Contains(got[0], c.want)) {
			t.Errorf("%v: got %v, want %q", c.props, got, c.want)
		}
	}
}

func TestSubnetPublicIP(t *testing.T) {
	if got := runResourceRule(checkSubnetPublicIP, res(typeSubnet, "s", map[string]any{"mapPublicIpOnLaunch": true}), nil); len(got) != 1 {
		t.Errorf("public IP on launch: %v", got)
	}
	for _, p := range []map[string]any{{"mapPublicIpOnLaunch": false}, {}, {"mapPublicIpOnLaunch": unknown}} {
		if got := runResourceRule(checkSubnetPublicIP, res(typeSubnet, "s", p), nil); len(got) != 0 {
			t.Errorf("%v: %v", p, got)
		}
	}
}

func TestDefaultSecurityGroup(t *testing.T) {
	vpc := res(typeVpc, "vpc", map[string]any{"id": "vpc-1"})
	closed := dependsOn(res(typeDefaultSG, "default", map[string]any{"vpcId": unknown}), "vpcId", vpc)
	open := res(typeDefaultSG, "default", map[string]any{"vpcId": "vpc-1", "ingress": []any{
		map[string]any{"protocol": "-1", "self": true, "fromPort": 0, "toPort": 0}}})
	cases := []struct {
		name string
		rs   []policyx.AnalyzerResource
		want string
	}{
		{"taken over, no rules", []policyx.AnalyzerResource{vpc, closed}, ""},
		{"not taken over", []policyx.AnalyzerResource{vpc}, "leaves its default security group"},
		{"taken over with rules", []policyx.AnalyzerResource{vpc, open}, "has ingress rules"},
	}
	for _, c := range cases {
		got := DefaultSecurityGroupFindings(c.rs)
		if (c.want == "") != (len(got) == 0) || (c.want != "" && !strings.Contains(got[0].Message, c.want)) {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}
