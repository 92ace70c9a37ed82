package mockstack

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// A recorded plan on disk: the records of a run, so that an analysis can be
// replayed on the plan an earlier version of the program made (a regression
// fixture). Secret values are written as "[secret]", never in plain text.

type planRecord struct {
	URN                  string              `json:"urn"`
	Type                 string              `json:"type"`
	Name                 string              `json:"name"`
	Parent               string              `json:"parent,omitempty"`
	Provider             string              `json:"provider,omitempty"`
	Custom               bool                `json:"custom"`
	Protect              bool                `json:"protect,omitempty"`
	Dependencies         []string            `json:"dependencies,omitempty"`
	PropertyDependencies map[string][]string `json:"propertyDependencies,omitempty"`
	ID                   string              `json:"id,omitempty"`
	Inputs               json.RawMessage     `json:"inputs"`
	State                json.RawMessage     `json:"state"`
	Seq                  int                 `json:"seq"`
}

var planOpts = plugin.MarshalOptions{KeepSecrets: true, KeepUnknowns: true, KeepResources: true, KeepOutputValues: true}

func redactSecrets(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return resource.MakeSecret(resource.NewStringProperty("[secret]"))
	case v.IsArray():
		out := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			out[i] = redactSecrets(e)
		}
		return resource.NewArrayProperty(out)
	case v.IsObject():
		out := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			out[k] = redactSecrets(e)
		}
		return resource.NewObjectProperty(out)
	}
	return v
}

func encodeProps(m resource.PropertyMap) (json.RawMessage, error) {
	s, err := plugin.MarshalProperties(redactSecrets(resource.NewObjectProperty(m)).ObjectValue(), planOpts)
	if err != nil {
		return nil, err
	}
	return protojson.Marshal(s)
}

func decodeProps(b json.RawMessage) (resource.PropertyMap, error) {
	var s structpb.Struct
	if err := protojson.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return plugin.UnmarshalProperties(&s, planOpts)
}

// WritePlan writes records as gzip-compressed JSON.
func WritePlan(w io.Writer, records []*Resource) error {
	out := make([]planRecord, 0, len(records))
	for _, r := range records {
		in, err := encodeProps(r.Inputs)
		if err != nil {
			return fmt.Errorf("%s: %w", r.URN, err)
		}
		st, err := encodeProps(r.State)
		if err != nil {
			return fmt.Errorf("%s: %w", r.URN, err)
		}
		out = append(out, planRecord{URN: r.URN, Type: r.Type, Name: r.Name, Parent: r.Parent, Provider: r.Provider,
			Custom: r.Custom, Protect: r.Protect, Dependencies: r.Dependencies, PropertyDependencies: r.PropertyDependencies,
			ID: r.ID, Inputs: in, State: st, Seq: r.Seq})
	}
	zw := gzip.NewWriter(w)
	enc := json.NewEncoder(zw)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	return zw.Close()
}

// ReadPlan reads records WritePlan wrote.
func ReadPlan(file string) ([]*Resource, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var in []planRecord
	if err := json.NewDecoder(zr).Decode(&in); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	out := make([]*Resource, 0, len(in))
	for _, p := range in {
		inputs, err := decodeProps(p.Inputs)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", file, p.URN, err)
		}
		state, err := decodeProps(p.State)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", file, p.URN, err)
		}
		out = append(out, &Resource{URN: p.URN, Type: p.Type, Name: p.Name, Parent: p.Parent, Provider: p.Provider,
			Custom: p.Custom, Protect: p.Protect, Dependencies: p.Dependencies, PropertyDependencies: p.PropertyDependencies,
			ID: p.ID, Inputs: inputs, State: state, Seq: p.Seq, IgnoreChanges: nil})
	}
	return out, nil
}
