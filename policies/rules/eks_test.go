package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

func runResourceRule(check func(policyx.ResourceValidationArgs) error, r policyx.AnalyzerResource,
	config map[string]any) []string {
	rec := &recorder{}
	_ = check(policyx.ResourceValidationArgs{Manager: rec, Resource: r, Config: config})
	return rec.messages
}

func eksComponent(p map[string]any) policyx.AnalyzerResource {
	base := map[string]any{"endpointPublicAccess": false, "encryptionConfigKeyArn": "arn:aws:kms:us-west-2:1:key/k",
		"enabledClusterLogTypes": []string{"api", "audit", "authenticator"}, "version": "1.34"}
	for k, v := range p {
		base[k] = v
	}
	return res(typeEKSComponent, "cluster", base)
}

func TestEKSRules(t *testing.T) {
	awsCluster := func(p map[string]any) policyx.AnalyzerResource {
		base := map[string]any{"vpcConfig": map[string]any{"endpointPublicAccess": false},
			"encryptionConfig":       map[string]any{"resources": []string{"secrets"}},
			"enabledClusterLogTypes": []string{"api", "audit", "authenticator"}, "version": "1.34"}
		for k, v := range p {
			base[k] = v
		}
		return res(typeEKSCluster, "raw", base)
	}
	cases := []struct {
		name   string
		check  func(policyx.ResourceValidationArgs) error
		r      policyx.AnalyzerResource
		config map[string]any
		want   string
	}{
		{"private endpoint", checkEndpointPrivate, eksComponent(nil), nil, ""},
		{"public from anywhere", checkEndpointPrivate, eksComponent(map[string]any{"endpointPublicAccess": true}), nil, "from anywhere"},
		{"public from listed CIDRs", checkEndpointPrivate, eksComponent(map[string]any{"endpointPublicAccess": true,
			"publicAccessCidrs": []string{"203.0.113.0/24"}}), nil, "from 203.0.113.0/24"},
		{"pulumi-eks default is public", checkEndpointPrivate, eksComponent(map[string]any{"endpointPublicAccess": nil}), nil, "public API endpoint"},
		{"endpoint not known yet", checkEndpointPrivate, eksComponent(map[string]any{"endpointPublicAccess": unknown}), nil, ""},
		{"aws cluster public", checkEndpointPrivate, awsCluster(map[string]any{"vpcConfig": map[string]any{"endpointPublicAccess": true}}), nil, "public API endpoint"},
		{"aws cluster private", checkEndpointPrivate, awsCluster(nil), nil, ""},
		{"other type", checkEndpointPrivate, res(typeVpc, "v", nil), nil, ""},
		{"component as the engine shows it: no properties, no verdict", checkEndpointPrivate, res(typeEKSComponent, "c", nil), nil, ""},
		{"same for encryption", checkSecretsEncryption, res(typeEKSComponent, "c", nil), nil, ""},
		{"same for the version", checkMinimumVersion, res(typeEKSComponent, "c", nil), nil, ""},

		{"secrets encrypted", checkSecretsEncryption, eksComponent(nil), nil, ""},
		{"no key", checkSecretsEncryption, eksComponent(map[string]any{"encryptionConfigKeyArn": nil}), nil, "does not encrypt"},
		{"key not known yet", checkSecretsEncryption, eksComponent(map[string]any{"encryptionConfigKeyArn": unknown}), nil, ""},
		{"aws cluster without encryption", checkSecretsEncryption, awsCluster(map[string]any{"encryptionConfig": nil}), nil, "does not encrypt"},

		{"logs on", checkControlPlaneLogs, eksComponent(nil), nil, ""},
		{"audit missing", checkControlPlaneLogs, eksComponent(map[string]any{"enabledClusterLogTypes": []string{"api"}}), nil, "audit, authenticator"},
		{"configured requirement", checkControlPlaneLogs, eksComponent(nil), map[string]any{"requiredLogTypes": []any{"scheduler"}}, "scheduler"},
		{"logs not known yet", checkControlPlaneLogs, eksComponent(map[string]any{"enabledClusterLogTypes": unknown}), nil, ""},

		{"current version", checkMinimumVersion, eksComponent(nil), nil, ""},
		{"old version", checkMinimumVersion, eksComponent(map[string]any{"version": "1.28"}), nil, "older than the minimum 1.33"},
		{"configured minimum", checkMinimumVersion, eksComponent(nil), map[string]any{"minimumVersion": "1.35"}, "older than the minimum 1.35"},
		{"unpinned", checkMinimumVersion, eksComponent(map[string]any{"version": nil}), nil, "does not pin"},
	}
	for _, c := range cases {
		got := runResourceRule(c.check, c.r, c.config)
		switch {
		case c.want == "" && len(got) != 0:
			t.Errorf("%s: unexpected %v", c.name, got)
		case c.want != "" && (len(got) != 1 || !strings.Contains(got[0], c.want)):
			t.Errorf("%s: got %v, want one containing %q", c.name, got, c.want)
		case c.want != "" && !strings.Contains(got[0], "eduai:cluster") && !strings.Contains(got[0], "encryptionConfig"):
			t.Errorf("%s: message does not say how to fix: %s", c.name, got[0])
		}
	}
}

