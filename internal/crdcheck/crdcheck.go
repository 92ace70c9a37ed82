// Package crdcheck validates rendered custom resources against their
// CustomResourceDefinitions the way the Kubernetes API server does: the
// version's structural OpenAPI v3 schema validates the object, and pruning
// reports every field the schema does not know (a misspelt field would be
// silently dropped by the API server; here it is an error).
//
// The CRDs are the upstream manifests in ../shared/crds (see its README for
// the pinned versions); tests find them with Dir.
package crdcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Dir finds the shared CRD folder from a package directory inside the repository.
func Dir() (string, error) {
	if d := os.Getenv("EDUAI_CRDS"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			crds := filepath.Join(filepath.Dir(d), "shared", "crds")
			if _, err := os.Stat(crds); err != nil {
				return "", fmt.Errorf("CRD schemas not found at %s (set EDUAI_CRDS): %w", crds, err)
			}
			return crds, nil
		}
	}
	return "", fmt.Errorf("no go.mod above %s", wd)
}

// Kinds loads the CRDs of the given kinds from the shared folder (Dir),
// whichever file holds each.
func Kinds(kinds ...string) (map[string]*CRD, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.yaml"))
	if err != nil {
		return nil, err
	}
	out := map[string]*CRD{}
	for _, kind := range kinds {
		for _, f := range files {
			if c, err := LoadKind(f, kind); err == nil {
				out[kind] = c
				break
			}
		}
		if out[kind] == nil {
			return nil, fmt.Errorf("no CRD of kind %s under %s", kind, dir)
		}
	}
	return out, nil
}

// version is one served version's schema.
type version struct {
	structural *structuralschema.Structural
	validator  validation.SchemaValidator
}

// CRD is one custom resource kind with its schemas by API version.
type CRD struct {
	Group, Kind string
	versions    map[string]version
}

// Load reads a CRD manifest (one document, apiextensions.k8s.io/v1).
func Load(path string) (*CRD, error) { return LoadKind(path, "") }

// LoadKind reads the CRD of the given kind from a manifest that may hold
// several documents (Istio ships all its CRDs in one file); kind "" takes the first.
func LoadKind(path, kind string) (*CRD, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var crd apiextv1.CustomResourceDefinition
	found := false
	for _, doc := range strings.Split(string(data), "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var c apiextv1.CustomResourceDefinition
		if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if c.Kind == "CustomResourceDefinition" && (kind == "" || c.Spec.Names.Kind == kind) {
			crd, found = c, true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("%s: no CRD of kind %q", path, kind)
	}
	out := &CRD{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind, versions: map[string]version{}}
	for _, v := range crd.Spec.Versions {
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		var internal apiextensions.JSONSchemaProps
		if err := apiextv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema,
			&internal, nil); err != nil {
			return nil, fmt.Errorf("%s %s: %w", path, v.Name, err)
		}
		structural, err := structuralschema.NewStructural(&internal)
		if err != nil {
			return nil, fmt.Errorf("%s %s: not a structural schema: %w", path, v.Name, err)
		}
		validator, _, err := validation.NewSchemaValidator(&internal)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", path, v.Name, err)
		}
		out.versions[v.Name] = version{structural: structural, validator: validator}
	}
	return out, nil
}

// Validate returns every problem the API server would report for obj (a
// decoded JSON object with apiVersion, kind, metadata, spec), plus every
// field pruning would drop.
func (c *CRD) Validate(obj map[string]any) []string {
	apiVersion, _ := obj["apiVersion"].(string)
	group, ver, ok := strings.Cut(apiVersion, "/")
	if !ok || group != c.Group {
		return []string{fmt.Sprintf("apiVersion %q is not in group %s", apiVersion, c.Group)}
	}
	if kind, _ := obj["kind"].(string); kind != c.Kind {
		return []string{fmt.Sprintf("kind %q, want %s", kind, c.Kind)}
	}
	v, ok := c.versions[ver]
	if !ok {
		return []string{fmt.Sprintf("%s has no version %s", c.Kind, ver)}
	}
	var problems []string
	for _, e := range validation.ValidateCustomResource(nil, obj, v.validator) {
		problems = append(problems, e.Error())
	}
	pruned := runtime.DeepCopyJSON(obj)
	for _, path := range pruning.PruneWithOptions(pruned, v.structural, true,
		structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		problems = append(problems, "unknown field "+path)
	}
	return problems
}
