// Package providercheck applies the AWS provider's Check-time schema
// constraints to a resource's inputs, the way the Terraform bridge under
// pulumi-aws does when the engine calls Check: required properties, forceNew,
// conflictsWith, exactlyOneOf, atLeastOneOf, requiredWith, enums, integer and
// length bounds, item counts and a few well-defined validators. It judges
// known values only (an unknown value is checked once it is known, at up),
// and it sees nested blocks the way the provider does: a constraint inside a
// block applies where the block is given.
//
// The constraints are data: provider-constraints.json, a copy of
// ../shared/anchors/provider-constraints.json (its "source" object records
// where every constraint comes from: terraform-provider-aws at the commits it
// names, bridged by pulumi-aws v6.83.4; see provider-constraints.md there).
// What the data cannot see (CustomizeDiff, API-side checks) this package does
// not claim to check either.
//
// The offline preview, the recording mocks and the engine tests' stand-in
// provider all use this one package, so the three refuse the same inputs.
package providercheck

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

//go:embed provider-constraints.json
var constraintsJSON []byte

// Property is one property's constraints, keyed in the data by its camelCase
// path (`a.b`, list elements `a[*].b`).
type Property struct {
	Type            string   `json:"type"`
	Required        bool     `json:"required"`
	Optional        bool     `json:"optional"`
	Computed        bool     `json:"computed"`
	ForceNew        bool     `json:"forceNew"`
	Flattened       bool     `json:"flattenedMaxItems1"`
	ConflictsWith   []string `json:"conflictsWith"`
	ExactlyOneOf    []string `json:"exactlyOneOf"`
	AtLeastOneOf    []string `json:"atLeastOneOf"`
	RequiredWith    []string `json:"requiredWith"`
	Enum            enumList `json:"enum"`
	ElemEnum        enumList `json:"elemEnum"`
	IntMin          *int64   `json:"intMin"`
	IntMax          *int64   `json:"intMax"`
	StrLenMin       *int     `json:"strLenMin"`
	StrLenMax       *int     `json:"strLenMax"`
	MaxItems        *int     `json:"maxItems"`
	MinItems        *int     `json:"minItems"`
	OtherValidators []string `json:"otherValidators"`
}

// enumList is an enum's values. The data writes an enum it could not
// resolve as a reference string ("enum:publicAccessType"): no values, so
// nothing is refused on it.
type enumList []string

func (e *enumList) UnmarshalJSON(b []byte) error {
	var ref string
	if json.Unmarshal(b, &ref) == nil {
		*e = nil
		return nil
	}
	return json.Unmarshal(b, (*[]string)(e))
}

// Resource is one resource type's constraints.
type Resource struct {
	// File is the provider source file the constraints were read from.
	File       string               `json:"file"`
	Properties map[string]*Property `json:"properties"`
	// Validators are resource-level (plugin framework) validators.
	Validators []struct {
		Kind  string   `json:"kind"`
		Paths []string `json:"paths"`
	} `json:"resourceValidators"`
	// paths are the property paths in a stable order.
	paths []string
}

// Schema is the whole constraint table.
type Schema struct {
	Resources map[string]*Resource `json:"resources"`
	Source    map[string]any       `json:"source"`
}

var (
	loadOnce sync.Once
	loaded   *Schema
	loadErr  error
)

// Load returns the embedded constraint table.
func Load() *Schema {
	loadOnce.Do(func() {
		var s Schema
		if loadErr = json.Unmarshal(constraintsJSON, &s); loadErr != nil {
			return
		}
		for _, r := range s.Resources {
			for p := range r.Properties {
				r.paths = append(r.paths, p)
			}
			sort.Strings(r.paths)
		}
		loaded = &s
	})
	if loadErr != nil {
		// The file is embedded at build time; a broken copy is a build defect.
		panic(fmt.Sprintf("providercheck: embedded provider-constraints.json: %v", loadErr))
	}
	return loaded
}

// Failure is one input the provider would refuse.
type Failure struct {
	// Property is the input path, with list indexes (`rules[0].destination`).
	Property string
	// Rule is the schema constraint: required, conflictsWith, exactlyOneOf,
	// atLeastOneOf, requiredWith, enum, intRange, strLength, maxItems,
	// minItems, or the validator's name.
	Rule string
	// Message says what is wrong, naming the properties involved.
	Message string
}

