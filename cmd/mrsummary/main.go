// Command mrsummary previews the stacks a merge request touches with the
// Pulumi Automation API — the program runs inline, compiled once into this
// binary, and the policy pack is passed as its built executable — and
// writes one Markdown summary (per stack: creates, updates, replaces,
// deletes, stateful replacements in bold at the top, policy violations),
// which it can post as the merge request's note.
//
//	go build -o mrsummary ./cmd/mrsummary && go build -o eduai-policy ./policies
//	./mrsummary --policy-pack eduai-policy --changed-files changed.txt --out preview.md [--post]
//
// It needs the Pulumi CLI (PATH or --pulumi), the state backend and secrets
// provider of the stacks in the environment (PULUMI_BACKEND_URL, AWS
// credentials, …). Exit 0 when every preview passed, 1 when one was blocked
// or failed (the note is written either way), 2 on a usage error. With
// --drift it runs the scheduled drift check instead (ci/drift.sh): exit 1
// when a stack drifted or could not be checked.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/blang/semver"
	"github.com/eduai/infra/internal/mrsummary"
	"github.com/eduai/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// AllStacks are the project's stacks.
var AllStacks = []string{"dev", "staging", "prod"}

type options struct {
	root, stacksList, changedFiles, policyPack, policyConfigDir, pulumi, cliVersion, secretsProvider, out string
	post, drift                                                                                           bool
	tokenEnv                                                                                              string
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("mrsummary", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.root, "root", ".", "the project directory (Pulumi.yaml and the stack files)")
	fs.StringVar(&o.stacksList, "stacks", "", "comma-separated stacks to preview (default: the ones --changed-files touches, else all)")
	fs.StringVar(&o.changedFiles, "changed-files", "", "a file listing the merge request's changed paths, one per line")
	fs.StringVar(&o.policyPack, "policy-pack", "", "the built policy pack executable (go build -o … ./policies); required")
	fs.StringVar(&o.policyConfigDir, "policy-config-dir", "", "directory of <stack>.json policy configs (default <root>/policies/config)")
	fs.StringVar(&o.pulumi, "pulumi", "", "the Pulumi CLI binary (default: pulumi on PATH)")
	fs.StringVar(&o.cliVersion, "pulumi-version", "", "the CLI's version, when --pulumi is given (skips the version probe)")
	fs.StringVar(&o.secretsProvider, "secrets-provider", "", "secrets provider for stacks created by the preview (e.g. passphrase)")
	fs.StringVar(&o.out, "out", "", "write the Markdown here (default stdout)")
	fs.BoolVar(&o.post, "post", false, "post the summary as a note on the merge request (GitLab CI variables)")
	fs.BoolVar(&o.drift, "drift", false, "check for drift instead: refresh from the providers, expect no changes, "+
		"write the drifted resources; exit 1 on drift")
	fs.StringVar(&o.tokenEnv, "token-env", "GITLAB_NOTE_TOKEN", "environment variable holding the API token for --post")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.policyPack == "" {
		fmt.Fprintln(stderr, "mrsummary: --policy-pack is required (the built pack executable)")
		return 2
	}
	names, err := o.stacks()
	if err != nil {
		fmt.Fprintf(stderr, "mrsummary: %v\n", err)
		return 2
	}
	if o.policyConfigDir == "" {
		o.policyConfigDir = filepath.Join(o.root, "policies", "config")
	}
	ctx := context.Background()
	var results []mrsummary.Stack
	failed := false
	for _, name := range names {
		s := previewStack(ctx, o, name)
		failed = failed || s.Err != ""
		results = append(results, s)
		fmt.Fprintf(stderr, "mrsummary: %s: %d change(s), %d violation(s)%s\n", name, len(s.Changes), len(s.Violations),
			map[bool]string{true: ", failed", false: ""}[s.Err != ""])
	}
	note := mrsummary.Render(results)
	if o.drift {
		note = mrsummary.RenderDrift(results)
		failed = mrsummary.Drifted(results)
	}
	if len(names) == 0 {
		note = "## `pulumi preview` of this merge request\n\nNo stack is touched by this change (no Go code, stack file or policy changed).\n"
	}
	if o.out == "" {
		fmt.Fprint(stdout, note)
	} else if err := os.WriteFile(o.out, []byte(note), 0o644); err != nil {
		fmt.Fprintf(stderr, "mrsummary: %v\n", err)
		return 2
	}
	if o.post {
		if err := postNote(ctx, note, os.Getenv, http.DefaultClient, o.tokenEnv); err != nil {
			fmt.Fprintf(stderr, "mrsummary: posting the note: %v\n", err)
			return 1
		}
	}
	if failed {
		return 1
	}
	return 0
}

