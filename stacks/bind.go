package stacks

import (
	"errors"
	"fmt"
	"reflect"
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
	key string // the config key in the section: "engineVersion"
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
		src := cv.Field(keys[b.key])
		dst := av.FieldByName(b.arg)
		if !dst.IsValid() {
			panic(fmt.Sprintf("binding %s: %s has no field %s", b.key, av.Type(), b.arg))
		}
		dst.Set(src.Convert(dst.Type()))
	}
}

// keyOf is the config key of an argument path ("EngineVersion",
// "ReaderScaling.MinReaders"): the bound key of its first element.
func (bs bindings) keyOf(arg string) (string, bool) {
	head, rest, _ := strings.Cut(arg, ".")
	for _, b := range bs {
		if b.arg == head {
			if rest != "" {
				return b.key + "." + lowerFirst(rest), true
			}
			return b.key, true
		}
	}
	return "", false
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// component files err, a component's argument errors, under section's key
// paths. An error that is not a field.List, or an argument no binding
// names, is filed under the section with the argument's name: a wiring
// error of the program, which a stack file cannot cause.
func (es *Errors) component(section string, bs bindings, err error) {
	var list field.List
	if !errors.As(err, &list) {
		if err != nil {
			es.add(section, "%v", err)
		}
		return
	}
	for _, e := range list {
		if key, ok := bs.keyOf(e.Field); ok {
			es.add(section+"."+key, "%s", e.Detail())
		} else {
			es.add(section, "%v", e)
		}
	}
}