func (f Failure) String() string { return f.Message + " (provider schema: " + f.Rule + ")" }

// Covers tells whether the table has constraints for the type.
func (s *Schema) Covers(typ string) bool { return s.Resources[typ] != nil }

// Check returns what the provider's Check would refuse in inputs of a
// resource of type typ; nil for a type the table does not cover.
func (s *Schema) Check(typ string, inputs resource.PropertyMap) []Failure {
	r := s.Resources[typ]
	if r == nil {
		return nil
	}
	c := &checker{typ: typ, res: r, root: resource.NewObjectProperty(inputs), seen: map[string]bool{}}
	for _, p := range r.paths {
		c.property(p, r.Properties[p])
	}
	for _, v := range r.Validators {
		if v.Kind == "ExactlyOneOf" {
			c.exactlyOne("", v.Paths, true)
		}
	}
	sort.SliceStable(c.out, func(i, j int) bool { return c.out[i].Property < c.out[j].Property })
	return c.out
}

// ForceNew returns the top-level inputs whose change replaces the resource:
// a changed value of a forceNew property, at any depth, names its top-level
// key. Unknown new values count as changed, as the bridge's diff does.
func (s *Schema) ForceNew(typ string, olds, news resource.PropertyMap) []string {
	r := s.Resources[typ]
	if r == nil {
		return nil
	}
	keys := map[string]bool{}
	for _, p := range r.paths {
		if !r.Properties[p].ForceNew {
			continue
		}
		old := values(resource.NewObjectProperty(olds), parsePath(p))
		cur := values(resource.NewObjectProperty(news), parsePath(p))
		if !sameValues(old, cur) {
			keys[topKey(p)] = true
		}
	}
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func topKey(p string) string {
	if i := strings.IndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return p
}

func sameValues(a, b []instance) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].unknown || b[i].unknown || !unwrap(a[i].v).DeepEquals(unwrap(b[i].v)) {
			return false
		}
	}
	return true
}

// ---- paths and values

// seg is one step of a property path: a key, and whether the value there is
// a list whose every element continues the path.
type seg struct {
	name string
	each bool
}

func parsePath(p string) []seg {
	var out []seg
	for _, part := range strings.Split(p, ".") {
		s := seg{name: strings.TrimSuffix(part, "[*]")}
		s.each = s.name != part
		out = append(out, s)
	}
	return out
}

// instance is a value found at a concrete path.
type instance struct {
	path    string
	v       resource.PropertyValue
	unknown bool
}

func unwrap(v resource.PropertyValue) resource.PropertyValue {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput() && v.OutputValue().Known:
			v = v.OutputValue().Element
		default:
			return v
		}
	}
}

func isUnknown(v resource.PropertyValue) bool {
	v = unwrap(v)
	return v.IsComputed() || (v.IsOutput() && !v.OutputValue().Known)
}

// set tells whether a value counts as given: not null, and a list or map
// with at least one element (the provider sees an empty block list as no
// block; erring this way keeps the checker on the permissive side).
func set(v resource.PropertyValue) bool {
	v = unwrap(v)
	switch {
	case v.IsNull():
		return false
	case v.IsArray():
		return len(v.ArrayValue()) > 0
	case v.IsObject():
		return len(v.ObjectValue()) > 0
	}
	return true
}

// values walks root along segs and returns every value at the end: a block
// the provider limits to one item is accepted as an object or as a
// one-element list, and an unknown value on the way ends the walk there.
func values(root resource.PropertyValue, segs []seg) []instance {
	var out []instance
	var walk func(v resource.PropertyValue, segs []seg, path string)
	walk = func(v resource.PropertyValue, segs []seg, path string) {
		if isUnknown(v) {
			out = append(out, instance{path: path, unknown: true})
			return
		}
		v = unwrap(v)
		if len(segs) == 0 {
			out = append(out, instance{path: path, v: v})
			return
		}
		if v.IsArray() { // a block given as a list: each element carries the path on
			for i, e := range v.ArrayValue() {
				walk(e, segs, fmt.Sprintf("%s[%d]", path, i))
			}
			return
		}
		if !v.IsObject() {
			return
		}
		s := segs[0]
		child, ok := v.ObjectValue()[resource.PropertyKey(s.name)]
		if !ok || (!isUnknown(child) && unwrap(child).IsNull()) {
			return
		}
		p := s.name
		if path != "" {
			p = path + "." + s.name
		}
		if s.each && !isUnknown(child) && unwrap(child).IsArray() {
			for i, e := range unwrap(child).ArrayValue() {
				walk(e, segs[1:], fmt.Sprintf("%s[%d]", p, i))
			}
			return
		}
		walk(child, segs[1:], p)
	}
	walk(root, segs, "")
	return out
}

