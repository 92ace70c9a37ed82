package rules

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	pathpkg "path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
	"sigs.k8s.io/yaml"
)

// The mutation suite: testdata/mutations.yaml weakens the recorded prod
// plan (testdata/prod-plan.json, the real program's, kept current by
// cmd/preview's TestRecordedPlanIsCurrent) one change at a time, the way a
// real change could — a flag flipped, a property dropped, a CIDR widened, a
// statement loosened, a resource removed or added — and each weakening must
// be reported by the rule it names, at the level prod enforces. A mutant
// that passes is a survivor and fails the test by its id. Mutants listed
// with `equivalent:` are changes that weaken nothing (the reason says why);
// they must pass, so a rule that reports them is flagged as a false alarm.

type mutant struct {
	ID         string   `json:"id"`
	Rule       string   `json:"rule"`
	Target     target   `json:"target"`
	Change     []change `json:"change"`
	Equivalent string   `json:"equivalent,omitempty"`
}

// target picks resources by the end of their type ("iam/role:Role") and
// their name (a glob: "network-*"); it must match exactly one unless all is set.
type target struct {
	Type string `json:"type"`
	Name string `json:"name"`
	All  bool   `json:"all,omitempty"`
}

// change is one edit. A path is a list of keys and list indexes; "*"
// walks every element; a string met on the way is parsed as JSON (a policy
// document) and written back.
type change struct {
	Set    []any     `json:"set,omitempty"`
	Delete []any     `json:"delete,omitempty"`
	Append []any     `json:"append,omitempty"`
	To     any       `json:"to,omitempty"`
	Remove bool      `json:"remove,omitempty"`
	Add    *addition `json:"add,omitempty"`
	// Provider edits the properties of the target's provider (as this
	// resource sees it) instead of the target's own.
	Provider bool `json:"provider,omitempty"`
	// Point re-points a property at another resource: the property takes
	// that resource's id (or the field named) and its dependency, as the
	// engine records an output passed as an input.
	Point *pointer `json:"point,omitempty"`
	// Unprotect registers the target without the protect option.
	Unprotect bool `json:"unprotect,omitempty"`
}

type pointer struct {
	Property string `json:"property"`
	Type     string `json:"type"`
	Name     string `json:"name"`
	Field    string `json:"field,omitempty"`
}

// addition is a new resource, managed by the target's provider.
type addition struct {
	Type       string         `json:"type"`
	Name       string         `json:"name"`
	Properties map[string]any `json:"properties"`
	// DependsOn lists property -> target, recording that the property came
	// from the target (as the engine's property dependencies do).
	DependsOn []string `json:"dependsOn,omitempty"`
}

