package rules

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/urn"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// A recorded plan is the list of resources the pack judged, as JSON, so the
// pack's tests (the mutation suite) can run on what the real program
// produces without importing it: cmd/preview --record-plan writes one, and
// internal/preview's TestRecordedPlanIsCurrent fails when it is stale.
//
// Property values are plain JSON, except three wrappers the JSON of a
// property map cannot otherwise say: {"$secret": v} (a secret value),
// {"$unknown": true} (a value the engine does not know yet) and
// {"$ref": {"urn": …, "id": …}} (a resource reference). A map whose own key
// starts with "$", an asset or an archive is refused rather than misread
// (the program passes none to the pack).

// PlanResource is one resource of a recorded plan.
type PlanResource struct {
	Type                 string              `json:"type"`
	URN                  string              `json:"urn"`
	Name                 string              `json:"name"`
	Parent               string              `json:"parent,omitempty"`
	Protect              bool                `json:"protect,omitempty"`
	Dependencies         []string            `json:"dependencies,omitempty"`
	PropertyDependencies map[string][]string `json:"propertyDependencies,omitempty"`
	Provider             *PlanProvider       `json:"provider,omitempty"`
	Properties           json.RawMessage     `json:"properties"`
}

// PlanProvider is the provider a recorded resource is managed by.
type PlanProvider struct {
	Type       string          `json:"type"`
	URN        string          `json:"urn"`
	Name       string          `json:"name"`
	Properties json.RawMessage `json:"properties"`
}

// WritePlan writes resources as a recorded plan, one resource per line in
// URN order, so a change of the program is a readable diff.
func WritePlan(w io.Writer, resources []policyx.AnalyzerResource) error {
	sorted := append([]policyx.AnalyzerResource(nil), resources...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].URN < sorted[j].URN })
	if _, err := io.WriteString(w, "[\n"); err != nil {
		return err
	}
	for i, r := range sorted {
		pr, err := planResource(r)
		if err != nil {
			return fmt.Errorf("%s: %w", r.URN, err)
		}
		line, err := json.Marshal(pr)
		if err != nil {
			return fmt.Errorf("%s: %w", r.URN, err)
		}
		sep := ",\n"
		if i == len(sorted)-1 {
			sep = "\n"
		}
		if _, err := w.Write(append(line, sep...)); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]\n")
	return err
}

func planResource(r policyx.AnalyzerResource) (PlanResource, error) {
	props, err := encodeMap(r.Properties)
	if err != nil {
		return PlanResource{}, err
	}
	pr := PlanResource{Type: r.Type, URN: r.URN, Name: r.Name, Parent: r.Parent, Protect: r.Options.Protect,
		Dependencies: r.Dependencies, PropertyDependencies: r.PropertyDependencies, Properties: props}
	if r.Provider.URN != "" {
		pp, err := encodeMap(r.Provider.Properties)
		if err != nil {
			return PlanResource{}, fmt.Errorf("provider: %w", err)
		}
		pr.Provider = &PlanProvider{Type: r.Provider.Type, URN: r.Provider.URN, Name: r.Provider.Name, Properties: pp}
	}
	return pr, nil
}

