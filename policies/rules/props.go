package rules

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// Every read here tolerates values that are not known yet (a preview sends
// them for outputs of resources not created yet): a read reports known=false
// and the rule gives no verdict on what it cannot see. policyx's AsX would panic.

// get returns the value at key; ok is false when it is absent or null.
func get(m property.Map, key string) (property.Value, bool) {
	v, ok := m.GetOk(key)
	if !ok || v.IsNull() {
		return property.Value{}, false
	}
	return v, true
}

// scalar reads a value of one kind. present=false: absent or null;
// known=false: not known yet. A value of another kind reads as T's zero value.
func scalar[T any](m property.Map, key string, is func(property.Value) bool, as func(property.Value) T) (
	v T, present, known bool) {
	pv, ok := get(m, key)
	switch {
	case !ok:
		return v, false, true
	case pv.IsComputed():
		return v, true, false
	case is(pv):
		return as(pv), true, true
	}
	return v, true, true
}

func str(m property.Map, key string) (string, bool, bool) {
	return scalar(m, key, property.Value.IsString, property.Value.AsString)
}

func num(m property.Map, key string) (float64, bool, bool) {
	return scalar(m, key, property.Value.IsNumber, property.Value.AsNumber)
}

// strList reads a list of strings; known=false if the list or any item is not known yet.
func strList(m property.Map, key string) (out []string, known bool) {
	v, ok := get(m, key)
	if !ok {
		return nil, true
	}
	if v.HasComputed() {
		return nil, false
	}
	if !v.IsArray() {
		return nil, true
	}
	for _, item := range v.AsArray().AsSlice() {
		if item.IsString() {
			out = append(out, item.AsString())
		}
	}
	return out, true
}

// objList reads a list of objects; known=false if the list itself is not known yet.
func objList(m property.Map, key string) (out []property.Map, known bool) {
	v, ok := get(m, key)
	if !ok {
		return nil, true
	}
	if v.IsComputed() {
		return nil, false
	}
	if !v.IsArray() {
		return nil, true
	}
	for _, item := range v.AsArray().AsSlice() {
		if item.IsMap() {
			out = append(out, item.AsMap())
		} else if item.IsComputed() {
			return nil, false
		}
	}
	return out, true
}

// strMap reads a map of strings, such as tags; known=false if any of it is not known yet.
// A JSON-encoded object (how some providers carry object inputs) is decoded.
func strMap(m property.Map, key string) (out map[string]string, known bool) {
	v, ok := get(m, key)
	if !ok {
		return nil, true
	}
	if v.HasComputed() {
		return nil, false
	}
	switch {
	case v.IsMap():
		out = map[string]string{}
		for k, item := range v.AsMap().All {
			if item.IsString() {
				out[k] = item.AsString()
			}
		}
	case v.IsString():
		_ = json.Unmarshal([]byte(v.AsString()), &out)
	}
	return out, true
}

// object reads a nested object; a JSON-encoded object is decoded.
func object(m property.Map, key string) (out property.Map, present, known bool) {
	v, ok := get(m, key)
	if !ok {
		return property.Map{}, false, true
	}
	if v.IsComputed() {
		return property.Map{}, true, false
	}
	switch {
	case v.IsMap():
		return v.AsMap(), true, true
	case v.IsString():
		var raw map[string]any
		if json.Unmarshal([]byte(v.AsString()), &raw) == nil {
			if pv, err := property.Any(toValues(raw)); err == nil && pv.IsMap() {
				return pv.AsMap(), true, true
			}
		}
	}
	return property.Map{}, true, true
}

// toValues converts decoded JSON into property.Value trees.
func toValues(x any) any {
	switch x := x.(type) {
	case map[string]any:
		m := map[string]property.Value{}
		for k, v := range x {
			pv, err := property.Any(toValues(v))
			if err == nil {
				m[k] = pv
			}
		}
		return m
	case []any:
		a := make([]property.Value, 0, len(x))
		for _, v := range x {
			if pv, err := property.Any(toValues(v)); err == nil {
				a = append(a, pv)
			}
		}
		return a
	case nil:
		return property.Null
	}
	return x
}

// refersTo tells whether r's property prop points at target: through the
// property's dependencies (what the engine and the mocks both report), or by
// holding target's id.
func refersTo(r policyx.AnalyzerResource, prop string, target policyx.AnalyzerResource) bool {
	if slices.Contains(r.PropertyDependencies[prop], target.URN) {
		return true
	}
	id, _, known := str(target.Properties, "id")
	if !known || id == "" {
		return false
	}
	if v, _, known := str(r.Properties, prop); known && v == id {
		return true
	}
	if vs, known := strList(r.Properties, prop); known && slices.Contains(vs, id) {
		return true
	}
	return false
}

func ofType(rs []policyx.AnalyzerResource, types ...string) []policyx.AnalyzerResource {
	var out []policyx.AnalyzerResource
	for _, r := range rs {
		if slices.Contains(types, r.Type) {
			out = append(out, r)
		}
	}
	return out
}

// customerKey tells whether m[key] names a customer-managed KMS key: set,
// not empty, and not an AWS-managed key's alias (alias/aws/<service>, by
// name or ARN), which the service owns (issue #20: an empty string or
// alias/aws/secretsmanager counted as a key). known=false: not known yet.
func customerKey(m property.Map, key string) (ok, known bool) {
	v, present, known := str(m, key)
	if !known {
		return false, false
	}
	return present && strings.TrimSpace(v) != "" && !strings.Contains(v, "alias/aws/"), true
}

// nonEmpty tells whether m[key] is a string that is set and not empty
// (a secret's value counts; an empty AUTH token is no token).
func nonEmpty(m property.Map, key string) (ok, known bool) {
	v, present, known := str(m, key)
	return present && v != "", known
}
