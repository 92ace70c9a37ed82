package refs

import (
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Value is a known string found at a concrete input path.
type Value struct {
	Path  string
	Value string
	// Holder is the object the value sits in (for sibling flags like optional).
	Holder resource.PropertyMap
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

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func itoa(i int) string { return strconv.Itoa(i) }

// Values returns the known strings at path in v: `a.b` (a list on the way
// is walked element by element, so a one-item block may be an object or a
// list), `a[*].b` for the elements of a list.
func Values(v resource.PropertyValue, path string) []Value {
	var out []Value
	var walk func(v resource.PropertyValue, holder resource.PropertyMap, segs []string, at string)
	walk = func(v resource.PropertyValue, holder resource.PropertyMap, segs []string, at string) {
		v = unwrap(v)
		if len(segs) == 0 {
			if v.IsString() {
				out = append(out, Value{Path: at, Value: v.StringValue(), Holder: holder})
			}
			return
		}
		if v.IsArray() {
			for i, e := range v.ArrayValue() {
				walk(e, holder, segs, at+"["+itoa(i)+"]")
			}
			return
		}
		if !v.IsObject() {
			return
		}
		name := strings.TrimSuffix(segs[0], "[*]")
		if child, ok := v.ObjectValue()[resource.PropertyKey(name)]; ok {
			walk(child, v.ObjectValue(), segs[1:], join(at, name))
		}
	}
	walk(v, nil, strings.Split(path, "."), "")
	return out
}

// Identities returns the values by which a resource of type typ, with its
// id and state (inputs and outputs), is addressed under identity by.
func Identities(typ, by, id string, state resource.PropertyMap) []string {
	root := resource.NewObjectProperty(state)
	var paths []string
	switch {
	case by == "id":
		if id == "" {
			return nil
		}
		return []string{id}
	case by == "namespace" && typ == Namespace:
		paths = []string{"metadata.name"}
	case by == "namespace" && typ == HelmRelease:
		// A release that creates its namespace stands for it.
		if b := unwrap(state["createNamespace"]); !b.IsBool() || !b.BoolValue() {
			return nil
		}
		paths = []string{"namespace"}
	case by == "namespace":
		return nil
	default:
		paths = []string{by}
	}
	var out []string
	for _, p := range paths {
		for _, v := range Values(root, p) {
			out = append(out, v.Value)
		}
	}
	return out
}

// NamespaceOf returns the metadata.namespace of a Kubernetes object's state ("" for none).
func NamespaceOf(state resource.PropertyMap) string {
	if v := Values(resource.NewObjectProperty(state), "metadata.namespace"); len(v) == 1 {
		return v[0].Value
	}
	return ""
}

// Addresses tells whether a resource of type typ, with id and state, is what
// the reference names: a type the rule allows, the referrer's namespace for
// a namespaced referent, and the identity. Where it must also be (region,
// account, cluster) the caller judges, by its own model of scope.
func (r Ref) Addresses(typ, id string, state resource.PropertyMap) bool {
	if len(r.Rule.To) > 0 && !slices.Contains(r.Rule.To, typ) {
		return false
	}
	if r.Namespace != "" && NamespaceOf(state) != r.Namespace {
		return false
	}
	return slices.Contains(Identities(typ, r.Rule.By, id, state), r.Value)
}
