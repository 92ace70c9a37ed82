package stacks

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/eduai/infra/components/field"
)

// binding ties a component argument to the config key it is built from
// (issue #21: validate once). One table per section both builds the
// arguments (bind) and files the component's errors under the key paths
// (Errors.component), so the component's rule, written once, reports the
// key a stack file sets.
type binding struct {
	arg string // the Args field: "EngineVersion"
	key string // the config key in the section: "engineVersion"; "" for an entry's own key (its name)
	// elem binds the fields of the entries of a list or map argument
	// (a node group's), for their errors; the caller builds the entries.
	elem bindings
	// manual: the caller builds the argument (its type differs), the
	// binding names its key for errors.
	manual bool
}

type bindings []binding

// bind copies each bound config field of cfg (a pointer to a config struct,
// the field found by its json key) into args (a pointer to the Args
// struct). Types convert as Go converts them: a config enum type is the
// component's, a config struct has the Args struct's fields (tags aside).
func (bs bindings) bind(args, cfg any) {
	av, cv := reflect.ValueOf(args).Elem(), reflect.ValueOf(cfg).Elem()
	keys := structFields(cv.Type())
	for _, b := range bs {
		if b.manual || b.key == "" {
			continue // built by the caller
		}
		src := cv.Field(keys[b.key])
		dst := av.FieldByName(b.arg)
		if !dst.IsValid() {
			panic(fmt.Sprintf("binding %s: %s has no field %s", b.key, av.Type(), b.arg))
		}
		if b.elem != nil {
			if dst.Kind() == reflect.Struct {
				b.elem.bind(dst.Addr().Interface(), src.Addr().Interface()) // a nested object
			}
			continue // a list or map: built by the caller, entry by entry
		}
		dst.Set(convert(src, dst.Type()))
	}
}

// convert is src as a value of type t: Go's conversion, and element by
// element for a slice (a []TaintConfig is a []cluster.Taint).
func convert(src reflect.Value, t reflect.Type) reflect.Value {
	if src.Kind() == reflect.Slice && t.Kind() == reflect.Slice && !src.Type().ConvertibleTo(t) {
		if src.IsNil() {
			return reflect.Zero(t)
		}
		out := reflect.MakeSlice(t, src.Len(), src.Len())
		for i := 0; i < src.Len(); i++ {
			out.Index(i).Set(convert(src.Index(i), t.Elem()))
		}
		return out
	}
	return src.Convert(t)
}

// keyOf is the config key path of an argument path: "EngineVersion" →
// "engineVersion", "NodeGroups[gpu].Taints[0].Effect" →
// "nodeGroups.gpu.taints[0].effect". Each element goes through its
// binding; below an element without bindings, names lose their capital.
func (bs bindings) keyOf(arg string) (string, bool) {
	head, rest, _ := strings.Cut(arg, ".")
	name, index, _ := strings.Cut(strings.TrimSuffix(head, "]"), "[")
	var b *binding
	for i := range bs {
		if bs[i].arg == name {
			b = &bs[i]
		}
	}
	if b == nil {
		return "", false
	}
	key := b.key
	if index != "" {
		if _, err := strconv.Atoi(index); err == nil {
			key += "[" + index + "]"
		} else {
			key = joinKey(key, index)
		}
	}
	if rest == "" {
		return key, true
	}
	if b.elem != nil {
		sub, ok := b.elem.keyOf(rest)
		return joinKey(key, sub), ok
	}
	var parts []string
	for _, p := range strings.Split(rest, ".") {
		parts = append(parts, lowerFirst(p))
	}
	return joinKey(key, strings.Join(parts, ".")), true
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func joinKey(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "." + b
}

// component files err, a component's argument errors, under section's key
// paths. An error that is not a field.List, or an argument no binding
// names, is filed under the section with the argument's name: a wiring
// error of the program, which a stack file cannot cause.
//
// advice, when given, adds to an error's message what the config knows and
// the component does not (how to set a secret at that key).
func (es *Errors) component(section string, bs bindings, err error, advice ...func(key string, e *field.Error) string) {
	var list field.List
	if !errors.As(err, &list) {
		if err != nil {
			es.add(section, "%v", err)
		}
		return
	}
	for _, e := range list {
		if key, ok := bs.keyOf(e.Field); ok {
			msg := e.Detail()
			for _, a := range advice {
				msg += a(joinKey(section, key), e)
			}
			es.add(joinKey(section, key), "%s", msg)
		} else {
			es.add(section, "%v", e)
		}
	}
}