// stacks resolves which stacks to preview.
func (o options) stacks() ([]string, error) {
	if o.stacksList != "" {
		var out []string
		for _, s := range strings.Split(o.stacksList, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	}
	if o.changedFiles == "" {
		return AllStacks, nil
	}
	data, err := os.ReadFile(o.changedFiles)
	if err != nil {
		return nil, err
	}
	return mrsummary.StacksFor(strings.Fields(string(data)), AllStacks), nil
}

// previewStack runs one stack's preview with the pack and collects its events.
func previewStack(ctx context.Context, o options, name string) mrsummary.Stack {
	opts := []auto.LocalWorkspaceOption{auto.WorkDir(o.root)}
	if o.pulumi != "" {
		cmdOpts := &auto.PulumiCommandOptions{Root: filepath.Dir(filepath.Dir(o.pulumi))}
		if o.cliVersion != "" {
			v, err := semver.Parse(strings.TrimPrefix(o.cliVersion, "v"))
			if err != nil {
				return mrsummary.Stack{Name: name, Err: err.Error()}
			}
			cmdOpts.Version = v
		}
		cli, err := auto.NewPulumiCommand(cmdOpts)
		if err != nil {
			return mrsummary.Stack{Name: name, Err: err.Error()}
		}
		opts = append(opts, auto.Pulumi(cli))
	}
	if o.secretsProvider != "" {
		opts = append(opts, auto.SecretsProvider(o.secretsProvider))
	}
	st, err := auto.UpsertStackInlineSource(ctx, name, stacks.Project, stacks.Run, opts...)
	if err != nil {
		return mrsummary.Stack{Name: name, Err: err.Error()}
	}
	ch := make(chan events.EngineEvent)
	var evs []events.EngineEvent
	done := make(chan struct{})
	go func() {
		for e := range ch {
			evs = append(evs, e)
		}
		close(done)
	}()
	popts := []optpreview.Option{optpreview.PolicyPacks(o.policyPack),
		optpreview.PolicyPackConfigs(filepath.Join(o.policyConfigDir, name+".json")), optpreview.EventStreams(ch)}
	if o.drift {
		// `pulumi preview --refresh --expect-no-changes`: what AWS holds now, against the program.
		popts = append(popts, optpreview.Refresh(), optpreview.ExpectNoChanges())
	}
	_, err = st.Preview(ctx, popts...)
	<-done
	s := mrsummary.Collect(name, evs)
	if err != nil {
		s.Err = err.Error()
	}
	return s
}

// postNote posts the note to the merge request CI runs for (GitLab's
// predefined variables), with the token from tokenEnv — a masked CI/CD
// variable, never a value in the pipeline file.
func postNote(ctx context.Context, note string, env func(string) string, client *http.Client, tokenEnv string) error {
	api, project, mr, token := env("CI_API_V4_URL"), env("CI_PROJECT_ID"), env("CI_MERGE_REQUEST_IID"), env(tokenEnv)
	var missing []string
	for k, v := range map[string]string{"CI_API_V4_URL": api, "CI_PROJECT_ID": project, "CI_MERGE_REQUEST_IID": mr, tokenEnv: token} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("not in a merge request pipeline or no token: %s unset", strings.Join(missing, ", "))
	}
	body, _ := json.Marshal(map[string]string{"body": note})
	url := strings.TrimRight(api, "/") + "/projects/" + project + "/merge_requests/" + mr + "/notes"
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return errors.New(resp.Status + ": " + strings.TrimSpace(string(msg)))
	}
	return nil
}
