// Package mrsummary turns the engine events of `pulumi preview` runs into the
// Markdown body of a merge-request note: per stack the creates, updates,
// replaces and deletes, the replaced stateful resources first and in bold,
// and the policy violations.
package mrsummary

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// StatefulTypes hold data a replacement loses (the policy pack's list).
var StatefulTypes = []string{
	"aws:s3/bucketV2:BucketV2", "aws:s3/bucket:Bucket", "aws:kms/key:Key",
	"aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance", "aws:rds/globalCluster:GlobalCluster",
	"aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup",
	"aws:mq/broker:Broker", "aws:msk/cluster:Cluster", "aws:backup/vault:Vault", "aws:secretsmanager/secret:Secret",
}

// Change is one resource step of a preview.
type Change struct {
	Op   apitype.OpType
	URN  string
	Type string
	// Keys are the properties that force a replacement.
	Keys []string
	// Diffs are the properties that differ.
	Diffs []string
}

// Name is the resource's name (the URN's last part).
func (c Change) Name() string {
	if i := strings.LastIndex(c.URN, "::"); i >= 0 {
		return c.URN[i+2:]
	}
	return c.URN
}

// Violation is one policy finding.
type Violation struct {
	Policy, Level, URN, Message string
}

// Stack is what one stack's preview would do.
type Stack struct {
	Name       string
	Changes    []Change
	Violations []Violation
	// Counts by operation, from the engine's summary (create, update, replace, delete, same).
	Counts map[apitype.OpType]int
	// Err is the preview's failure (a mandatory violation, a program error), "" when it passed.
	Err string
}

// Collect reads a preview's engine events.
func Collect(name string, evs []events.EngineEvent) Stack {
	s := Stack{Name: name, Counts: map[apitype.OpType]int{}}
	for _, e := range evs {
		switch {
		case e.ResourcePreEvent != nil:
			m := e.ResourcePreEvent.Metadata
			// A replacement shows as create-replacement, replace and delete-replaced: keep "replace".
			// A refresh step reads the resource from its provider; what the
			// program then changes is the step after it.
			if m.Op == apitype.OpSame || m.Op == apitype.OpRead || m.Op == apitype.OpRefresh ||
				m.Op == apitype.OpCreateReplacement ||
				m.Op == apitype.OpDeleteReplaced || strings.HasPrefix(m.Type, "pulumi:providers:") ||
				m.Type == "pulumi:pulumi:Stack" {
				continue
			}
			s.Changes = append(s.Changes, Change{Op: m.Op, URN: m.URN, Type: m.Type, Keys: m.Keys, Diffs: m.Diffs})
		case e.PolicyEvent != nil:
			p := e.PolicyEvent
			msg := strings.TrimSpace(p.Message)
			s.Violations = append(s.Violations, Violation{Policy: p.PolicyName, Level: p.EnforcementLevel,
				URN: p.ResourceURN, Message: msg})
		case e.SummaryEvent != nil:
			for op, n := range e.SummaryEvent.ResourceChanges {
				s.Counts[op] = n
			}
		}
	}
	if len(s.Counts) == 0 { // a failed preview sends no summary: count the steps
		for _, c := range s.Changes {
			s.Counts[c.Op]++
		}
	}
	return s
}

// Replaced are the stack's replacements of stateful resources.
func (s Stack) Replaced() []Change {
	var out []Change
	for _, c := range s.Changes {
		if c.Op == apitype.OpReplace && slices.Contains(StatefulTypes, c.Type) {
			out = append(out, c)
		}
	}
	return out
}

// Mandatory counts the mandatory violations.
func (s Stack) Mandatory() int {
	n := 0
	for _, v := range s.Violations {
		if v.Level == "mandatory" {
			n++
		}
	}
	return n
}

