// Package field is the shape of a component's argument errors (issue #21:
// validate once). A component checks its arguments' values once and says
// which field is wrong, why, with what value and of what kind; stacks/ maps
// the field to the config key it was built from (the same table that builds
// the arguments) and reports the key path, so a rule is written in one
// place and its message reads the same in a component test and in a stack
// file's error.
package field

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error.
type Kind string

const (
	// Required: a value must be given.
	Required Kind = "required"
	// Range: a number or a count outside its bounds.
	Range Kind = "range"
	// Format: a string that is not of its form (a version, a window, a name).
	Format Kind = "format"
	// Enum: a value outside an enumeration.
	Enum Kind = "enum"
	// Conflict: values that cannot go together.
	Conflict Kind = "conflict"
)

// Error is one field's problem.
type Error struct {
	// Field is the argument's path: "EngineVersion", "NodeGroups[gpu].DiskSizeGiB".
	Field string
	// Msg says what is wrong, without the value: "must be 1..35".
	Msg string
	// Value is the bad value; nil when there is none to show.
	Value any
	Kind  Kind
}

func (e *Error) Error() string { return e.Field + ": " + e.Detail() }

// Detail is the message with the value: `must be 1..35 (got 60)`.
func (e *Error) Detail() string {
	if e.Value == nil {
		return e.Msg
	}
	if s, ok := e.Value.(string); ok {
		return fmt.Sprintf("%s (got %q)", e.Msg, s)
	}
	return fmt.Sprintf("%s (got %v)", e.Msg, e.Value)
}

// List collects errors; its Err is nil when empty.
type List []*Error

// Add records an error.
func (l *List) Add(kind Kind, name string, value any, format string, args ...any) {
	*l = append(*l, &Error{Field: name, Msg: fmt.Sprintf(format, args...), Value: value, Kind: kind})
}

// Append adds the errors of err: a List's as they are, any other as an
// error of the field name.
func (l *List) Append(name string, err error) {
	var fl List
	switch {
	case err == nil:
	case errors.As(err, &fl):
		for _, e := range fl {
			c := *e
			if name != "" {
				c.Field = name + "." + e.Field
			}
			*l = append(*l, &c)
		}
	default:
		*l = append(*l, &Error{Field: name, Msg: err.Error(), Kind: Conflict})
	}
}

// Err is the list as an error, or nil.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

func (l List) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