func TestNodeRules(t *testing.T) {
	goodLT := res(typeLaunchTemplate, "lt", map[string]any{"id": "lt-1",
		"metadataOptions":     map[string]any{"httpTokens": "required", "httpPutResponseHopLimit": 1},
		"blockDeviceMappings": []any{map[string]any{"deviceName": "/dev/xvda", "ebs": map[string]any{"encrypted": "true"}}}})
	imdsv1 := res(typeLaunchTemplate, "lt", map[string]any{"id": "lt-1",
		"metadataOptions":     map[string]any{"httpTokens": "optional", "httpPutResponseHopLimit": 2},
		"blockDeviceMappings": []any{map[string]any{"deviceName": "/dev/xvda", "ebs": map[string]any{"encrypted": "false"}}}})
	unknownLT := res(typeLaunchTemplate, "lt", map[string]any{"metadataOptions": unknown, "blockDeviceMappings": unknown})
	ngWith := func(lt policyx.AnalyzerResource) policyx.AnalyzerResource {
		return dependsOn(res(typeNodeGroup, "ng", map[string]any{"launchTemplate": map[string]any{"id": unknown, "version": "1"}}),
			"launchTemplate", lt)
	}
	ngWithout := res(typeNodeGroup, "bare", map[string]any{"diskSize": 50})
	ngByID := res(typeNodeGroup, "byid", map[string]any{"launchTemplate": map[string]any{"id": "lt-1", "version": "1"}})

	cases := []struct {
		name           string
		rs             []policyx.AnalyzerResource
		imds, volumes  int
		imdsContaining string
	}{
		{"compliant template and group", []policyx.AnalyzerResource{goodLT, ngWith(goodLT)}, 0, 0, ""},
		{"group refers by id", []policyx.AnalyzerResource{goodLT, ngByID}, 0, 0, ""},
		{"IMDSv1, hop limit 2, unencrypted", []policyx.AnalyzerResource{imdsv1, ngWith(imdsv1)}, 2, 1, "allows IMDSv1"},
		{"group without template", []policyx.AnalyzerResource{ngWithout}, 1, 1, "has no launch template"},
		{"template not known yet", []policyx.AnalyzerResource{unknownLT, ngWith(unknownLT)}, 0, 0, ""},
	}
	for _, c := range cases {
		imds, vols := NodeMetadataFindings(c.rs), NodeVolumeFindings(c.rs)
		if len(imds) != c.imds || len(vols) != c.volumes {
			t.Errorf("%s: %d IMDS and %d volume findings, want %d and %d: %v %v", c.name, len(imds), len(vols),
				c.imds, c.volumes, imds, vols)
		}
		if c.imdsContaining != "" && (len(imds) == 0 || !strings.Contains(imds[0].Message, c.imdsContaining)) {
			t.Errorf("%s: %v", c.name, imds)
		}
	}
}

func TestVersionSupport(t *testing.T) {
	defer func(c func() time.Time) { clock = c }(clock)
	at := func(day string) { clock = func() time.Time { d, _ := time.Parse(time.DateOnly, day); return d } }
	cases := []struct {
		today, version string
		config         map[string]any
		want           string
	}{
		{"2026-06-01", "1.34", nil, ""},
		{"2026-10-01", "1.34", nil, "leaves standard support on 2026-12-02"},
		{"2026-12-02", "1.34", nil, "out of standard support since 2026-12-02"},
		{"2026-12-02", "1.35", nil, ""},
		{"2026-12-02", "1.35", map[string]any{"warnDays": float64(200)}, "leaves standard support on 2027-03-27"},
		{"2027-06-01", "1.36", nil, ""}, // not in the calendar: no verdict
		{"2027-06-01", "1.36", map[string]any{"standardSupportEnds": map[string]any{"1.36": "2027-05-01"}}, "since 2027-05-01"},
	}
	for _, c := range cases {
		at(c.today)
		got := runResourceRule(checkVersionSupport, eksComponent(map[string]any{"version": c.version}), c.config)
		switch {
		case c.want == "" && len(got) != 0:
			t.Errorf("%s %s: unexpected %v", c.today, c.version, got)
		case c.want != "" && (len(got) != 1 || !strings.Contains(got[0], c.want)):
			t.Errorf("%s %s: got %v, want %q", c.today, c.version, got, c.want)
		}
	}
}
