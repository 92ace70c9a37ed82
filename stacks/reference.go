package stacks

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/eduai/infra/components/addons"
	"github.com/eduai/infra/components/mesh"
	"github.com/eduai/infra/components/network"
	"github.com/eduai/infra/components/observability"
	"github.com/eduai/infra/components/queue"
	"github.com/eduai/infra/components/service"
)

// The config reference (issue #21) is generated from the config structs:
// their json tags give the keys, their Go types the value types (and the
// JSON Schema the strict decoder enforces: unknown keys, wrong types), the
// enum value lists the allowed values, Defaults the default of each
// environment, and each field's doc comment the meaning. A comment line
// "Type: …" replaces the derived type text (ranges, formats); a line
// "Default: …" documents a default that is derived from other keys after
// decoding (resolve) and so is not in Defaults. README.md's table, the
// descriptions of Pulumi.yaml's config entries and stacks/schema/
// eduai.schema.json come from here; TestConfigReference fails when one of
// them is stale (go test ./stacks -run TestConfigReference -update).

// enumValues are the allowed values of the config's enumeration types.
var enumValues = map[reflect.Type][]string{
	reflect.TypeFor[Environment]():                enumStrings(Environments),
	reflect.TypeFor[RegionRole]():                 enumStrings(RegionRoles),
	reflect.TypeFor[service.Strategy]():           enumStrings(service.Strategies),
	reflect.TypeFor[service.Color]():              enumStrings(service.Colors),
	reflect.TypeFor[mesh.MTLSMode]():              enumStrings(mesh.MTLSModes),
	reflect.TypeFor[observability.Mode]():         enumStrings(observability.Modes),
	reflect.TypeFor[observability.ReceiverType](): enumStrings(observability.ReceiverTypes),
	reflect.TypeFor[queue.Engine]():               enumStrings(queue.Engines),
	reflect.TypeFor[addons.IssuerKind]():          enumStrings(addons.IssuerKinds),
	reflect.TypeFor[network.NATStrategy]():        enumStrings(network.NATStrategies),
	reflect.TypeFor[network.TrafficType]():        enumStrings(network.TrafficTypes),
}

func enumStrings[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// FieldDoc is what a config field's doc comment says.
type FieldDoc struct {
	// Meaning is the comment without its Type: and Default: lines.
	Meaning string
	// Type and Default are those lines' text, when present.
	Type, Default string
}

// LoadFieldDocs reads the doc comments of the struct fields declared in the
// Go files of dir (the stacks package's source), keyed "Type.Field".
func LoadFieldDocs(dir string) (map[string]FieldDoc, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	docs := map[string]FieldDoc{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		ast.Inspect(file, func(n ast.Node) bool {
			spec, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := spec.Type.(*ast.StructType)
			if !ok {
				return false
			}
			for _, field := range st.Fields.List {
				for _, name := range field.Names {
					docs[spec.Name.Name+"."+name.Name] = parseFieldDoc(field.Doc.Text())
				}
			}
			return false
		})
	}
	return docs, nil
}

func parseFieldDoc(text string) FieldDoc {
	var d FieldDoc
	var meaning []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "Type: "):
			d.Type = strings.TrimPrefix(line, "Type: ")
		case strings.HasPrefix(line, "Default: "):
			d.Default = strings.TrimPrefix(line, "Default: ")
		case line != "":
			meaning = append(meaning, line)
		}
	}
	d.Meaning = strings.Join(meaning, " ")
	return d
}

// RefRow is one row of the config reference.
type RefRow struct {
	// Key is the full key path: eduai:network.flowLogs.enabled, eduai:services.<name>.port.
	Key string
	// Type, Default and Meaning are the table's columns (Markdown).
	Type, Default, Meaning string
	// Field is the Go field that declares it: "NetworkConfig.CIDR".
	Field string
}

// Reference is the config reference: the rows of the README's table and
// the JSON Schema of a stack file. Problems (an undocumented field, a
// default documented twice) are returned as errors so that the test fails.
type Reference struct {
	Rows []RefRow
	// Sections are the top-level keys with the meaning of their struct.
	Sections []RefRow
	Schema   map[string]any
}

