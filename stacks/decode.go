package stacks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
)

// FieldError is one problem with the stack config, tied to its key path.
type FieldError struct {
	Path string // e.g. "network.azCount"
	Msg  string // e.g. "must be 2..6 (got 9)"
	// Unknown: the key itself is not one the program reads (not its value).
	Unknown bool
}

func (e FieldError) Error() string { return e.Path + ": " + e.Msg }

// Errors is every problem found in one pass; a run fails with all of them at once.
type Errors []FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return "invalid stack config:\n  " + strings.Join(lines, "\n  ")
}

func (es *Errors) add(path, format string, args ...any) {
	*es = append(*es, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// unknown records a key that is not one of known's.
func (es *Errors) unknown(path string, known map[string]int) {
	*es = append(*es, FieldError{Path: path, Unknown: true,
		Msg: "unknown key (known: " + strings.Join(slices.Sorted(maps.Keys(known)), ", ") + ")"})
}

// orNil returns es as an error, or nil when it is empty.
func (es Errors) orNil() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// decodeStrict decodes the JSON text of one config key into dst, a pointer to
// a struct already holding the defaults. Keys present in the text overwrite
// the defaults; unknown keys and wrongly typed values are reported with their
// full key path, all of them, instead of stopping at the first.
func decodeStrict(path, text string, dst any, errs *Errors) {
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		// A plain string (not JSON) is what the engine passes for scalar config.
		errs.add(path, "must be an object (got %s)", quote(text))
		return
	}
	decodeValue(path, raw, reflect.ValueOf(dst).Elem(), errs)
}

func decodeValue(path string, raw any, v reflect.Value, errs *Errors) {
	switch v.Kind() {
	case reflect.Pointer:
		if raw == nil {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		if v.IsNil() {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(newElement(v.Type().Elem()))
			v.Set(p)
		}
		decodeValue(path, raw, v.Elem(), errs)
	case reflect.Struct:
		obj, ok := raw.(map[string]any)
		if !ok {
			errs.add(path, "must be an object (got %s)", describe(raw))
			return
		}
		fields := structFields(v.Type())
		for _, key := range slices.Sorted(maps.Keys(obj)) {
			idx, ok := fields[key]
			if !ok {
				errs.unknown(join(path, key), fields)
				continue
			}
			decodeValue(join(path, key), obj[key], v.Field(idx), errs)
		}
	case reflect.Map:
		obj, ok := raw.(map[string]any)
		if !ok {
			errs.add(path, "must be an object (got %s)", describe(raw))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(obj))
		for _, key := range slices.Sorted(maps.Keys(obj)) {
			ev := newElement(v.Type().Elem())
			decodeValue(join(path, key), obj[key], ev, errs)
			m.SetMapIndex(reflect.ValueOf(key), ev)
		}
		v.Set(m)
	case reflect.Slice:
		arr, ok := raw.([]any)
		if !ok {
			errs.add(path, "must be a list (got %s)", describe(raw))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(arr), len(arr))
		for i, item := range arr {
			decodeValue(fmt.Sprintf("%s[%d]", path, i), item, s.Index(i), errs)
		}
		v.Set(s)
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			errs.add(path, "must be a string (got %s)", describe(raw))
			return
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := raw.(bool)
		if !ok {
			errs.add(path, "must be true or false (got %s)", describe(raw))
			return
		}
		v.SetBool(b)
	case reflect.Int:
		n, ok := raw.(json.Number)
		i, err := n.Int64()
		if !ok || err != nil || i > math.MaxInt32 || i < math.MinInt32 {
			errs.add(path, "must be an integer (got %s)", describe(raw))
			return
		}
		v.SetInt(i)
	default:
		panic(fmt.Sprintf("decodeStrict: unsupported field kind %s at %s", v.Kind(), path))
	}
}

// structFields maps each JSON key of t to its field index. Every exported
// field must carry a json tag: the tag is the documented key name.
func structFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := 0; i < t.NumField(); i++ {
		if key, ok := jsonKey(t.Field(i)); ok {
			out[key] = i
		}
	}
	return out
}

// jsonKey is a config field's key: its json tag, for exported fields that have one.
func jsonKey(f reflect.StructField) (string, bool) {
	tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return tag, f.IsExported() && tag != "" && tag != "-"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe renders a decoded JSON value for an error message.
func describe(raw any) string {
	switch x := raw.(type) {
	case nil:
		return "null"
	case string:
		return quote(x)
	case json.Number:
		return x.String()
	case bool:
		return fmt.Sprint(x)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%v", raw)
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