func loadMutants(t *testing.T) []mutant {
	data, err := os.ReadFile("../testdata/mutations.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var list []mutant
	if err := yaml.UnmarshalStrict(data, &list); err != nil {
		t.Fatalf("mutations.yaml: %v", err)
	}
	return list
}

func loadRecordedPlan(t *testing.T) []PlanResource {
	data, err := os.ReadFile("../testdata/prod-plan.json")
	if err != nil {
		t.Fatal(err)
	}
	var plan []PlanResource
	if err := json.Unmarshal(data, &plan); err != nil {
		t.Fatal(err)
	}
	return plan
}

// apply returns a copy of plan with m's changes made.
func (m mutant) apply(plan []PlanResource) ([]PlanResource, error) {
	var hits []int
	for i, r := range plan {
		if ok, _ := pathpkg.Match(m.Target.Name, r.Name); ok && strings.HasSuffix(r.Type, m.Target.Type) {
			hits = append(hits, i)
		}
	}
	if len(hits) == 0 || (len(hits) > 1 && !m.Target.All) {
		return nil, fmt.Errorf("target %s %q matches %d resources", m.Target.Type, m.Target.Name, len(hits))
	}
	out := slices.Clone(plan)
	removed := map[int]bool{}
	for _, c := range m.Change {
		for _, i := range hits {
			switch {
			case c.Remove:
				removed[i] = true
			case c.Add != nil:
				out = append(out, c.Add.resource(plan[i]))
			case c.Unprotect:
				out[i].Protect = false
			case c.Point != nil:
				r, err := c.Point.apply(plan, out[i])
				if err != nil {
					return nil, err
				}
				out[i] = r
			case c.Provider:
				if out[i].Provider == nil {
					return nil, fmt.Errorf("%s has no provider", out[i].Name)
				}
				p := *out[i].Provider
				raw, err := editRaw(p.Properties, c)
				if err != nil {
					return nil, fmt.Errorf("%s's provider: %w", out[i].Name, err)
				}
				p.Properties = raw
				out[i].Provider = &p
			default:
				raw, err := editRaw(out[i].Properties, c)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", out[i].Name, err)
				}
				out[i].Properties = raw
				// A property set to a value of its own, or dropped, no
				// longer comes from another resource.
				if p := slices.Concat(c.Set, c.Delete); len(p) == 1 {
					deps := map[string][]string{}
					for k, v := range out[i].PropertyDependencies {
						if k != p[0] {
							deps[k] = v
						}
					}
					out[i].PropertyDependencies = deps
				}
			}
		}
	}
	var kept []PlanResource
	for i, r := range out {
		if !removed[i] {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

func (a *addition) resource(like PlanResource) PlanResource {
	props, _ := json.Marshal(a.Properties)
	stem := like.URN[:strings.LastIndex(like.URN, "::")]
	stem = stem[:strings.LastIndex(stem, "::")+2]
	r := PlanResource{Type: a.Type, Name: a.Name, URN: stem + a.Type + "::" + a.Name, Provider: like.Provider,
		Properties: props, PropertyDependencies: map[string][]string{}}
	for _, p := range a.DependsOn {
		r.PropertyDependencies[p] = append(r.PropertyDependencies[p], like.URN)
		r.Dependencies = append(r.Dependencies, like.URN)
	}
	return r
}

func (p *pointer) apply(plan []PlanResource, r PlanResource) (PlanResource, error) {
	var to *PlanResource
	for i := range plan {
		if strings.HasSuffix(plan[i].Type, p.Type) && plan[i].Name == p.Name {
			to = &plan[i]
		}
	}
	if to == nil {
		return r, fmt.Errorf("point: no %s %q", p.Type, p.Name)
	}
	field := p.Field
	if field == "" {
		field = "id"
	}
	var props map[string]any
	if err := json.Unmarshal(to.Properties, &props); err != nil {
		return r, err
	}
	raw, err := editRaw(r.Properties, change{Set: []any{p.Property}, To: props[field]})
	if err != nil {
		return r, err
	}
	r.Properties = raw
	deps := map[string][]string{}
	for k, v := range r.PropertyDependencies {
		deps[k] = v
	}
	deps[p.Property] = []string{to.URN}
	r.PropertyDependencies = deps
	r.Dependencies = append(slices.Clone(r.Dependencies), to.URN)
	return r, nil
}

func editRaw(raw json.RawMessage, c change) (json.RawMessage, error) {
	var props any
	if err := json.Unmarshal(raw, &props); err != nil {
		return nil, err
	}
	props, err := edit(props, c)
	if err != nil {
		return nil, err
	}
	return json.Marshal(props)
}

func edit(v any, c change) (any, error) {
	switch {
	case c.Set != nil:
		return walk(v, c.Set, func(any, bool) (any, bool) { return c.To, true })
	case c.Delete != nil:
		return walk(v, c.Delete, func(any, bool) (any, bool) { return nil, false })
	case c.Append != nil:
		return walk(v, c.Append, func(old any, _ bool) (any, bool) {
			list, _ := old.([]any)
			return append(slices.Clone(list), c.To), true
		})
	}
	return nil, fmt.Errorf("a change does nothing")
}

// walk applies f at path in v: f gets the old value (and whether there was
// one) and returns the new one, or keep=false to delete it.
func walk(v any, path []any, f func(old any, present bool) (any, bool)) (any, error) {
	if len(path) == 0 {
		nv, _ := f(v, true)
		return nv, nil
	}
	if s, ok := v.(string); ok {
		var doc any
		if err := json.Unmarshal([]byte(s), &doc); err != nil {
			return nil, fmt.Errorf("cannot walk into %q: not JSON", s)
		}
		doc, err := walk(doc, path, f)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(doc)
		return string(b), err
	}
	key, rest := path[0], path[1:]
	switch x := v.(type) {
	case map[string]any:
		k, ok := key.(string)
		if !ok {
			return nil, fmt.Errorf("index %v into an object", key)
		}
		keys := []string{k}
		if k == "*" {
			keys = nil
			for kk := range x {
				keys = append(keys, kk)
			}
		}
		for _, kk := range keys {
			old, present := x[kk]
			if len(rest) == 0 {
				nv, keep := f(old, present)
				if keep {
					x[kk] = nv
				} else {
					delete(x, kk)
				}
				continue
			}
			if !present {
				if k == "*" {
					continue
				}
				old = map[string]any{}
			}
			nv, err := walk(old, rest, f)
			if err != nil {
				return nil, fmt.Errorf("%s.%w", kk, err)
			}
			x[kk] = nv
		}
		return x, nil
	case []any:
		var idx []int
		switch k := key.(type) {
		case float64:
			if int(k) >= len(x) {
				return nil, fmt.Errorf("index %d past %d elements", int(k), len(x))
			}
			idx = []int{int(k)}
		case string:
			if k != "*" {
				return nil, fmt.Errorf("key %q into a list", k)
			}
			for i := range x {
				idx = append(idx, i)
			}
		}
		for j := len(idx) - 1; j >= 0; j-- {
			i := idx[j]
			if len(rest) == 0 {
				nv, keep := f(x[i], true)
				if keep {
					x[i] = nv
				} else {
					x = slices.Delete(x, i, i+1)
				}
				continue
			}
			nv, err := walk(x[i], rest, f)
			if err != nil {
				return nil, fmt.Errorf("%d.%w", i, err)
			}
			x[i] = nv
		}
		return x, nil
	}
	return nil, fmt.Errorf("nothing at %v (a %T)", key, v)
}

// prodLevels is the prod stack's policy config, as the pack reads it.
func prodLevels(t *testing.T) map[string]policyx.PolicyConfig {
	cfg, err := LoadConfig("../config/prod.json", Policies())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func mandatoryRules(cfg map[string]policyx.PolicyConfig) []string {
	var out []string
	for _, p := range Policies() {
		level := p.EnforcementLevel()
		if pc, ok := cfg[p.Name()]; ok {
			level = pc.EnforcementLevel
		}
		if level == policyx.EnforcementLevelMandatory && p.Name() != PolicyExceptions {
			out = append(out, p.Name())
		}
	}
	sort.Strings(out)
	return out
}

func analyzed(t *testing.T, plan []PlanResource) []policyx.AnalyzerResource {
	out := make([]policyx.AnalyzerResource, 0, len(plan))
	for _, pr := range plan {
		r, err := pr.Analyzer()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestMutationSuite(t *testing.T) {
	plan := loadRecordedPlan(t)
	cfg := prodLevels(t)
	mandatory := mandatoryRules(cfg)
	base, err := Evaluate(t.Context(), Policies(), analyzed(t, plan), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range base {
		if v.Enforcement == "mandatory" {
			t.Errorf("the recorded prod plan itself violates %s: %s: %s", v.Policy, v.URN, v.Message)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	mutants := loadMutants(t)
	perRule := map[string]int{}
	ids := map[string]bool{}
	killed, scored := 0, 0
	var survivors, alarms []string
	for _, m := range mutants {
		if ids[m.ID] {
			t.Errorf("mutant id %s is used twice", m.ID)
		}
		ids[m.ID] = true
		if !slices.Contains(mandatory, m.Rule) {
			t.Errorf("%s: rule %q is not mandatory in prod", m.ID, m.Rule)
			continue
		}
		mutated, err := m.apply(plan)
		if err != nil {
			t.Errorf("%s: %v", m.ID, err)
			continue
		}
		vs, err := Evaluate(t.Context(), Policies(), analyzed(t, mutated), cfg)
		if err != nil {
			t.Fatalf("%s: %v", m.ID, err)
		}
		var by []string
		hit := false
		for _, v := range vs {
			if v.Enforcement == "mandatory" {
				by = append(by, v.Policy)
				hit = hit || v.Policy == m.Rule
			}
		}
		by = slices.Compact(by)
		if m.Equivalent != "" {
			if len(by) > 0 {
				alarms = append(alarms, fmt.Sprintf("%s (equivalent: %s) is reported by %v", m.ID, m.Equivalent, by))
			}
			continue
		}
		perRule[m.Rule]++
		scored++
		if hit {
			killed++
			continue
		}
		also := ""
		if len(by) > 0 {
			also = " (reported only by " + strings.Join(by, ", ") + ")"
		}
		survivors = append(survivors, fmt.Sprintf("%s: %s on %s %s survives %s%s", m.ID, describe(m.Change),
			m.Target.Type, m.Target.Name, m.Rule, also))
	}
	for _, s := range survivors {
		t.Errorf("survivor %s", s)
	}
	for _, a := range alarms {
		t.Errorf("false alarm: %s", a)
	}
	for _, rule := range mandatory {
		if perRule[rule] < 3 {
			t.Errorf("rule %s has %d mutants; the suite weakens every mandatory rule at least 3 ways", rule, perRule[rule])
		}
	}
	score := 100 * float64(killed) / float64(max(scored, 1))
	t.Logf("mutation score: %d of %d killed (%.1f%%), %d equivalents, %d mandatory rules", killed, scored,
		score, len(mutants)-scored, len(mandatory))
	if score < 98 {
		t.Errorf("mutation score %.1f%% is below the 98%% the suite holds", score)
	}
	// The README reports the figure; it stays true.
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	claim := fmt.Sprintf("**%d of %d killed (%.0f %%)**", killed, scored, math.Floor(score))
	if !strings.Contains(string(readme), claim) {
		t.Errorf("README does not report the suite's score %s", claim)
	}
	if claim := fmt.Sprintf("at least three for each of the %d rules mandatory in\n  prod", len(mandatory)); !strings.Contains(
		string(readme), claim) {
		t.Errorf("README does not say %q", claim)
	}
}

func describe(cs []change) string {
	var parts []string
	for _, c := range cs {
		switch {
		case c.Remove:
			parts = append(parts, "remove")
		case c.Add != nil:
			parts = append(parts, "add "+c.Add.Type+" "+c.Add.Name)
		case c.Set != nil:
			parts = append(parts, "set "+pathString(c.Set))
		case c.Delete != nil:
			parts = append(parts, "delete "+pathString(c.Delete))
		case c.Append != nil:
			parts = append(parts, "append to "+pathString(c.Append))
		case c.Point != nil:
			parts = append(parts, "point "+c.Point.Property+" at "+c.Point.Name)
		case c.Provider:
			parts = append(parts, "change the provider")
		case c.Unprotect:
			parts = append(parts, "unprotect")
		}
	}
	return strings.Join(parts, ", ")
}

func pathString(p []any) string {
	var parts []string
	for _, k := range p {
		switch x := k.(type) {
		case float64:
			parts = append(parts, strconv.Itoa(int(x)))
		default:
			parts = append(parts, fmt.Sprint(x))
		}
	}
	return strings.Join(parts, ".")
}