// the environments' defaults, for the default column.
type envDefaults struct {
	envs []Environment
	vals []reflect.Value
}

func (e envDefaults) field(i int) envDefaults {
	out := envDefaults{envs: e.envs}
	for _, v := range e.vals {
		out.vals = append(out.vals, v.Field(i))
	}
	return out
}

// BuildReference walks the config structs with their docs.
func BuildReference(docs map[string]FieldDoc) (*Reference, error) {
	ref := &Reference{}
	var problems []string
	b := &refBuilder{docs: docs, problems: &problems}
	var defs envDefaults
	for _, env := range Environments {
		defs.envs = append(defs.envs, env)
		defs.vals = append(defs.vals, reflect.ValueOf(Defaults(string(env), env)).Elem())
	}
	props := map[string]any{}
	ct := reflect.TypeFor[Config]()
	keys := map[string]string{"Region": "aws:region", "Environment": Project + ":environment", "Tags": Project + ":tags"}
	probe := &Config{}
	for _, sec := range probe.sections() {
		for i := 0; i < ct.NumField(); i++ {
			if f := reflect.ValueOf(probe).Elem().Field(i); f.CanAddr() && ct.Field(i).IsExported() &&
				f.Addr().Interface() == sec.dst {
				keys[ct.Field(i).Name] = Project + ":" + sec.key
			}
		}
	}
	for i := 0; i < ct.NumField(); i++ {
		f := ct.Field(i)
		key, ok := keys[f.Name]
		if !ok {
			continue
		}
		doc := docs["Config."+f.Name]
		if doc.Meaning == "" {
			problems = append(problems, "Config."+f.Name+" has no doc comment")
		}
		ref.Sections = append(ref.Sections, RefRow{Key: key, Meaning: doc.Meaning})
		sch := b.walk(key, f.Type, "Config."+f.Name, defs.field(i))
		if f.Name == "Stack" {
			continue
		}
		props[key] = sch
	}
	sortRows := func(rows []RefRow) {
		slices.SortStableFunc(rows, func(a, b RefRow) int { return strings.Compare(sectionOrder(a.Key), sectionOrder(b.Key)) })
	}
	ref.Rows = b.rows
	sortRows(ref.Rows)
	sortRows(ref.Sections)
	ref.Schema = map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         "https://gitlab.com/eduai/infra/stacks/schema/eduai.schema.json",
		"title":       "Pulumi.<stack>.yaml of the eduai project",
		"description": "Generated from stacks/config.go (go test ./stacks -run TestConfigReference -update). See README.md \"Config reference\".",
		"type":        "object",
		"properties": map[string]any{
			"config": map[string]any{
				"type":       "object",
				"properties": props,
				// Other providers' and the engine's keys are theirs to check;
				// any other key (eduai:netwrk, eduia:network) is an error.
				"patternProperties":    map[string]any{`^(aws|pulumi|kubernetes|random|eks|tls|command):`: true},
				"additionalProperties": false,
			},
			"secretsprovider": map[string]any{"type": "string"},
			"encryptedkey":    map[string]any{"type": "string"},
			"encryptionsalt":  map[string]any{"type": "string"},
			"environment":     map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		},
		"$defs": map[string]any{
			"secure": map[string]any{"type": "object", "description": "a secret set with pulumi config set --secret",
				"properties": map[string]any{"secure": map[string]any{"type": "string"}}, "required": []string{"secure"},
				"additionalProperties": false},
		},
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return ref, fmt.Errorf("config reference:\n  %s", strings.Join(slices.Compact(problems), "\n  "))
	}
	return ref, nil
}

// sectionOrder sorts rows by their top-level key in the README's order
// (region, environment, tags, then the sections), keeping walk order within.
func sectionOrder(key string) string {
	top, _, _ := strings.Cut(key, ".")
	order := append([]string{"aws:region", Project + ":environment", Project + ":tags"}, sectionKeys()...)
	return fmt.Sprintf("%03d", slices.Index(order, top))
}