// ReadPlan reads a recorded plan.
func ReadPlan(data []byte) ([]policyx.AnalyzerResource, error) {
	var list []PlanResource
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("recorded plan: %w", err)
	}
	out := make([]policyx.AnalyzerResource, 0, len(list))
	for _, pr := range list {
		r, err := pr.Analyzer()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Analyzer turns a recorded resource back into what the pack judges.
func (pr PlanResource) Analyzer() (policyx.AnalyzerResource, error) {
	props, err := decodeMap(pr.Properties)
	if err != nil {
		return policyx.AnalyzerResource{}, fmt.Errorf("%s: %w", pr.URN, err)
	}
	r := policyx.AnalyzerResource{Type: pr.Type, URN: pr.URN, Name: pr.Name, Parent: pr.Parent,
		Dependencies: pr.Dependencies, PropertyDependencies: pr.PropertyDependencies, Properties: props,
		Options: pulumi.ResourceOptions{Protect: pr.Protect}}
	if pr.Provider != nil {
		pp, err := decodeMap(pr.Provider.Properties)
		if err != nil {
			return policyx.AnalyzerResource{}, fmt.Errorf("%s: provider: %w", pr.URN, err)
		}
		r.Provider = policyx.AnalyzerProviderResource{Type: pr.Provider.Type, URN: pr.Provider.URN,
			Name: pr.Provider.Name, Properties: pp}
	}
	return r, nil
}

func encodeMap(m property.Map) (json.RawMessage, error) {
	v, err := EncodeValue(property.New(m))
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func decodeMap(raw json.RawMessage) (property.Map, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return property.Map{}, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return property.Map{}, err
	}
	pv, err := DecodeValue(v)
	if err != nil {
		return property.Map{}, err
	}
	if !pv.IsMap() {
		return property.Map{}, fmt.Errorf("properties are not an object")
	}
	return pv.AsMap(), nil
}

// EncodeValue turns a property value into plain JSON data (see above).
func EncodeValue(v property.Value) (any, error) {
	var out any
	switch {
	case v.IsComputed():
		out = map[string]any{"$unknown": true}
	case v.IsNull():
		out = nil
	case v.IsBool():
		out = v.AsBool()
	case v.IsNumber():
		out = v.AsNumber()
	case v.IsString():
		out = v.AsString()
	case v.IsArray():
		list := make([]any, 0, v.AsArray().Len())
		for _, e := range v.AsArray().All {
			ev, err := EncodeValue(e)
			if err != nil {
				return nil, err
			}
			list = append(list, ev)
		}
		out = list
	case v.IsMap():
		m := map[string]any{}
		for k, e := range v.AsMap().All {
			if strings.HasPrefix(k, "$") {
				return nil, fmt.Errorf("key %q starts with $, which a recorded plan reserves", k)
			}
			ev, err := EncodeValue(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			m[k] = ev
		}
		out = m
	case v.IsResourceReference():
		ref := v.AsResourceReference()
		r := map[string]any{"urn": string(ref.URN)}
		if id, ok := ref.IDString(); ok && !ref.ID.IsComputed() {
			r["id"] = id
		}
		out = map[string]any{"$ref": r}
	default:
		return nil, fmt.Errorf("a value of kind %v cannot be recorded", v)
	}
	if v.Secret() {
		out = map[string]any{"$secret": redact(out)}
	}
	return out, nil
}

// Redacted is what a recorded plan keeps of a secret's non-empty strings:
// a plan in the repo holds no secret, and the rules judge a secret's
// presence and emptiness, which redaction keeps, never its text.
const Redacted = "[secret]"

func redact(v any) any {
	switch x := v.(type) {
	case string:
		if x == "" {
			return x
		}
		return Redacted
	case []any:
		for i := range x {
			x[i] = redact(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = redact(x[k])
		}
	}
	return v
}

// DecodeValue is EncodeValue's inverse.
func DecodeValue(v any) (property.Value, error) {
	switch x := v.(type) {
	case nil:
		return property.New(property.Null), nil
	case bool:
		return property.New(x), nil
	case float64:
		return property.New(x), nil
	case string:
		return property.New(x), nil
	case []any:
		arr := make([]property.Value, len(x))
		for i, e := range x {
			ev, err := DecodeValue(e)
			if err != nil {
				return property.Value{}, err
			}
			arr[i] = ev
		}
		return property.New(arr), nil
	case map[string]any:
		if s, ok := x["$secret"]; ok && len(x) == 1 {
			inner, err := DecodeValue(s)
			return inner.WithSecret(true), err
		}
		if _, ok := x["$unknown"]; ok && len(x) == 1 {
			return property.New(property.Computed), nil
		}
		if ref, ok := x["$ref"].(map[string]any); ok && len(x) == 1 {
			u, _ := ref["urn"].(string)
			id := property.New(property.Null)
			if s, ok := ref["id"].(string); ok {
				id = property.New(s)
			}
			return property.New(property.ResourceReference{URN: urn.URN(u), ID: id}), nil
		}
		m := map[string]property.Value{}
		for k, e := range x {
			if strings.HasPrefix(k, "$") {
				return property.Value{}, fmt.Errorf("unknown wrapper %q", k)
			}
			ev, err := DecodeValue(e)
			if err != nil {
				return property.Value{}, fmt.Errorf("%s: %w", k, err)
			}
			m[k] = ev
		}
		return property.New(property.NewMap(m)), nil
	}
	return property.Value{}, fmt.Errorf("cannot decode %T", v)
}
