package mrsummary

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// load reads recorded engine events (one JSON event per line, as
// `pulumi preview --event-log` writes them).
func load(t *testing.T, file string) []events.EngineEvent {
	t.Helper()
	f, err := os.Open("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []events.EngineEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e apitype.EngineEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, events.EngineEvent{EngineEvent: e})
	}
	return out
}

func TestRender(t *testing.T) {
	prod := Collect("prod", load(t, "prod-replace-aurora.jsonl"))
	staging := Collect("staging", load(t, "staging-blocked.jsonl"))
	staging.Err = "preview failed: network-vpc-flow-logs (mandatory)"
	dev := Stack{Name: "dev", Counts: map[apitype.OpType]int{}}
	note := Render([]Stack{dev, staging, prod})

	// The replaced Aurora cluster is flagged, in bold, before anything else.
	warning := strings.Index(note, ":warning:")
	table := strings.Index(note, "| stack |")
	if warning < 0 || warning > table ||
		!strings.Contains(note, "**prod: replaces aws:rds/cluster/Cluster `database`** (forced by databaseName)") {
		t.Errorf("the stateful replacement is not flagged first:\n%s", note)
	}
	if strings.Contains(note[:table], "service-content-service-migrate") {
		t.Error("a Job's replacement is flagged as stateful")
	}
	for _, want := range []string{
		"| dev | 0 | 0 | 0 | 0 | passed |",
		"| staging | 1 | 0 | 0 | 0 | **blocked** (1 mandatory) |",
		"| prod | 1 | 1 | 2 | 1 | passed, 1 advisory |",
		"- [advisory] `data-s3-access-logging` on `storage-reports`",
		"- [mandatory] `network-vpc-flow-logs` on `network`",
		"replace (2):",
	} {
		if !strings.Contains(note, want) {
			t.Errorf("note lacks %q:\n%s", want, note)
		}
	}
	if n := len(prod.Replaced()); n != 1 {
		t.Errorf("%d stateful replacements, want 1 (create-replacement/delete-replaced are the same one)", n)
	}
}

func TestStacksFor(t *testing.T) {
	all := []string{"dev", "staging", "prod"}
	for _, c := range []struct {
		changed []string
		want    string
	}{
		{[]string{"Pulumi.staging.yaml"}, "staging"},
		{[]string{"Pulumi.dev.yaml", "Pulumi.prod.yaml"}, "dev,prod"},
		{[]string{"components/cache/redis.go"}, "dev,staging,prod"},
		{[]string{"go.sum"}, "dev,staging,prod"},
		{[]string{"policies/config/prod.json"}, "dev,staging,prod"},
		{[]string{"README.md", "docs/runbooks/region-failover.md"}, ""},
		{[]string{"stacks/testdata/Pulumi.prod.yaml"}, ""},
	} {
		if got := strings.Join(StacksFor(c.changed, all), ","); got != c.want {
			t.Errorf("%v: %q, want %q", c.changed, got, c.want)
		}
	}
}

// Issue #18: a drift check's refresh steps are not changes; the update the
// program would make afterwards is, with the properties that differ.
func TestRenderDrift(t *testing.T) {
	pre := func(op apitype.OpType, urn, typ string, diffs ...string) events.EngineEvent {
		return events.EngineEvent{EngineEvent: apitype.EngineEvent{ResourcePreEvent: &apitype.ResourcePreEvent{
			Metadata: apitype.StepEventMetadata{Op: op, URN: urn, Type: typ, Diffs: diffs}}}}
	}
	vpc := "urn:pulumi:dev::eduai::eduai:network:Vpc$aws:ec2/vpc:Vpc::network"
	drifted := Collect("dev", []events.EngineEvent{
		pre(apitype.OpRefresh, vpc, "aws:ec2/vpc:Vpc"),
		pre(apitype.OpUpdate, vpc, "aws:ec2/vpc:Vpc", "enableDnsHostnames"),
	})
	clean := Collect("staging", []events.EngineEvent{pre(apitype.OpRefresh, vpc, "aws:ec2/vpc:Vpc"), pre(apitype.OpSame, vpc, "aws:ec2/vpc:Vpc")})
	out := RenderDrift([]Stack{drifted, clean})
	for _, want := range []string{"**dev**: 1 resource(s) drifted", "`network` aws:ec2/vpc/Vpc: enableDnsHostnames differ (the next up would update it)",
		"**staging**: no drift."} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if !Drifted([]Stack{drifted}) || Drifted([]Stack{clean}) {
		t.Error("Drifted")
	}
}

