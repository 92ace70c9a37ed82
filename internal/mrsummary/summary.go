// Package mrsummary turns the engine events of `pulumi preview` runs into the
// Markdown body of a merge-request note: per stack the creates, updates,
// replaces and deletes, the replaced stateful resources first and in bold,
// and the policy violations.
package mrsummary

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/sig"
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
	// Properties are the differing property paths with their old and new
	// values, in path order (from the engine's detailed diff, else Diffs).
	Properties []PropertyChange
}

// PropertyChange is one property of a changed resource: its path, what
// happened to it, and its old and new values as the engine shows them
// (secrets are "[secret]"; values not known before the update are "(known after up)").
type PropertyChange struct {
	Path, Kind string
	Old, New   string
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
			s.Changes = append(s.Changes, Change{Op: m.Op, URN: m.URN, Type: m.Type, Keys: m.Keys, Diffs: m.Diffs,
				Properties: propertyChanges(m)})
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

// NoteMarker starts the note, so that a later pipeline finds and updates it
// instead of posting another.
const NoteMarker = "<!-- eduai:pulumi-preview -->"

// Render writes the note: stateful replacements first, in bold, then a table
// of every stack, then each stack's changes and violations.
func Render(stacks []Stack) string {
	var b strings.Builder
	b.WriteString(NoteMarker + "\n## `pulumi preview` of this merge request\n\n")
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
					lines = append(lines, fmt.Sprintf("- `%s` %s%s", c.Name(), shortType(c.Type), keys(c))+propertyLines(c, "  "))
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
					shortType(c.Type), what, c.Op, keys(c))+propertyLines(c, "    "))
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

// maxProperties bounds the property lines of one resource in a note.
const maxProperties = 12

// propertyLines renders a change's properties under its line: "path: old → new".
func propertyLines(c Change, indent string) string {
	if c.Op != apitype.OpUpdate && c.Op != apitype.OpReplace {
		return ""
	}
	var b strings.Builder
	for i, p := range c.Properties {
		if i == maxProperties {
			fmt.Fprintf(&b, "\n%s- … and %d more properties", indent, len(c.Properties)-maxProperties)
			break
		}
		switch p.Kind {
		case "add":
			fmt.Fprintf(&b, "\n%s- `%s`: added `%s`", indent, p.Path, p.New)
		case "delete":
			fmt.Fprintf(&b, "\n%s- `%s`: removed (was `%s`)", indent, p.Path, p.Old)
		default:
			fmt.Fprintf(&b, "\n%s- `%s`: `%s` → `%s`", indent, p.Path, p.Old, p.New)
		}
		if strings.HasSuffix(p.Kind, "-replace") {
			b.WriteString(" (forces replacement)")
		}
	}
	return b.String()
}

// propertyChanges reads the step's differing properties with their values:
// the detailed diff's paths when the provider gives one, else the top-level keys.
func propertyChanges(m apitype.StepEventMetadata) []PropertyChange {
	var oldIn, newIn map[string]any
	if m.Old != nil {
		oldIn = m.Old.Inputs
	}
	if m.New != nil {
		newIn = m.New.Inputs
	}
	var out []PropertyChange
	if len(m.DetailedDiff) > 0 {
		for _, path := range slices.Sorted(maps.Keys(m.DetailedDiff)) {
			kind := string(m.DetailedDiff[path].Kind)
			out = append(out, PropertyChange{Path: path, Kind: kind, Old: valueAt(oldIn, path), New: valueAt(newIn, path)})
		}
		return out
	}
	for _, key := range slices.Sorted(slices.Values(m.Diffs)) {
		kind := "update"
		if _, ok := oldIn[key]; !ok {
			kind = "add"
		} else if _, ok := newIn[key]; !ok {
			kind = "delete"
		}
		if slices.Contains(m.Keys, key) {
			kind += "-replace"
		}
		out = append(out, PropertyChange{Path: key, Kind: kind, Old: valueAt(oldIn, key), New: valueAt(newIn, key)})
	}
	return out
}

// valueAt renders the value at a property path ("tags.Name",
// "ingress[0].fromPort", `tags["kubernetes.io/role"]`) as short JSON.
func valueAt(m map[string]any, path string) string {
	var v any = m
	for _, seg := range splitPath(path) {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return "(none)"
			}
			v = x[i]
		default:
			return "(none)"
		}
	}
	switch x := v.(type) {
	case nil:
		return "(none)"
	case string:
		if x == unknownValue {
			return "(known after up)"
		}
		return truncate(x, 80)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return truncate(strings.ReplaceAll(string(b), unknownValue, "(known after up)"), 80)
}

// unknownValue is how the engine's events show a value not known before the update.
const unknownValue = sig.UnknownStringValue

// splitPath splits a property path into keys and indexes.
func splitPath(path string) []string {
	var out []string
	for len(path) > 0 {
		switch {
		case strings.HasPrefix(path, `["`):
			end := strings.Index(path, `"]`)
			if end < 0 {
				return append(out, path)
			}
			out, path = append(out, path[2:end]), path[end+2:]
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return append(out, path)
			}
			out, path = append(out, path[1:end]), path[end+1:]
		case path[0] == '.':
			path = path[1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			out, path = append(out, path[:end]), path[end:]
		}
	}
	return out
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

// RenderDeploy writes the report of a deploy job's `pulumi up --plan`: what
// it did per operation and, when the engine refused, why.
func RenderDeploy(s Stack) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## `pulumi up --plan` of %s (the reviewed plan)\n\n", s.Name)
	fmt.Fprintf(&b, "| create | update | replace | delete |\n|---:|---:|---:|---:|\n| %d | %d | %d | %d |\n\n",
		s.Counts[apitype.OpCreate], s.Counts[apitype.OpUpdate], s.Counts[apitype.OpReplace], s.Counts[apitype.OpDelete])
	if s.Err != "" {
		fmt.Fprintf(&b, "**Refused or failed:**\n\n```\n%s\n```\n", truncate(PlanRefusal(s.Err), 4000))
	}
	return b.String()
}

// PlanRefusal picks, from an update's error, the lines where the engine says
// what went beyond the plan ("… violates plan: …"); the whole text otherwise.
func PlanRefusal(err string) string {
	var lines []string
	for _, l := range strings.Split(err, "\n") {
		if strings.Contains(l, "violates plan") || strings.Contains(l, "plan:") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	if len(lines) == 0 {
		return strings.TrimSpace(err)
	}
	return strings.Join(slices.Compact(lines), "\n")
}
