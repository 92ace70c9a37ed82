//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eduai/infra/stacks"
)

// The scheduled drift job's script (ci/drift.sh, what .gitlab-ci.yml runs)
// refreshes a deployed stack against the stand-ins and compares it with the
// program: a clean stack reports no drift and exits 0; after a change "by
// hand" (the stand-in's Read answers a property changed, as AWS would), it
// names the resource and the property and exits 1. It changes nothing.
func TestDriftJob(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	env := engineEnv(t)
	dir := project(t, "dev", filepath.Join(h.root, "Pulumi.dev.yaml"))
	s := newStackIn(t, ctx, "dev", dir, stacks.Run, env)
	if _, err := s.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	out := filepath.Join(t.TempDir(), "drift.md")
	job := func() (string, error) {
		cmd := exec.Command("bash", filepath.Join(h.root, "ci", "drift.sh"), "dev")
		cmd.Env = os.Environ()
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Env = append(cmd.Env, "PATH="+filepath.Dir(h.cliPath)+string(os.PathListSeparator)+env["PATH"],
			"DRIFT_ROOT="+dir, "DRIFT_OUT="+out)
		logs, err := cmd.CombinedOutput()
		report, _ := os.ReadFile(out)
		if len(report) == 0 {
			t.Fatalf("no report; the job said:\n%s", logs)
		}
		return string(report), err
	}
	report, err := job()
	if err != nil || !strings.Contains(report, "**dev**: no drift.") {
		t.Fatalf("a clean stack: %v\n%s", err, report)
	}
	if err := os.WriteFile(filepath.Join(env["PULUMI_HOME"], "standin", "drift.json"),
		[]byte(`[{"match": "::network", "type": "aws:ec2/vpc:Vpc", "property": "enableDnsHostnames", "value": false}]`),
		0o644); err != nil {
		t.Fatal(err)
	}
	report, err = job()
	var exit *exec.ExitError
	if err == nil || !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("the drifted stack: exit %v, want 1", err)
	}
	if !strings.Contains(report, "**dev**: 1 resource(s) drifted") ||
		!strings.Contains(report, "`network` aws:ec2/vpc/Vpc: enableDnsHostnames differ (the next up would update it)") {
		t.Errorf("the report does not name the drift:\n%s", report)
	}
	// The check changed nothing: the state still holds what the program set.
	got, _ := state(t, ctx, s)
	for urn, r := range got {
		if strings.HasSuffix(urn, "aws:ec2/vpc:Vpc::network") {
			if text, _ := json.Marshal(r); !strings.Contains(string(text), `"enableDnsHostnames":true`) {
				t.Errorf("the drift check changed the state of %s: %v", urn, r)
			}
		}
	}
}
