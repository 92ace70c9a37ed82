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
	"time"

	"github.com/eduai/infra/components/service"
	"sigs.k8s.io/yaml"
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
	if got, want := names(mr), []string{"gofmt-vet-lint", "policy-offline", "preview-note", "preview: [dev]", "preview: [prod]",
		"preview: [staging]", "secret-scan", "unit-tests"}; !slices.Equal(got, want) {
		t.Errorf("merge request jobs %v, want %v", got, want)
	}
	// The note job runs after every preview, failed ones too.
	if n := mr["preview-note"]; n.When != "always" || !n.needs("preview") {
		t.Errorf("preview-note: when %q, needs %v", n.When, n.Needs)
	}
	main := list(t, bin, "CI_PIPELINE_SOURCE=push", "CI_DEFAULT_BRANCH=main", "CI_COMMIT_BRANCH=main")
	if got, want := names(main), []string{"deploy-dev", "deploy-production", "deploy-staging", "gofmt-vet-lint",
		"plan-dev", "plan-prod", "plan-staging", "policy-offline", "promote-prod", "secret-scan", "unit-tests"}; !slices.Equal(got, want) {
		t.Errorf("main jobs %v, want %v", got, want)
	}
	// Issue #19: the promotion is manual, waits for nothing, and may fail without failing the pipeline.
	if p := main["promote-prod"]; p.When != "manual" || len(p.Needs) != 0 {
		t.Errorf("promote-prod: when %q, needs %v", p.When, p.Needs)
	}
	for _, stack := range []string{"dev", "staging", "prod"} {
		deploy := map[string]string{"dev": "deploy-dev", "staging": "deploy-staging", "prod": "deploy-production"}[stack]
		if !main[deploy].needs("plan-" + stack) {
			t.Errorf("%s does not take the plan of plan-%s: needs %v", deploy, stack, main[deploy].Needs)
		}
	}
	// A tag pipeline validates and tests; it neither plans nor deploys.
	tag := list(t, bin, "CI_PIPELINE_SOURCE=push", "CI_DEFAULT_BRANCH=main", "-CI_COMMIT_BRANCH", "CI_COMMIT_TAG=v1.0.0")
	if got, want := names(tag), []string{"gofmt-vet-lint", "policy-offline", "secret-scan", "unit-tests"}; !slices.Equal(got, want) {
		t.Errorf("tag jobs %v, want %v", got, want)
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
		case strings.HasPrefix(name, "deploy-") || strings.HasPrefix(name, "plan-") || strings.HasPrefix(name, "preview"):
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
		if strings.HasPrefix(name, "deploy-") || strings.HasPrefix(name, "plan-") || strings.HasPrefix(name, "preview") {
			t.Errorf("a feature branch push runs %s", name)
		}
	}
}

// Issue #18: every job that talks to a stack runs on that stack's runner in
// its VPC (the private endpoint answers nowhere else), and every deploy
// applies the plan its plan job saved. Read from the pipeline as GitLab
// expands it (gitlab-ci-local --preview: extends, anchors and defaults resolved).
func TestJobsRunInTheStacksVPC(t *testing.T) {
	bin := gitlabCILocal(t)
	cmd := exec.Command(bin, "--preview", "--cwd", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gitlab-ci-local --preview: %v", err)
	}
	type expanded struct {
		Tags      []string          `json:"tags"`
		Script    []string          `json:"script"`
		Variables map[string]string `json:"variables"`
		Parallel  struct {
			Matrix []map[string][]string `json:"matrix"`
		} `json:"parallel"`
		IDTokens map[string]any `json:"id_tokens"`
		Timeout  string         `json:"timeout"`
	}
	var top map[string]json.RawMessage
	if err := yaml.Unmarshal(out, &top); err != nil {
		t.Fatalf("the expanded pipeline: %v", err)
	}
	pipeline := map[string]expanded{}
	for name, raw := range top {
		var j expanded
		if json.Unmarshal(raw, &j) == nil {
			pipeline[name] = j
		}
	}
	deployScript, err := os.ReadFile("deploy.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(deployScript), `--deploy`) || !strings.Contains(string(deployScript), `--plan "$dir/plan-$stack.json"`) {
		t.Error("ci/deploy.sh does not run up with the saved plan")
	}
	for _, stack := range []string{"dev", "staging", "prod"} {
		for _, name := range []string{"plan-" + stack, map[string]string{"dev": "deploy-dev", "staging": "deploy-staging",
			"prod": "deploy-production"}[stack]} {
			j, ok := pipeline[name]
			if !ok {
				t.Errorf("no job %s", name)
				continue
			}
			if !slices.Equal(j.Tags, []string{"eduai-" + stack}) || j.Variables["STACK"] != stack {
				t.Errorf("%s: tags %v, STACK %q; want the runner eduai-%s", name, j.Tags, j.Variables["STACK"], stack)
			}
			want := "bash ci/plan.sh \"$STACK\""
			if strings.HasPrefix(name, "deploy") {
				want = "bash ci/deploy.sh \"$STACK\""
				// Issue #19: the deploy outlasts what pulumi up may wait for a release.
				limit, err := time.ParseDuration(j.Timeout)
				if release := service.RolloutTimeout() + 2*service.JobTimeout(); err != nil || limit < release+30*time.Minute {
					t.Errorf("%s: timeout %q; pulumi up may wait %v for a canary release alone", name, j.Timeout, release)
				}
			}
			if !slices.Contains(j.Script, want) || slices.ContainsFunc(j.Script, func(l string) bool { return strings.Contains(l, "pulumi up") }) {
				t.Errorf("%s: script %v, want %s and no other up", name, j.Script, want)
			}
		}
	}
	// Issue #19: the promotion runs on the DR region's runner against the DR region alone.
	if j := pipeline["promote-prod"]; !slices.Equal(j.Tags, []string{"eduai-prod-dr"}) || j.Variables["AWS_REGION"] != "us-east-1" ||
		!slices.ContainsFunc(j.Script, func(l string) bool {
			return strings.Contains(l, "go run ./cmd/promote -stack prod -region us-east-1") && strings.HasPrefix(l, "set -o pipefail;")
		}) {
		t.Errorf("promote-prod: tags %v, variables %v, script %v", j.Tags, j.Variables, j.Script)
	}
	for _, name := range []string{"preview", "drift"} {
		j := pipeline[name]
		if !slices.Equal(j.Tags, []string{"eduai-$STACK"}) || len(j.Parallel.Matrix) != 1 ||
			!slices.Equal(j.Parallel.Matrix[0]["STACK"], []string{"dev", "staging", "prod"}) {
			t.Errorf("%s: tags %v, matrix %v; want one job per stack on its runner", name, j.Tags, j.Parallel.Matrix)
		}
	}
	// The note job talks to GitLab only: no cloud credentials, no stack runner.
	if j := pipeline["preview-note"]; len(j.Tags) != 0 || j.IDTokens != nil {
		t.Errorf("preview-note: tags %v, id tokens %v", j.Tags, j.IDTokens)
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
