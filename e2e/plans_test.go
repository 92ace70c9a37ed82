//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eduai/infra/stacks"
)

// fakeGitLab is the notes API of one merge request: list, post, update.
type fakeGitLab struct {
	mu    sync.Mutex
	notes []string
	calls []string
}

func (g *fakeGitLab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	base := "/api/v4/projects/1/merge_requests/2/notes"
	if r.Header.Get("PRIVATE-TOKEN") != "e2e-token" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	g.calls = append(g.calls, r.Method+" "+r.URL.Path)
	b, _ := io.ReadAll(r.Body)
	var m map[string]string
	_ = json.Unmarshal(b, &m)
	switch {
	case r.Method == http.MethodGet && r.URL.Path == base:
		type note struct {
			ID   int    `json:"id"`
			Body string `json:"body"`
		}
		var list []note
		if r.URL.Query().Get("page") == "1" {
			for i, n := range g.notes {
				list = append(list, note{i + 1, n})
			}
		}
		_ = json.NewEncoder(w).Encode(list)
	case r.Method == http.MethodPost && r.URL.Path == base:
		g.notes = append(g.notes, m["body"])
		w.WriteHeader(http.StatusCreated)
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, base+"/"):
		id, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, base+"/"))
		g.notes[id-1] = m["body"]
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// Issue #18, reviewed plans, through the jobs' own scripts against the
// stand-ins, on stacks brought up as docs/runbooks/new-environment.md says:
// the foundation phase from a workstation (dev and staging: networks,
// runners, the clusters' API security groups); then the merge request's
// preview job (ci/mr-preview.sh, one per stack) saves each stack's plan; the note job (ci/mr-note.sh) posts one
// note to a fake GitLab API and updates it on the next pipeline; the deploy
// job (ci/deploy.sh) runs `pulumi up --plan` of dev's plan; a plan of another
// commit is refused before anything runs, and a stack changed after its plan
// was saved is refused by the engine.
func TestReviewedPlanJobs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "project")
	out := filepath.Join(t.TempDir(), "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"} {
		if err := copyFile(filepath.Join(h.root, f), filepath.Join(dir, f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitlab := &fakeGitLab{}
	srv := httptest.NewServer(gitlab)
	defer srv.Close()
	env := engineEnv(t)
	env["PATH"] = filepath.Dir(h.cliPath) + string(os.PathListSeparator) + env["PATH"]
	for k, v := range map[string]string{"MR_PREVIEW_ROOT": dir, "MR_PREVIEW_DIR": out, "MR_PREVIEW_OUT": filepath.Join(out, "preview.md"),
		"PLAN_ROOT": dir, "PLAN_DIR": out, "PULUMI_SECRETS_PROVIDER": "passphrase", "CI_COMMIT_SHA": "c0ffee1",
		"CI_API_V4_URL": srv.URL + "/api/v4", "CI_PROJECT_ID": "1", "CI_MERGE_REQUEST_IID": "2", "GITLAB_NOTE_TOKEN": "e2e-token"} {
		env[k] = v
	}
	// Phase 1 of the runbook, from a workstation: `pulumi up` with eduai:bootstrap.foundation.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	for _, stack := range []string{"dev", "staging"} {
		file := filepath.Join(dir, "Pulumi."+stack+".yaml")
		shipped, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, append(shipped, []byte("  eduai:bootstrap:\n    foundation: true\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
		s := newStackIn(t, ctx, stack, dir, stacks.Run, env)
		if _, err := s.Up(ctx); err != nil {
			t.Fatalf("the foundation phase of %s: %v", stack, err)
		}
		if err := os.WriteFile(file, shipped, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	job := func(script string, extra ...string) (string, error) {
		cmd := exec.Command("bash", append([]string{filepath.Join(h.root, "ci", script)}, extra...)...)
		cmd.Env = os.Environ()
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		logs, err := cmd.CombinedOutput()
		return string(logs), err
	}
	exitCode := func(err error) int {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			return -1
		}
		return 0
	}

	for _, stack := range []string{"dev", "staging", "prod"} {
		if logs, err := job("mr-preview.sh", stack); err != nil {
			t.Fatalf("the %s preview job failed: %v\n%s", stack, err, logs)
		}
		for _, f := range []string{"plan-" + stack + ".json", "plan-" + stack + ".commit", "preview-" + stack + ".json"} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Errorf("the %s preview job saved no %s", stack, f)
			}
		}
	}
	for pipeline := 1; pipeline <= 2; pipeline++ {
		if logs, err := job("mr-note.sh"); err != nil {
			t.Fatalf("the note job failed: %v\n%s", err, logs)
		}
	}
	note, err := os.ReadFile(filepath.Join(out, "preview.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| dev | ", "| staging | ", "| prod | ", "passed"} {
		if !strings.Contains(string(note), want) {
			t.Errorf("the note lacks %q:\n%s", want, note)
		}
	}
	if strings.Contains(string(note), "**blocked**") || strings.Contains(string(note), ":warning:") {
		t.Errorf("a fresh preview of the shipped stacks is blocked or replaces data:\n%s", note)
	}
	if len(gitlab.notes) != 1 || gitlab.notes[0] != string(note) || !strings.HasPrefix(gitlab.calls[len(gitlab.calls)-1], "PUT ") {
		t.Errorf("two pipelines left %d notes (calls %v)", len(gitlab.notes), gitlab.calls)
	}

	// A plan is bound to its commit: the deploy of another commit refuses it.
	env["CI_COMMIT_SHA"] = "badc0de"
	logs, err := job("deploy.sh", "dev")
	if exitCode(err) != 1 || !strings.Contains(logs, "it was made from commit c0ffee1, this is badc0de") {
		t.Errorf("a plan of another commit: exit %d\n%s", exitCode(err), logs)
	}
	env["CI_COMMIT_SHA"] = "c0ffee1"
	logs, err = job("deploy.sh", "dev")
	if err != nil {
		t.Fatalf("the dev deploy with its plan failed: %v\n%s", err, tailText(logs, 3000))
	}
	if _, err := os.Stat(filepath.Join(out, "deploy-dev.md")); err != nil {
		t.Errorf("no deploy report: %v", err)
	}
	if !strings.Contains(logs, "`pulumi up --plan` of dev") || strings.Contains(logs, "| 0 | 0 | 0 | 0 |") {
		t.Errorf("the deploy report does not show what the plan created:\n%s", logs)
	}

	// The stack changed after its plan was saved (here its tags, which every
	// resource's provider carries): the engine refuses the update.
	stackFile := filepath.Join(dir, "Pulumi.staging.yaml")
	data, err := os.ReadFile(stackFile)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(data), "CostCenter: education-platform-staging", "CostCenter: changed-after-review", 1)
	if changed == string(data) {
		t.Fatal("the staging stack file has no CostCenter tag to change")
	}
	if err := os.WriteFile(stackFile, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	logs, err = job("deploy.sh", "staging")
	if exitCode(err) != 1 || !(strings.Contains(logs, "violates plan") || strings.Contains(logs, "not allowed by the plan")) ||
		!strings.Contains(logs, "refused or failed") {
		t.Errorf("a stack changed after its plan: exit %d\n%s", exitCode(err), tailText(logs, 3000))
	}
}

func tailText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
