// Package enum gives the components' string enumerations one shape: a named
// string type, its constants, and the list of its values, which the config
// structs use as field types and the validation reads for its messages, so
// an allowed value is written once (issue #21).
package enum

import (
	"slices"
	"strings"
)

// Valid tells whether v is one of values.
func Valid[T ~string](v T, values []T) bool { return slices.Contains(values, v) }

// Describe lists values as the config errors say them: "a, b, c".
func Describe[T ~string](values []T) string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return strings.Join(out, ", ")
}
