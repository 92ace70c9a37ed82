package stacks_test

import (
	"os"
	"strings"
	"testing"

	"github.com/eduai/infra/stacks"
)

// The config reference in README.md, the descriptions in Pulumi.yaml and
// the JSON Schema of a stack file are generated from the config structs
// (stacks/reference.go); each fails this test when stale. Every field must
// have a doc comment, and a default is written once (in Defaults, or as a
// "Default:" line for one derived after decoding).
func TestConfigReference(t *testing.T) {
	docs, err := stacks.LoadFieldDocs(".")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := stacks.BuildReference(docs)
	if err != nil {
		t.Fatal(err)
	}
	schema, err := ref.SchemaJSON()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	wantReadme, err := stacks.ReplaceBetween(string(readme), stacks.ReadmeBegin, stacks.ReadmeEnd, ref.Markdown())
	if err != nil {
		t.Fatal(err)
	}
	project, err := os.ReadFile("../Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	head, _, ok := strings.Cut(string(project), stacks.PulumiYAMLMarker+"\n")
	if !ok {
		t.Fatalf("Pulumi.yaml lacks the line %q", stacks.PulumiYAMLMarker)
	}
	wantProject := head + ref.PulumiYAMLConfig()
	for _, f := range []struct {
		path string
		want []byte
	}{{"../README.md", []byte(wantReadme)}, {"../Pulumi.yaml", []byte(wantProject)}, {"schema/eduai.schema.json", schema}} {
		if *update {
			if err := os.MkdirAll("schema", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := stacks.WriteIfChanged(f.path, f.want); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, _ := os.ReadFile(f.path)
		if string(got) != string(f.want) {
			t.Errorf("%s is stale: run go test ./stacks -run TestConfigReference -update and review the change\n%s",
				f.path, diff(string(f.want), string(got)))
		}
	}
}
