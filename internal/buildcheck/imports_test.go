// Package buildcheck keeps the build lean: the pulumi-aws SDK is imported
// by subpackage only (its root package is large), and the policy pack builds
// without the program's heavy SDKs.
package buildcheck

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const awsRoot = "github.com/pulumi/pulumi-aws/sdk/v6/go/aws"

// rootImports are the files allowed to import the pulumi-aws root package, and why.
var rootImports = map[string]string{
	"stacks/providers.go": "it creates the aws.Provider of each region",
	"stacks/tier.go":      "a tier is handed its region's *aws.Provider",
}

// imports lists every non-test Go file of the module with its imports.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	root := "../.."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, imp := range f.Imports {
			out[filepath.ToSlash(rel)] = append(out[filepath.ToSlash(rel)], strings.Trim(imp.Path.Value, `"`))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A new import of the pulumi-aws root package needs a reason in rootImports;
// everything else imports the subpackages it uses.
func TestAWSImportsBySubpackage(t *testing.T) {
	var subpackages []string
	for file, imps := range imports(t) {
		for _, imp := range imps {
			switch {
			case imp == awsRoot && rootImports[file] == "":
				t.Errorf("%s imports the pulumi-aws root package; import the subpackage it uses (or add a reason to rootImports)", file)
			case strings.HasPrefix(imp, awsRoot+"/") && !slices.Contains(subpackages, imp):
				subpackages = append(subpackages, imp)
			}
		}
	}
	slices.Sort(subpackages)
	t.Logf("%d pulumi-aws subpackages: %v", len(subpackages), subpackages)
}

// The policy pack builds without the program's heavy SDKs.
func TestPolicyPackIsLight(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../../policies").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, heavy := range []string{"github.com/pulumi/pulumi-aws/", "github.com/pulumi/pulumi-kubernetes/",
		"github.com/pulumi/pulumi-eks/", "github.com/eduai/infra/components", "github.com/eduai/infra/stacks"} {
		if strings.Contains(string(out), heavy) {
			t.Errorf("the policy pack depends on %s", heavy)
		}
	}
}
