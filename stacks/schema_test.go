package stacks_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"sigs.k8s.io/yaml"
)

// stackSchema compiles stacks/schema/eduai.schema.json with a JSON Schema
// validator of the kind editors use (draft 2020-12).
func stackSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile("schema/eduai.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := jsonschema.CompileString("eduai.schema.json", string(raw))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validateStackFile(t *testing.T, s *jsonschema.Schema, text string) error {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	return s.Validate(doc)
}

// Every shipped stack file and every valid fixture meets the schema; an
// editor using it flags what the program refuses: an unknown or misspelt
// key at any depth, a misspelt project namespace, a wrong type, a value
// outside an enumeration. A secret may stand where a string does.
func TestSchemaJudgesStackFiles(t *testing.T) {
	s := stackSchema(t)
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, "../Pulumi.dev.yaml", "../Pulumi.staging.yaml", "../Pulumi.prod.yaml")
	for _, f := range files {
		if strings.HasSuffix(f, ".bad.yaml") {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := validateStackFile(t, s, string(raw)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, c := range []struct {
		config, want string // want: "" accepts, otherwise a fragment of the error
	}{
		{"eduai:runner:\n    token:\n      secure: v1:abc", ""},
		{"eduai:services:\n    api:\n      image: {repository: r}\n      env: {TOKEN: {secure: v1:abc}}", ""},
		{"aws:profile: dev\n  pulumi:disable-default-providers: ['*']", ""},
		{"eduai:netwrk: {}", "eduai:netwrk"},
		{"eduia:network: {}", "eduia:network"},
		{"eduai:network:\n    cidrr: 10.0.0.0/16", "cidrr"},
		{"eduai:services:\n    api:\n      image: {repository: r, digest: x}", "digest"},
		{"eduai:database:\n    instances: two", "integer"},
		{"eduai:queue:\n    engine: sqs", "kafka"},
		{"eduai:mesh:\n    enabled: 'yes'", "boolean"},
	} {
		err := validateStackFile(t, s, "config:\n  aws:region: us-west-2\n  "+c.config+"\n")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q refused: %v", c.config, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: got %v, want an error naming %q", c.config, err, c.want)
		}
	}
}
