// Package ci checks .gitlab-ci.yml with a real GitLab CI parser:
// gitlab-ci-local (installed by ci/gitlab-local.sh) lists the jobs each
// pipeline source gets and, with EDUAI_GITLAB_RUN_JOBS=1, runs the cloudless
// jobs with its shell executor.
package ci

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// gitlabCILocal finds the pinned gitlab-ci-local (GITLAB_CI_LOCAL or .tools/npm).
func gitlabCILocal(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("GITLAB_CI_LOCAL")
	if bin == "" {
		bin, _ = filepath.Abs("../.tools/npm/node_modules/.bin/gitlab-ci-local")
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("EDUAI_REQUIRE_GITLAB_CI_LOCAL") != "" {
			t.Fatalf("gitlab-ci-local not installed (run ci/gitlab-local.sh): %v", err)
		}
		t.Skip("gitlab-ci-local not installed; ci/gitlab-local.sh installs it")
	}
	return bin
}

type job struct {
	Name         string `json:"name"`
	Stage        string `json:"stage"`
	When         string `json:"when"`
	AllowFailure bool   `json:"allow_failure"`
	Needs        []struct {
		Job string `json:"job"`
	} `json:"needs"`
}

func (j job) needs(name string) bool {
	for _, n := range j.Needs {
		if n.Job == name {
			return true
		}
	}
	return false
}

func list(t *testing.T, bin string, vars ...string) map[string]job {
	t.Helper()
	args := []string{"--list-json", "--cwd", "..",
		"--ignore-predefined-vars", "CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH,CI_DEFAULT_BRANCH,CI_MERGE_REQUEST_IID"}
	for _, v := range vars {
		if strings.HasPrefix(v, "-") {
			args = append(args, "--unset-variable", strings.TrimPrefix(v, "-"))
		} else {
			args = append(args, "--variable", v)
		}
	}
	var stdout, stderr strings.Builder
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gitlab-ci-local %v: %v\n%s%s", args, err, stdout.String(), stderr.String())
	}
	// The JSON may follow progress lines; the schema validation is reported on the way.
	out := stdout.String()
	start := strings.Index(out, "[")
	if start < 0 || !strings.Contains(out+stderr.String(), "json schema validated") {
		t.Fatalf("gitlab-ci-local did not validate and list the pipeline:\n%s%s", out, stderr.String())
	}
	var jobs []job
	if err := json.Unmarshal([]byte(out[start:]), &jobs); err != nil {
		t.Fatalf("gitlab-ci-local output: %v\n%s", err, out)
	}
	m := map[string]job{}
	for _, j := range jobs {
		if j.When != "never" {
			m[j.Name] = j
		}
	}
	return m
}

func names(m map[string]job) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func TestPipelinePerSource(t *testing.T) {
	bin := gitlabCILocal(t)
	mr := list(t, bin, "CI_PIPELINE_SOURCE=merge_request_event", "CI_DEFAULT_BRANCH=main", "-CI_COMMIT_BRANCH",
		"CI_MERGE_REQUEST_IID=1")
	if got, want := names(mr), []string{"gofmt-vet-lint", "policy-offline", "preview", "secret-scan", "unit-tests"}; !slices.Equal(got, want) {
		t.Errorf("merge request jobs %v, want %v", got, want)
	}
	main := list(t, bin, "CI_PIPELINE_SOURCE=push", "CI_DEFAULT_BRANCH=main", "CI_COMMIT_BRANCH=main")
	if got, want := names(main), []string{"deploy-dev", "deploy-production", "deploy-staging", "gofmt-vet-lint",
		"policy-offline", "secret-scan", "unit-tests"}; !slices.Equal(got, want) {
		t.Errorf("main jobs %v, want %v", got, want)
	}
	if main["deploy-dev"].When == "manual" || main["deploy-staging"].When != "manual" || main["deploy-production"].When != "manual" {
		t.Errorf("deploy gates: dev %q, staging %q, production %q", main["deploy-dev"].When, main["deploy-staging"].When,
			main["deploy-production"].When)
	}
	if !main["deploy-production"].needs("deploy-staging") {
		t.Errorf("production does not wait for staging: needs %v", main["deploy-production"].Needs)
	}
	// Issue #18: a scheduled pipeline (on the default branch) checks every
	// stack for drift and never deploys; no other pipeline runs the drift check.
	schedule := list(t, bin, "CI_PIPELINE_SOURCE=schedule", "CI_DEFAULT_BRANCH=main", "CI_COMMIT_BRANCH=main")
	drift := 0
	for name := range schedule {
		switch {
		case strings.HasPrefix(name, "deploy-") || name == "preview":
			t.Errorf("a scheduled pipeline runs %s", name)
		case strings.HasPrefix(name, "drift"):
			drift++
		}
	}
	if drift != 3 {
		t.Errorf("a scheduled pipeline runs %d drift jobs, want one per stack: %v", drift, names(schedule))
	}
	for _, other := range []map[string]job{mr, main} {
		for name := range other {
			if strings.HasPrefix(name, "drift") {
				t.Errorf("%s runs outside a schedule", name)
			}
		}
	}
	// A feature branch never deploys (workflow rules, which GitLab applies, keep it to its merge request).
	feature := list(t, bin, "CI_PIPELINE_SOURCE=push", "CI_DEFAULT_BRANCH=main", "CI_COMMIT_BRANCH=feature/x")
	for name := range feature {
		if strings.HasPrefix(name, "deploy-") || name == "preview" {
			t.Errorf("a feature branch push runs %s", name)
		}
	}
}

// The cloudless jobs run locally with gitlab-ci-local's shell executor.
func TestJobsRunLocally(t *testing.T) {
	if os.Getenv("EDUAI_GITLAB_RUN_JOBS") == "" {
		t.Skip("set EDUAI_GITLAB_RUN_JOBS=1 (ci/gitlab-local.sh does)")
	}
	bin := gitlabCILocal(t)
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	gocache, _ := exec.Command("go", "env", "GOCACHE").Output()
	args := []string{"--cwd", "..", "--force-shell-executor",
		"--variable", "GOPATH=" + strings.TrimSpace(string(gopath)), "--variable", "GOCACHE=" + strings.TrimSpace(string(gocache)),
		"gofmt-vet-lint", "unit-tests", "policy-offline"}
	cmd := exec.Command(bin, args...)
	// The unit-tests job runs go test ./... again: without the switch, it does not recurse into this test.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EDUAI_GITLAB_RUN_JOBS=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gitlab-ci-local %v: %v\n%s", args, err, tail(string(out), 6000))
	}
	for _, want := range []string{"gofmt-vet-lint", "unit-tests", "policy-offline"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no output of job %s", want)
		}
	}
	t.Log(tail(string(out), 2000))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
