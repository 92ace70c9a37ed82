package rules

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// anchorRows reads the ids of the public checks that apply to our resource kinds.
func anchorRows(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../testdata/checkov-applicable.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ids = append(ids, strings.Split(line, "\t")[0])
	}
	return ids
}

// The shipped copy of the anchors is the shared one, when it is there.
func TestAnchorsCopy(t *testing.T) {
	shared, err := os.ReadFile("../../../shared/anchors/checkov-applicable.tsv")
	if err != nil {
		t.Skip("no ../shared checkout next to the repository")
	}
	ours, err := os.ReadFile("../testdata/checkov-applicable.tsv")
	if err != nil || string(ours) != string(shared) {
		t.Error("policies/testdata/checkov-applicable.tsv differs from ../shared/anchors: copy it again")
	}
}

// Every anchor row is mapped in COVERAGE.md to a rule of the pack or to a
// reason it does not apply, and says how the rule stands against the public
// check's own source (issue #20): implements, stricter (how), looser (why)
// or n/a (why). The counts in the heading are the table's.
func TestCoverage(t *testing.T) {
	rules := map[string]bool{}
	for _, r := range Rules() {
		rules[r.Name] = true
	}
	if len(rules) < 40 {
		t.Errorf("%d rules; the issue expects well over 40", len(rules))
	}
	data, err := os.ReadFile("../COVERAGE.md")
	if err != nil {
		t.Fatal(err)
	}
	mapped := map[string]string{}
	used := map[string]bool{}
	counts := map[string]int{}
	withReason := regexp.MustCompile(`^(stricter|looser|n/a) \(.{20,}\)$`)
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "| CKV") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		if len(cells) != 6 {
			t.Errorf("%s: %d cells, want 6 (check, kind, types, name, covered by, against the source)", line, len(cells))
			continue
		}
		id, cover, verdict := strings.TrimSpace(cells[0]), strings.TrimSpace(cells[4]), strings.TrimSpace(cells[5])
		if _, twice := mapped[id]; twice {
			t.Errorf("%s is mapped twice", id)
		}
		mapped[id] = cover
		kind, _, _ := strings.Cut(verdict, " ")
		counts[kind]++
		switch {
		case kind == "implements" || withReason.MatchString(verdict):
		default:
			t.Errorf("%s: %q is not implements, stricter (how), looser (why) or n/a (why)", id, verdict)
		}
		switch {
		case kind == "n/a" && cover != "—":
			t.Errorf("%s: not applicable, yet mapped to %s", id, cover)
		case kind == "n/a":
		case strings.HasPrefix(cover, "`") && strings.HasSuffix(cover, "`"):
			name := strings.Trim(cover, "`")
			if !rules[name] {
				t.Errorf("%s is mapped to %q, which is not a rule of the pack", id, name)
			}
			used[name] = true
		default:
			t.Errorf("%s: %q names no rule of the pack", id, cover)
		}
	}
	for _, id := range anchorRows(t) {
		if _, ok := mapped[id]; !ok {
			t.Errorf("%s is not mapped in policies/COVERAGE.md", id)
		}
	}
	if len(used) < 30 {
		t.Errorf("only %d rules answer a public check", len(used))
	}
	heading := fmt.Sprintf("%d checks: %d implemented, %d stricter, %d looser (with the reason), %d not applicable "+
		"(with the reason).", len(mapped), counts["implements"], counts["stricter"], counts["looser"], counts["n/a"])
	if !strings.Contains(string(data), heading) {
		t.Errorf("COVERAGE.md's counts are not the table's: want %q", heading)
	}
}

// Every rule is named <area>-<resource>-<check> in a known area, describes
// itself, and judges some resource type.
func TestRuleNames(t *testing.T) {
	areas := []string{"tags", "network", "cluster", "data", "iam", "dr", "observability", "workload", "mesh", "delivery"}
	for _, r := range Rules() {
		parts := strings.Split(r.Name, "-")
		area := parts[0]
		if len(parts) < 3 || !contains(areas, area) {
			t.Errorf("%s: not <area>-<resource>-<check> with an area of %v", r.Name, areas)
		}
		if r.Description == "" || (r.Check == nil) == (r.Stack == nil) {
			t.Errorf("%s: needs a description and exactly one of Check and Stack", r.Name)
		}
		if len(r.Types) == 0 && r.Applies == nil {
			t.Errorf("%s: judges no resource type", r.Name)
		}
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

var updateREADME = flag.Bool("update-readme", false, "rewrite the README's rule table from the pack and policies/config")

// The README's rule table is the pack's: every rule with its kind, its
// description and its level per stack, in the pack's order (go test
// ./policies/rules -run TestREADMERuleTable -update-readme rewrites it).
func TestREADMERuleTable(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const header = "| rule | kind | checks | dev | staging | prod |\n|---|---|---|---|---|---|\n"
	levels := map[string]map[string]policyx.PolicyConfig{}
	for _, stack := range []string{"dev", "staging", "prod"} {
		cfg, err := LoadConfig("../config/"+stack+".json", Policies())
		if err != nil {
			t.Fatal(err)
		}
		levels[stack] = cfg
	}
	var want strings.Builder
	want.WriteString(header)
	for _, r := range Rules() {
		kind := "resource"
		if r.Stack != nil {
			kind = "stack"
		}
		fmt.Fprintf(&want, "| `%s` | %s | %s |", r.Name, kind, r.Description)
		for _, stack := range []string{"dev", "staging", "prod"} {
			fmt.Fprintf(&want, " %s |", LevelName(levels[stack][r.Name].EnforcementLevel))
		}
		want.WriteString("\n")
	}
	text := string(data)
	start := strings.Index(text, header)
	if start < 0 {
		t.Fatal("README has no rule table")
	}
	end := start + strings.Index(text[start:], "\n\n") + 1
	if got := text[start:end]; got != want.String() {
		if *updateREADME {
			if err := os.WriteFile("../../README.md", []byte(text[:start]+want.String()+text[end:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README's rule table differs from the pack; rewrite it with go test ./policies/rules -run "+
			"TestREADMERuleTable -update-readme. Want:\n%s", want.String())
	}
}