// Render writes the note: stateful replacements first, in bold, then a table
// of every stack, then each stack's changes and violations.
func Render(stacks []Stack) string {
	var b strings.Builder
	b.WriteString("## `pulumi preview` of this merge request\n\n")
	var replaced []string
	for _, s := range stacks {
		for _, c := range s.Replaced() {
			replaced = append(replaced, fmt.Sprintf("- **%s: replaces %s `%s`**%s", s.Name, shortType(c.Type), c.Name(), keys(c)))
		}
	}
	if len(replaced) > 0 {
		b.WriteString("> :warning: **Stateful resources would be replaced — their data is lost unless restored:**\n")
		for _, r := range replaced {
			b.WriteString("> " + r + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString("| stack | create | update | replace | delete | policy |\n|---|---:|---:|---:|---:|---|\n")
	for _, s := range stacks {
		verdict := "passed"
		switch {
		case s.Mandatory() > 0:
			verdict = fmt.Sprintf("**blocked** (%d mandatory)", s.Mandatory())
		case s.Err != "":
			verdict = "**failed**"
		case len(s.Violations) > 0:
			verdict = fmt.Sprintf("passed, %d advisory", len(s.Violations))
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s |\n", s.Name, s.Counts[apitype.OpCreate], s.Counts[apitype.OpUpdate],
			s.Counts[apitype.OpReplace], s.Counts[apitype.OpDelete], verdict)
	}
	for _, s := range stacks {
		fmt.Fprintf(&b, "\n<details><summary><b>%s</b>: %d change(s), %d violation(s)</summary>\n\n", s.Name,
			len(s.Changes), len(s.Violations))
		if s.Err != "" && s.Mandatory() == 0 {
			fmt.Fprintf(&b, "Preview failed:\n\n```\n%s\n```\n\n", truncate(s.Err, 2000))
		}
		for _, op := range []apitype.OpType{apitype.OpReplace, apitype.OpDelete, apitype.OpUpdate, apitype.OpCreate} {
			var lines []string
			for _, c := range s.Changes {
				if c.Op == op {
					lines = append(lines, fmt.Sprintf("- `%s` %s%s", c.Name(), shortType(c.Type), keys(c)))
				}
			}
			if len(lines) == 0 {
				continue
			}
			sort.Strings(lines)
			lines = slices.Compact(lines)
			fmt.Fprintf(&b, "%s (%d):\n%s\n\n", op, len(lines), strings.Join(limit(lines, 40), "\n"))
		}
		if len(s.Violations) > 0 {
			b.WriteString("Policy violations:\n")
			for _, v := range s.Violations {
				fmt.Fprintf(&b, "- [%s] `%s` on `%s`: %s\n", v.Level, v.Policy, path.Base(strings.ReplaceAll(v.URN, "::", "/")),
					oneLine(v.Message))
			}
			b.WriteString("\n")
		}
		b.WriteString("</details>\n")
	}
	return b.String()
}

// RenderDrift writes the report of a drift check (`preview --refresh
// --expect-no-changes`): per stack, either no drift, or every resource whose
// state in AWS no longer matches the program, with the properties that
// differ and what the next `pulumi up` would do about it.
func RenderDrift(stacks []Stack) string {
	var b strings.Builder
	b.WriteString("## Drift: the stacks refreshed from AWS against the program\n\n")
	for _, s := range stacks {
		switch {
		case len(s.Changes) == 0 && s.Err == "":
			fmt.Fprintf(&b, "- **%s**: no drift.\n", s.Name)
		case len(s.Changes) == 0:
			fmt.Fprintf(&b, "- **%s**: the check failed:\n\n```\n%s\n```\n", s.Name, truncate(s.Err, 2000))
		default:
			fmt.Fprintf(&b, "- **%s**: %d resource(s) drifted from the program:\n", s.Name, len(s.Changes))
			var lines []string
			for _, c := range s.Changes {
				what := "differs"
				if len(c.Diffs) > 0 {
					what = strings.Join(c.Diffs, ", ") + " differ"
				}
				lines = append(lines, fmt.Sprintf("  - `%s` %s: %s (the next up would %s it)%s", c.Name(),
					shortType(c.Type), what, c.Op, keys(c)))
			}
			sort.Strings(lines)
			b.WriteString(strings.Join(limit(lines, 60), "\n") + "\n")
		}
	}
	return b.String()
}

// Drifted tells whether any stack drifted or could not be checked.
func Drifted(stacks []Stack) bool {
	for _, s := range stacks {
		if len(s.Changes) > 0 || s.Err != "" {
			return true
		}
	}
	return false
}

func shortType(t string) string {
	if i := strings.LastIndex(t, ":"); i >= 0 {
		return t[:i] + "/" + t[i+1:]
	}
	return t
}

func keys(c Change) string {
	if len(c.Keys) == 0 {
		return ""
	}
	return " (forced by " + strings.Join(c.Keys, ", ") + ")"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func limit(lines []string, n int) []string {
	if len(lines) <= n {
		return lines
	}
	return append(lines[:n:n], fmt.Sprintf("- … and %d more", len(lines)-n))
}

// StacksFor picks the stacks a change touches: a changed Pulumi.<stack>.yaml
// touches that stack; Go code, go.mod/go.sum, Pulumi.yaml or the policy
// pack touch every stack; docs and the rest touch none.
func StacksFor(changed, all []string) []string {
	picked := map[string]bool{}
	for _, f := range changed {
		base := path.Base(f)
		switch {
		case strings.HasSuffix(f, ".go"), base == "go.mod", base == "go.sum", f == "Pulumi.yaml",
			strings.HasPrefix(f, "policies/"), strings.HasPrefix(f, "crds/"):
			return slices.Clone(all)
		case strings.HasPrefix(base, "Pulumi.") && strings.HasSuffix(base, ".yaml") && path.Dir(f) == ".":
			picked[strings.TrimSuffix(strings.TrimPrefix(base, "Pulumi."), ".yaml")] = true
		}
	}
	var out []string
	for _, s := range all {
		if picked[s] {
			out = append(out, s)
		}
	}
	return out
}