// The note shows each changed property with its old and new value: from the
// engine's detailed diff, or from the top-level keys when a provider gives none.
func TestPropertyLevelDiff(t *testing.T) {
	pre := func(op apitype.OpType, urn string, m apitype.StepEventMetadata) events.EngineEvent {
		m.Op, m.URN, m.Type = op, urn, "aws:ec2/securityGroup:SecurityGroup"
		return events.EngineEvent{EngineEvent: apitype.EngineEvent{ResourcePreEvent: &apitype.ResourcePreEvent{Metadata: m}}}
	}
	sg := "urn:pulumi:prod::eduai::eduai:ci:Runner$aws:ec2/securityGroup:SecurityGroup::ci-runner"
	detailed := pre(apitype.OpUpdate, sg, apitype.StepEventMetadata{
		Old: &apitype.StepEventStateMetadata{Inputs: map[string]any{"egress": []any{map[string]any{"fromPort": 443.0}},
			"tags": map[string]any{"Name": "a"}, "description": "same"}},
		New: &apitype.StepEventStateMetadata{Inputs: map[string]any{"egress": []any{map[string]any{"fromPort": 80.0}},
			"tags": map[string]any{"Name": "a", "Owner": "[secret]"}, "vpcId": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"}},
		DetailedDiff: map[string]apitype.PropertyDiff{"egress[0].fromPort": {Kind: apitype.DiffUpdate},
			`tags["Owner"]`: {Kind: apitype.DiffAdd}, "description": {Kind: apitype.DiffDelete}, "vpcId": {Kind: apitype.DiffUpdateReplace}},
	})
	plain := pre(apitype.OpReplace, strings.Replace(sg, "ci-runner", "other", 1), apitype.StepEventMetadata{
		Old:   &apitype.StepEventStateMetadata{Inputs: map[string]any{"name": "x"}},
		New:   &apitype.StepEventStateMetadata{Inputs: map[string]any{"name": "y"}},
		Diffs: []string{"name"}, Keys: []string{"name"},
	})
	s := Collect("prod", []events.EngineEvent{detailed, plain})
	note := Render([]Stack{s})
	for _, want := range []string{
		"- `egress[0].fromPort`: `443` → `80`",
		"- `tags[\"Owner\"]`: added `[secret]`",
		"- `description`: removed (was `same`)",
		"- `vpcId`: `(none)` → `(known after up)` (forces replacement)",
		"- `name`: `x` → `y` (forces replacement)",
	} {
		if !strings.Contains(note, want) {
			t.Errorf("note lacks %q:\n%s", want, note)
		}
	}
	if !strings.HasPrefix(note, NoteMarker) {
		t.Error("the note does not start with its marker, so a later pipeline cannot update it")
	}
	// The drift report shows the same detail.
	if drift := RenderDrift([]Stack{s}); !strings.Contains(drift, "- `egress[0].fromPort`: `443` → `80`") {
		t.Errorf("drift report lacks the property values:\n%s", drift)
	}
}

func TestPlanRefusal(t *testing.T) {
	err := "update failed\nerror: resource urn:pulumi:staging::eduai::aws:ec2/vpc:Vpc::network violates plan: properties changed: ~~enableDnsHostnames[{true}!={false}]\nmore"
	if got := PlanRefusal(err); !strings.HasPrefix(got, "error: resource urn:pulumi:staging::eduai::aws:ec2/vpc:Vpc::network violates plan") ||
		strings.Contains(got, "more") {
		t.Errorf("PlanRefusal: %q", got)
	}
	if got := PlanRefusal("boom"); got != "boom" {
		t.Errorf("PlanRefusal without a plan line: %q", got)
	}
	report := RenderDeploy(Stack{Name: "staging", Counts: map[apitype.OpType]int{apitype.OpCreate: 3}, Err: err})
	if !strings.Contains(report, "| 3 | 0 | 0 | 0 |") || !strings.Contains(report, "violates plan") {
		t.Errorf("deploy report:\n%s", report)
	}
}
