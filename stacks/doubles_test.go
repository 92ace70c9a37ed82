package stacks_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/eduai/infra/internal/preview"
	"github.com/eduai/infra/stacks"
)

// Every shipped stack and every valid fixture makes a plan the real
// provider's Check accepts and whose every reference (a name, an id, a
// namespace, a CRD) has a dependency path to what it addresses: what the
// preview checks (preview.Verify) before the policy pack. Prod runs several
// times: the Go SDK records a dependency on a component as its children
// registered so far, so a program that depended on a component would be
// caught by the run that races.
func TestPlansMeetTheDoubles(t *testing.T) {
	files := map[string]string{"../Pulumi.dev.yaml": "dev", "../Pulumi.staging.yaml": "staging", "../Pulumi.prod.yaml": "prod"}
	fixtures, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fixtures {
		if !strings.HasSuffix(f, ".bad.yaml") {
			stack := "prod"
			for _, s := range []string{"dev", "staging"} {
				if strings.HasPrefix(filepath.Base(f), s+"-") {
					stack = s
				}
			}
			files[f] = stack
		}
	}
	for file, stack := range files {
		runs := 1
		if file == "../Pulumi.prod.yaml" {
			runs = 5
		}
		for i := 0; i < runs; i++ {
			// RunProgram fails with a *preview.PlanError when Verify does.
			if _, _, err := preview.RunProgram(stack, "../Pulumi.yaml", file, stacks.Run); err != nil {
				t.Errorf("%s: %v", file, err)
				break
			}
		}
	}
}