// ---- the checks

type checker struct {
	typ  string
	res  *Resource
	root resource.PropertyValue
	out  []Failure
	seen map[string]bool
}

func (c *checker) fail(path, rule, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	key := rule + "|" + msg
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.out = append(c.out, Failure{Property: path, Rule: rule, Message: msg})
}

// given tells whether the absolute path p has a value: known and set, or unknown.
func (c *checker) given(p string) (known, unknown bool) {
	for _, in := range values(c.root, parsePath(p)) {
		if in.unknown {
			unknown = true
		} else if set(in.v) {
			known = true
		}
	}
	return known, unknown
}

func (c *checker) property(p string, prop *Property) {
	segs := parsePath(p)
	last := segs[len(segs)-1]
	// The blocks that hold p (the root for a top-level property).
	parents := []instance{{v: c.root}}
	if len(segs) > 1 {
		parents = values(c.root, segs[:len(segs)-1]) // a list's elements come back one by one
	}
	// Pulumi names a resource whose schema requires a top-level name and
	// whose SDK leaves it optional (elasticache.ParameterGroupArgs.Name,
	// cloudwatch.MetricAlarmArgs.Name, appautoscaling.PolicyArgs.Name, …):
	// the bridge fills it in from the logical name before the schema check.
	autonamed := len(segs) == 1 && last.name == "name"
	for _, parent := range parents {
		if parent.unknown {
			continue
		}
		for _, obj := range blocks(parent) {
			child, present := obj.v.ObjectValue()[resource.PropertyKey(last.name)]
			path := join(obj.path, last.name)
			if len(prop.ExactlyOneOf) > 0 {
				c.exactlyOne(path, append([]string{p}, prop.ExactlyOneOf...), true)
			}
			if len(prop.AtLeastOneOf) > 0 {
				c.exactlyOne(path, append([]string{p}, prop.AtLeastOneOf...), false)
			}
			if !present || (!isUnknown(child) && !set(child)) {
				if prop.Required && !(path == "name" && autonamed) {
					c.fail(path, "required", "%s is required", path)
				}
				continue
			}
			for _, other := range prop.RequiredWith {
				if k, u := c.given(other); !k && !u {
					c.fail(path, "requiredWith", "%s requires %s to be set as well", path, other)
				}
			}
			if isUnknown(child) {
				continue // checked once known
			}
			for _, other := range prop.ConflictsWith {
				if k, _ := c.given(other); k {
					a, b := p, other
					if b < a {
						a, b = b, a
					}
					c.fail(path, "conflictsWith", "%s conflicts with %s", a, b)
				}
			}
			c.value(path, prop, unwrap(child))
		}
	}
}