func sectionKeys() []string {
	var out []string
	for _, s := range (&Config{}).sections() {
		out = append(out, Project+":"+s.key)
	}
	return out
}

type refBuilder struct {
	docs     map[string]FieldDoc
	rows     []RefRow
	problems *[]string
}

func (b *refBuilder) problem(format string, args ...any) {
	*b.problems = append(*b.problems, fmt.Sprintf(format, args...))
}

// walk adds the rows of the value at key (of type t, documented by docKey)
// and returns its schema. A row comes before the rows of its fields.
func (b *refBuilder) walk(key string, t reflect.Type, docKey string, defs envDefaults) map[string]any {
	doc := b.docs[docKey]
	nullable := t.Kind() == reflect.Pointer
	if nullable {
		t = t.Elem()
		defs = defs.elem()
	}
	leaf := t.Kind() != reflect.Struct && !(t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Struct)
	def := defs.render(t)
	if doc.Default != "" {
		// A Default: line documents a default resolve derives from other keys,
		// so Defaults must leave the field unset. The environment is the
		// exception: Defaults takes it as its argument (the stack name).
		if !defs.zero() && docKey != "Config.Environment" {
			b.problem("%s: default %s is in Defaults and in a Default: line (%q); keep one", key, def, doc.Default)
		}
		def = doc.Default
	}
	if defs.zero() && doc.Default == "" && strings.Contains(doc.Meaning, "Required.") {
		def = "— (required)"
	}
	if leaf || nullable || t.Kind() == reflect.Map {
		if doc.Meaning == "" {
			b.problem("%s (%s) has no doc comment", key, docKey)
		}
		typ := doc.Type
		if typ == "" {
			typ = typeText(t)
		}
		b.rows = append(b.rows, RefRow{Key: key, Type: typ, Default: def, Meaning: doc.Meaning, Field: docKey})
	}
	sch := b.schema(key, t, defs)
	if doc.Meaning != "" {
		sch["description"] = plain(doc.Meaning)
	}
	if v, ok := defs.same(); ok && leaf && doc.Default == "" && !v.IsZero() {
		sch["default"] = v.Interface()
	}
	if nullable {
		if ty, ok := sch["type"].(string); ok {
			sch["type"] = []string{ty, "null"}
		}
	}
	return sch
}

func (b *refBuilder) schema(key string, t reflect.Type, defs envDefaults) map[string]any {
	switch t.Kind() {
	case reflect.Struct:
		props := map[string]any{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if tag, ok := jsonKey(f); ok {
				props[tag] = b.walk(key+"."+tag, f.Type, t.Name()+"."+f.Name, defs.field(i))
			}
		}
		return map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	case reflect.Map:
		elemKey := key + ".<name>"
		var elemDefs envDefaults
		if d, ok := elementDefaults[t.Elem()]; ok {
			for range defs.envs {
				elemDefs.vals = append(elemDefs.vals, reflect.ValueOf(d))
			}
			elemDefs.envs = defs.envs
		}
		var elem map[string]any
		if t.Elem().Kind() == reflect.Struct {
			elem = b.schema(elemKey, t.Elem(), elemDefs)
		} else {
			elem = scalarSchema(t.Elem())
		}
		return map[string]any{"type": "object", "additionalProperties": elem}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return map[string]any{"type": "array", "items": b.schema(key+"[]", t.Elem(), envDefaults{})}
		}
		return map[string]any{"type": "array", "items": scalarSchema(t.Elem())}
	}
	return scalarSchema(t)
}

func scalarSchema(t reflect.Type) map[string]any {
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int:
		return map[string]any{"type": "integer"}
	case reflect.String:
		if values, ok := enumValues[t]; ok {
			return map[string]any{"type": "string", "enum": values}
		}
		// Any string may be a secret (pulumi config set --secret).
		return map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"$ref": "#/$defs/secure"}}}
	}
	panic(fmt.Sprintf("config reference: unsupported kind %s", t.Kind()))
}

