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