// blocks returns the objects an instance stands for: itself, or the
// elements of a block given as a list.
func blocks(in instance) []instance {
	v := unwrap(in.v)
	switch {
	case v.IsObject():
		return []instance{{path: in.path, v: v}}
	case v.IsArray():
		var out []instance
		for i, e := range v.ArrayValue() {
			if e = unwrap(e); e.IsObject() {
				out = append(out, instance{path: fmt.Sprintf("%s[%d]", in.path, i), v: e})
			}
		}
		return out
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// exactlyOne checks a group of absolute paths: exactly one given (exact) or
// at least one (not exact); unknown members defer the verdict.
func (c *checker) exactlyOne(path string, group []string, exact bool) {
	keys := map[string]bool{}
	for _, g := range group {
		keys[g] = true
	}
	all := make([]string, 0, len(keys))
	for k := range keys {
		all = append(all, k)
	}
	sort.Strings(all)
	var given []string
	unknown := 0
	for _, k := range all {
		known, u := c.given(k)
		switch {
		case known:
			given = append(given, k)
		case u:
			unknown++
		}
	}
	list := strings.Join(all, ", ")
	switch {
	case len(given) == 0 && unknown == 0 && exact:
		c.fail(path, "exactlyOneOf", "exactly one of %s must be set (none is)", list)
	case len(given) == 0 && unknown == 0:
		c.fail(path, "atLeastOneOf", "at least one of %s must be set", list)
	case exact && len(given) > 1:
		c.fail(path, "exactlyOneOf", "only one of %s may be set, but %s are", list, strings.Join(given, " and "))
	}
}

func (c *checker) value(path string, prop *Property, v resource.PropertyValue) {
	switch {
	case v.IsString():
		s := v.StringValue()
		if len(prop.Enum) > 0 && !inEnum(prop.Enum, s, ignoreCase(c.typ, path)) {
			c.fail(path, "enum", "%s: %q is not one of %s", path, s, strings.Join(prop.Enum, ", "))
		}
		if prop.StrLenMin != nil && len(s) < *prop.StrLenMin || prop.StrLenMax != nil && len(s) > *prop.StrLenMax {
			c.fail(path, "strLength", "%s: %q has %d characters, outside %s", path, s, len(s),
				bounds(intPtr(prop.StrLenMin), intPtr(prop.StrLenMax)))
		}
		if prop.Type == "TypeInt" || prop.Type == "Int64Attribute" {
			// A string where the schema wants an integer: the bridge converts it.
			return
		}
	case v.IsNumber():
		n := v.NumberValue()
		if prop.IntMin != nil && n < float64(*prop.IntMin) || prop.IntMax != nil && n > float64(*prop.IntMax) {
			c.fail(path, "intRange", "%s: %v is outside %s", path, n, bounds(prop.IntMin, prop.IntMax))
		}
	case v.IsArray():
		items := v.ArrayValue()
		if prop.MaxItems != nil && len(items) > *prop.MaxItems {
			c.fail(path, "maxItems", "%s: %d items, at most %d allowed", path, len(items), *prop.MaxItems)
		}
		if prop.MinItems != nil && len(items) < *prop.MinItems {
			c.fail(path, "minItems", "%s: %d items, at least %d required", path, len(items), *prop.MinItems)
		}
		if len(prop.ElemEnum) > 0 {
			for i, e := range items {
				if e = unwrap(e); e.IsString() && !inEnum(prop.ElemEnum, e.StringValue(), ignoreCase(c.typ, path)) {
					c.fail(fmt.Sprintf("%s[%d]", path, i), "enum", "%s[%d]: %q is not one of %s", path, i,
						e.StringValue(), strings.Join(prop.ElemEnum, ", "))
				}
			}
		}
	case v.IsObject():
		if prop.Flattened && prop.MaxItems != nil {
			return // one block given as an object
		}
	}
	for _, name := range prop.OtherValidators {
		if msg := validate(name, v); msg != "" {
			c.fail(path, validatorRule(name), "%s: %s", path, msg)
		}
	}
}

func intPtr(p *int) *int64 {
	if p == nil {
		return nil
	}
	v := int64(*p)
	return &v
}

func bounds(lo, hi *int64) string {
	switch {
	case lo != nil && hi != nil:
		return fmt.Sprintf("%d..%d", *lo, *hi)
	case lo != nil:
		return fmt.Sprintf(">= %d", *lo)
	case hi != nil:
		return fmt.Sprintf("<= %d", *hi)
	}
	return "any"
}

func inEnum(values []string, s string, fold bool) bool {
	for _, v := range values {
		if v == s || (fold && strings.EqualFold(v, s)) {
			return true
		}
	}
	return false
}

// NameRequired tells whether the provider requires a top-level name that
// Pulumi fills in (auto-naming) when the program gives none.
func (s *Schema) NameRequired(typ string) bool {
	r := s.Resources[typ]
	return r != nil && r.Properties["name"] != nil && r.Properties["name"].Required
}