func plural(s string) string {
	if s == "string" || s == "integer" {
		return s + "s"
	}
	return s
}

// typeText is the type column of a value of type t.
func typeText(t reflect.Type) string {
	if values, ok := enumValues[t]; ok {
		quoted := make([]string, len(values))
		for i, v := range values {
			quoted[i] = "`" + v + "`"
		}
		return strings.Join(quoted, " \\| ")
	}
	switch t.Kind() {
	case reflect.Bool:
		return "bool"
	case reflect.Int:
		return "integer"
	case reflect.String:
		return "string"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Struct {
			return "list of objects"
		}
		return "list of " + plural(typeText(t.Elem()))
	case reflect.Map:
		if t.Elem().Kind() == reflect.Struct {
			return "object per name"
		}
		return "map of " + plural(typeText(t.Elem()))
	case reflect.Struct:
		return "object"
	}
	return t.Kind().String()
}

func (e envDefaults) elem() envDefaults {
	out := envDefaults{envs: e.envs}
	for _, v := range e.vals {
		if v.IsNil() {
			return envDefaults{}
		}
		out.vals = append(out.vals, v.Elem())
	}
	return out
}

// zero tells whether no environment has a default.
func (e envDefaults) zero() bool {
	for _, v := range e.vals {
		if !v.IsZero() {
			return false
		}
	}
	return true
}

// same is the default when every environment has the same one.
func (e envDefaults) same() (reflect.Value, bool) {
	if len(e.vals) == 0 {
		return reflect.Value{}, false
	}
	for _, v := range e.vals[1:] {
		if !reflect.DeepEqual(v.Interface(), e.vals[0].Interface()) {
			return reflect.Value{}, false
		}
	}
	return e.vals[0], true
}

// render is the default column: one value, or one per environment.
func (e envDefaults) render(t reflect.Type) string {
	if len(e.vals) == 0 {
		return "—"
	}
	if v, ok := e.same(); ok {
		return renderValue(v)
	}
	if t.Kind() == reflect.Map && t.Elem().Kind() == reflect.String {
		return e.renderMap()
	}
	var parts []string
	for i, v := range e.vals {
		parts = append(parts, string(e.envs[i])+" "+renderValue(v))
	}
	return strings.Join(parts, ", ")
}

// renderMap renders a map of strings whose entries differ by environment:
// the common entries once, an entry that is the environment's name as such,
// any other per environment.
func (e envDefaults) renderMap() string {
	keys := map[string]bool{}
	for _, v := range e.vals {
		for _, k := range v.MapKeys() {
			keys[k.String()] = true
		}
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		var vals []string
		byEnv := true
		for i, v := range e.vals {
			val := v.MapIndex(reflect.ValueOf(k))
			s := ""
			if val.IsValid() {
				s = val.String()
			}
			vals = append(vals, s)
			byEnv = byEnv && s == string(e.envs[i])
		}
		switch {
		case byEnv:
			parts = append(parts, k+" = the environment")
		case !slices.ContainsFunc(vals, func(s string) bool { return s != vals[0] }):
			parts = append(parts, k+" `"+vals[0]+"`")
		default:
			var per []string
			for i, s := range vals {
				per = append(per, string(e.envs[i])+" `"+s+"`")
			}
			parts = append(parts, k+" ("+strings.Join(per, ", ")+")")
		}
	}
	return strings.Join(parts, ", ")
}

// renderValue is a default in Markdown: "—" for none.
func renderValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "—"
		}
		return renderValue(v.Elem())
	case reflect.String:
		if v.String() == "" {
			return "—"
		}
		return "`" + v.String() + "`"
	case reflect.Bool, reflect.Int:
		return fmt.Sprintf("`%v`", v.Interface())
	case reflect.Slice:
		if v.IsNil() {
			return "—"
		}
		items := make([]string, v.Len())
		for i := range items {
			items[i] = fmt.Sprint(v.Index(i).Interface())
		}
		return "`[" + strings.Join(items, ", ") + "]`"
	case reflect.Map:
		if v.IsNil() {
			return "—"
		}
		var keys []string
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		if len(keys) == 0 {
			return "`{}`"
		}
		if v.Type().Elem().Kind() != reflect.String {
			return "`" + strings.Join(keys, "`, `") + "`"
		}
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + " `" + v.MapIndex(reflect.ValueOf(k)).String() + "`"
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v.Interface())
}

