package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/eduai/infra/internal/mrsummary"
)

// The first pipeline posts the note; later ones find it by its marker (on
// any page of the list) and update it in place.
func TestPostNote(t *testing.T) {
	type note struct {
		ID   int64  `json:"id"`
		Body string `json:"body"`
	}
	var notes []note
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("PRIVATE-TOKEN") != "glpat-test" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		calls = append(calls, r.Method+" "+r.URL.Path)
		base := "/api/v4/projects/42/merge_requests/7/notes"
		b, _ := io.ReadAll(r.Body)
		var m map[string]string
		_ = json.Unmarshal(b, &m)
		switch {
		case r.Method == http.MethodGet && r.URL.Path == base:
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
			from := min((page-1)*per, len(notes))
			_ = json.NewEncoder(w).Encode(notes[from:min(from+per, len(notes))])
		case r.Method == http.MethodPost && r.URL.Path == base:
			notes = append(notes, note{ID: int64(len(notes) + 1), Body: m["body"]})
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, base+"/"):
			id, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, base+"/"))
			notes[id-1].Body = m["body"]
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	env := map[string]string{"CI_API_V4_URL": srv.URL + "/api/v4", "CI_PROJECT_ID": "42", "CI_MERGE_REQUEST_IID": "7",
		"GITLAB_NOTE_TOKEN": "glpat-test"}
	getenv := func(k string) string { return env[k] }
	// 150 comments by people come first: the note is found on the second page.
	for i := range 150 {
		notes = append(notes, note{ID: int64(i + 1), Body: "a comment"})
	}
	first := mrsummary.NoteMarker + "\n## first"
	if err := postNote(t.Context(), first, getenv, srv.Client(), "GITLAB_NOTE_TOKEN"); err != nil {
		t.Fatal(err)
	}
	second := mrsummary.NoteMarker + "\n## second"
	if err := postNote(t.Context(), second, getenv, srv.Client(), "GITLAB_NOTE_TOKEN"); err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, n := range notes {
		if strings.HasPrefix(n.Body, mrsummary.NoteMarker) {
			ours = append(ours, n.Body)
		}
	}
	if len(ours) != 1 || ours[0] != second {
		t.Errorf("notes of the preview: %q (calls %v)", ours, calls)
	}
	if calls[len(calls)-1] != "PUT /api/v4/projects/42/merge_requests/7/notes/151" {
		t.Errorf("the second pipeline did not update the note in place: %v", calls)
	}
	delete(env, "GITLAB_NOTE_TOKEN")
	err := postNote(t.Context(), "x", getenv, srv.Client(), "GITLAB_NOTE_TOKEN")
	if err == nil || !strings.Contains(err.Error(), "GITLAB_NOTE_TOKEN") {
		t.Errorf("no token: %v", err)
	}
}

// --deploy refuses a plan made from another commit before anything runs.
func TestDeployRefusesAnotherCommitsPlan(t *testing.T) {
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan-staging.json")
	if err := os.WriteFile(plan, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	args := []string{"--policy-pack", "unused", "--deploy", "--stacks", "staging", "--plan", plan, "--commit", "bbbb"}
	if code := run(args, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no record of the commit") {
		t.Errorf("plan without its commit: exit %d: %s", code, errOut.String())
	}
	if err := os.WriteFile(filepath.Join(dir, "plan-staging.commit"), []byte("aaaa\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errOut.Reset()
	if code := run(args, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "it was made from commit aaaa, this is bbbb") {
		t.Errorf("plan of another commit: exit %d: %s", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"--policy-pack", "unused", "--deploy", "--stacks", "staging", "--plan", plan}, &out, &errOut); code != 2 {
		t.Errorf("no --commit: exit %d: %s", code, errOut.String())
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--stacks", "dev"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--policy-pack") {
		t.Errorf("exit %d: %s", code, errOut.String())
	}
	// A change that touches no stack previews nothing and says so.
	changed := filepath.Join(t.TempDir(), "changed.txt")
	if err := os.WriteFile(changed, []byte("README.md\ndocs/runbooks/region-failover.md\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"--policy-pack", "unused", "--changed-files", changed}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "No stack is touched") {
		t.Errorf("exit %d: %s", code, out.String())
	}
}

// Only the builtin provider's planned deletion leaves a plan; every other entry stays as saved.
func TestWithoutBuiltinProviderDelete(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plan-dev.json")
	plan := `{"manifest":{"time":"x"},"resourcePlans":{` +
		`"urn:pulumi:dev::eduai::pulumi:providers:pulumi::default":{"steps":["delete"]},` +
		`"urn:pulumi:dev::eduai::aws:ec2/vpc:Vpc::network":{"goal":{"type":"aws:ec2/vpc:Vpc"},"steps":["delete"]},` +
		`"urn:pulumi:dev::eduai::pulumi:providers:aws::aws-primary":{"steps":["same"]}},"config":{"a":"b"}}`
	if err := os.WriteFile(file, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := withoutBuiltinProviderDelete(file)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Remove(got) }()
	data, _ := os.ReadFile(got)
	var p struct {
		ResourcePlans map[string]json.RawMessage `json:"resourcePlans"`
		Config        map[string]string          `json:"config"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.ResourcePlans["urn:pulumi:dev::eduai::pulumi:providers:pulumi::default"]; ok || len(p.ResourcePlans) != 2 ||
		p.Config["a"] != "b" || !strings.Contains(string(p.ResourcePlans["urn:pulumi:dev::eduai::aws:ec2/vpc:Vpc::network"]), `"delete"`) {
		t.Errorf("adjusted plan: %s", data)
	}
}
