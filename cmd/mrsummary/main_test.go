package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPostNote(t *testing.T) {
	var got struct{ path, token, body string }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]string
		_ = json.Unmarshal(b, &m)
		got.path, got.token, got.body = r.URL.Path, r.Header.Get("PRIVATE-TOKEN"), m["body"]
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	env := map[string]string{"CI_API_V4_URL": srv.URL + "/api/v4", "CI_PROJECT_ID": "42", "CI_MERGE_REQUEST_IID": "7",
		"GITLAB_NOTE_TOKEN": "glpat-test"}
	if err := postNote(t.Context(), "## note", func(k string) string { return env[k] }, srv.Client(), "GITLAB_NOTE_TOKEN"); err != nil {
		t.Fatal(err)
	}
	if got.path != "/api/v4/projects/42/merge_requests/7/notes" || got.token != "glpat-test" || got.body != "## note" {
		t.Errorf("posted %+v", got)
	}
	delete(env, "GITLAB_NOTE_TOKEN")
	err := postNote(t.Context(), "x", func(k string) string { return env[k] }, srv.Client(), "GITLAB_NOTE_TOKEN")
	if err == nil || !strings.Contains(err.Error(), "GITLAB_NOTE_TOKEN") {
		t.Errorf("no token: %v", err)
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