// plain drops Markdown code marks for a JSON Schema description.
func plain(s string) string { return strings.ReplaceAll(s, "`", "") }

// Markdown is the README's config table.
func (r *Reference) Markdown() string {
	var sb strings.Builder
	sb.WriteString("| key | type | default | meaning |\n|---|---|---|---|\n")
	for _, row := range r.Rows {
		fmt.Fprintf(&sb, "| `%s` | %s | %s | %s |\n", row.Key, row.Type, row.Default, cell(row.Meaning))
	}
	return sb.String()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// SchemaJSON is stacks/schema/eduai.schema.json.
func (r *Reference) SchemaJSON() ([]byte, error) {
	out, err := json.MarshalIndent(r.Schema, "", "  ")
	return append(out, '\n'), err
}

// PulumiYAMLConfig is the generated tail of Pulumi.yaml: one entry per
// eduai key, its description the section's meaning and its keys.
func (r *Reference) PulumiYAMLConfig() string {
	var sb strings.Builder
	sb.WriteString(PulumiYAMLMarker + "\n")
	for _, sec := range r.Sections {
		ns, key, _ := strings.Cut(sec.Key, ":")
		if ns != Project {
			continue
		}
		var fields, entry []string
		for _, row := range r.Rows {
			if rest, ok := strings.CutPrefix(row.Key, sec.Key+"."); ok {
				field, rest, _ := strings.Cut(rest, ".")
				list := &fields
				if field == "<name>" {
					field, _, _ = strings.Cut(rest, ".")
					list = &entry
				}
				if !slices.Contains(*list, field) {
					*list = append(*list, field)
				}
			}
		}
		desc := plain(sec.Meaning)
		if len(fields) > 0 {
			desc += " Keys: " + strings.Join(fields, ", ") + "."
		}
		if len(entry) > 0 {
			desc += " Keys of each entry: " + strings.Join(entry, ", ") + "."
		}
		desc += ` See README.md "Config reference".`
		typ, def := "object", "{}"
		if key == "environment" {
			typ, def = "string", `""`
		}
		fmt.Fprintf(&sb, "  %s:\n    type: %s\n    description: >-\n%s    default: %s\n", key, typ, wrap(desc, 6, 84), def)
	}
	return sb.String()
}

// PulumiYAMLMarker starts the generated part of Pulumi.yaml.
const PulumiYAMLMarker = "  # Generated from stacks/config.go down to the end of the file: go test ./stacks -run TestConfigReference -update"

// wrap folds text at width, each line indented.
func wrap(text string, indent, width int) string {
	var sb strings.Builder
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && indent+len(line)+1+len(w) > width {
			sb.WriteString(strings.Repeat(" ", indent) + line + "\n")
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		sb.WriteString(strings.Repeat(" ", indent) + line + "\n")
	}
	return sb.String()
}

// ReadmeMarkers delimit the generated table in README.md.
const (
	ReadmeBegin = "<!-- config-reference: generated from stacks/config.go by go test ./stacks -run TestConfigReference -update -->"
	ReadmeEnd   = "<!-- config-reference: end -->"
)

// ReplaceBetween returns text with what lies between begin and end (both
// kept, each on its own line) replaced by body.
func ReplaceBetween(text, begin, end, body string) (string, error) {
	i := strings.Index(text, begin+"\n")
	j := strings.Index(text, "\n"+end)
	if i < 0 || j < i {
		return "", fmt.Errorf("markers %q … %q not found", begin, end)
	}
	return text[:i+len(begin)+1] + body + text[j+1:], nil
}

// WriteIfChanged is a helper for -update.
func WriteIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(data) {
		return nil
	}
	return os.WriteFile(path, data, 0o644)
}
