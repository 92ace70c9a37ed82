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
//
// Reviewed plans (README "Delivery"): with --save-plans DIR each preview
// also saves its update plan (`pulumi preview --save-plan`) as
// DIR/plan-<stack>.json, with the commit it was made from in
// DIR/plan-<stack>.commit. --deploy runs `pulumi up --plan` of one stack
// with such a plan (ci/deploy.sh): it refuses a plan made from another
// commit, and the engine refuses an update that goes beyond the plan (a
// changed program or stack). The note is posted once per merge request and
// then updated in place (it starts with mrsummary.NoteMarker).
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
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/blang/semver"
	"github.com/eduai/infra/internal/mrsummary"
	"github.com/eduai/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// AllStacks are the project's stacks.
var AllStacks = []string{"dev", "staging", "prod"}

type options struct {
	root, stacksList, changedFiles, policyPack, policyConfigDir, pulumi, cliVersion, secretsProvider, out string
	post, drift, deploy                                                                                   bool
	tokenEnv, savePlans, plan, commit, results, noteFrom                                                  string
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
	fs.StringVar(&o.savePlans, "save-plans", "", "save each preview's update plan as DIR/plan-<stack>.json (with the commit in plan-<stack>.commit)")
	fs.BoolVar(&o.deploy, "deploy", false, "run `pulumi up --plan` of the one stack in --stacks with --plan; exit 1 when refused or failed")
	fs.StringVar(&o.plan, "plan", "", "the saved plan --deploy applies (a plan-<stack>.json of --save-plans)")
	fs.StringVar(&o.commit, "commit", "", "the commit the program is built from (recorded with a saved plan, checked by --deploy)")
	fs.StringVar(&o.results, "results", "", "also write the previews' results as JSON here (for --note-from)")
	fs.StringVar(&o.noteFrom, "note-from", "", "render the note from the --results files matching this glob instead of previewing "+
		"(the merge request's preview jobs run one per stack, on each stack's runner; one job posts their note)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.noteFrom != "" {
		return noteFrom(context.Background(), o, stdout, stderr)
	}
	if o.policyPack == "" {
		fmt.Fprintln(stderr, "mrsummary: --policy-pack is required (the built pack executable)")
		return 2
	}
	if (o.savePlans != "" || o.deploy) && o.commit == "" {
		fmt.Fprintln(stderr, "mrsummary: --commit is required with --save-plans and --deploy (the plan is bound to it)")
		return 2
	}
	if o.deploy {
		return deploy(context.Background(), o, stdout, stderr)
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
		note = noStackNote
	}
	if o.results != "" {
		data, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(o.results, data, 0o644); err != nil {
			fmt.Fprintf(stderr, "mrsummary: %v\n", err)
			return 2
		}
	}
	if code := writeNote(ctx, o, note, stdout, stderr); code != 0 {
		return code
	}
	if failed {
		return 1
	}
	return 0
}

// writeNote writes the note to --out (or stdout) and posts it with --post.
func writeNote(ctx context.Context, o options, note string, stdout, stderr io.Writer) int {
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
	return 0
}

// noteFrom renders one note from the per-stack results of the preview jobs,
// in the order of AllStacks, and posts it: exit 1 when a stack's preview failed.
func noteFrom(ctx context.Context, o options, stdout, stderr io.Writer) int {
	files, err := filepath.Glob(o.noteFrom)
	if err != nil {
		fmt.Fprintf(stderr, "mrsummary: --note-from: %v\n", err)
		return 2
	}
	var results []mrsummary.Stack
	for _, f := range files {
		data, err := os.ReadFile(f)
		var some []mrsummary.Stack
		if err == nil {
			err = json.Unmarshal(data, &some)
		}
		if err != nil {
			fmt.Fprintf(stderr, "mrsummary: %s: %v\n", f, err)
			return 2
		}
		results = append(results, some...)
	}
	order := func(name string) int {
		if i := slices.Index(AllStacks, name); i >= 0 {
			return i
		}
		return len(AllStacks)
	}
	slices.SortStableFunc(results, func(a, b mrsummary.Stack) int { return order(a.Name) - order(b.Name) })
	note := mrsummary.Render(results)
	failed := false
	for _, s := range results {
		failed = failed || s.Err != ""
	}
	if len(results) == 0 {
		note = noStackNote
	}
	if code := writeNote(ctx, o, note, stdout, stderr); code != 0 {
		return code
	}
	if failed {
		return 1
	}
	return 0
}

// noStackNote is the note when the merge request touches no stack.
const noStackNote = mrsummary.NoteMarker + "\n## `pulumi preview` of this merge request\n\nNo stack is touched by this change (no Go code, stack file or policy changed).\n"

// stacks resolves which stacks to preview: --stacks (default all), of
// those the ones --changed-files touches when it is given.
func (o options) stacks() ([]string, error) {
	out := AllStacks
	if o.stacksList != "" {
		out = nil
		for _, s := range strings.Split(o.stacksList, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	if o.changedFiles == "" {
		return out, nil
	}
	data, err := os.ReadFile(o.changedFiles)
	if err != nil {
		return nil, err
	}
	return mrsummary.StacksFor(strings.Fields(string(data)), out), nil
}

// previewStack runs one stack's preview with the pack and collects its events.
func previewStack(ctx context.Context, o options, name string) mrsummary.Stack {
	st, err := workspace(ctx, o, name)
	if err != nil {
		return mrsummary.Stack{Name: name, Err: err.Error()}
	}
	ch, collected := collect()
	popts := []optpreview.Option{optpreview.PolicyPacks(o.policyPack),
		optpreview.PolicyPackConfigs(filepath.Join(o.policyConfigDir, name+".json")), optpreview.EventStreams(ch)}
	if o.savePlans != "" {
		popts = append(popts, optpreview.Plan(planFile(o.savePlans, name)))
	}
	if o.drift {
		// `pulumi preview --refresh --expect-no-changes`: what AWS holds now, against the program.
		popts = append(popts, optpreview.Refresh(), optpreview.ExpectNoChanges())
	}
	_, err = st.Preview(ctx, popts...)
	s := mrsummary.Collect(name, collected())
	if err != nil {
		s.Err = err.Error()
	} else if o.savePlans != "" {
		if werr := os.WriteFile(commitFile(planFile(o.savePlans, name)), []byte(o.commit+"\n"), 0o644); werr != nil {
			s.Err = werr.Error()
		}
	}
	return s
}

// withoutBuiltinProviderDelete copies a saved plan, leaving out one entry:
// the engine's own builtin provider (pulumi:providers:pulumi::default,
// which serves pulumi:pulumi:getResource and manages nothing in any cloud)
// planned for deletion. Every update of this program uses that provider,
// because pulumi-eks is handed a resource, and no preview does, so the
// preview plans its deletion and the engine would refuse the update
// ("resource unexpectedly not deleted"; README "The test doubles"). Without
// the entry the engine allows it to stay. Every resource of the program keeps
// its planned steps.
func withoutBuiltinProviderDelete(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	var plan map[string]json.RawMessage
	if err := json.Unmarshal(data, &plan); err != nil {
		return "", fmt.Errorf("not a saved plan: %w", err)
	}
	var resources map[string]struct {
		Steps []string `json:"steps"`
	}
	if raw, ok := plan["resourcePlans"]; ok {
		if err := json.Unmarshal(raw, &resources); err != nil {
			return "", fmt.Errorf("not a saved plan: %w", err)
		}
		var all map[string]json.RawMessage
		_ = json.Unmarshal(raw, &all)
		for urn, r := range resources {
			if strings.HasSuffix(urn, "::pulumi:providers:pulumi::default") && slices.Equal(r.Steps, []string{"delete"}) {
				delete(all, urn)
			}
		}
		if plan["resourcePlans"], err = json.Marshal(all); err != nil {
			return "", err
		}
	}
	out, err := os.CreateTemp("", "plan-*.json")
	if err != nil {
		return "", err
	}
	defer out.Close()
	data, err = json.Marshal(plan)
	if err != nil {
		return "", err
	}
	_, err = out.Write(data)
	return out.Name(), err
}

// collect gathers an operation's engine events: pass ch to the operation's
// EventStreams; collected, called once the operation returned (the
// Automation API closes ch then), waits for the last event and returns them.
func collect() (ch chan events.EngineEvent, collected func() []events.EngineEvent) {
	ch = make(chan events.EngineEvent)
	var evs []events.EngineEvent
	done := make(chan struct{})
	go func() {
		for e := range ch {
			evs = append(evs, e)
		}
		close(done)
	}()
	return ch, func() []events.EngineEvent { <-done; return evs }
}

// planFile is where --save-plans keeps a stack's plan.
func planFile(dir, stack string) string { return filepath.Join(dir, "plan-"+stack+".json") }

// commitFile records the commit a plan was made from, beside it.
func commitFile(plan string) string { return strings.TrimSuffix(plan, ".json") + ".commit" }

// workspace opens (or creates) a stack with the program inline, the CLI of --pulumi.
func workspace(ctx context.Context, o options, name string) (auto.Stack, error) {
	opts := []auto.LocalWorkspaceOption{auto.WorkDir(o.root)}
	if o.pulumi != "" {
		cmdOpts := &auto.PulumiCommandOptions{Root: filepath.Dir(filepath.Dir(o.pulumi))}
		if o.cliVersion != "" {
			v, err := semver.Parse(strings.TrimPrefix(o.cliVersion, "v"))
			if err != nil {
				return auto.Stack{}, err
			}
			cmdOpts.Version = v
		}
		cli, err := auto.NewPulumiCommand(cmdOpts)
		if err != nil {
			return auto.Stack{}, err
		}
		opts = append(opts, auto.Pulumi(cli))
	}
	if o.secretsProvider != "" {
		opts = append(opts, auto.SecretsProvider(o.secretsProvider))
	}
	return auto.UpsertStackInlineSource(ctx, name, stacks.Project, stacks.Run, opts...)
}

// deploy runs `pulumi up --plan` of one stack with the pack: the manual
// deploy jobs (ci/deploy.sh). A plan from another commit is refused before
// anything runs; the engine refuses an update the plan does not allow.
func deploy(ctx context.Context, o options, stdout, stderr io.Writer) int {
	names, err := o.stacks()
	if err != nil || len(names) != 1 || o.plan == "" {
		fmt.Fprintln(stderr, "mrsummary: --deploy needs one stack in --stacks and its --plan")
		return 2
	}
	name := names[0]
	recorded, err := os.ReadFile(commitFile(o.plan))
	if err != nil {
		fmt.Fprintf(stderr, "mrsummary: %s has no record of the commit it was made from (%v): make the plan again with --save-plans\n", o.plan, err)
		return 1
	}
	if got := strings.TrimSpace(string(recorded)); got != o.commit {
		fmt.Fprintf(stderr, "mrsummary: refusing the plan of %s: it was made from commit %s, this is %s; "+
			"review and save the plan of this commit (the plan job) first\n", name, got, o.commit)
		return 1
	}
	st, err := workspace(ctx, o, name)
	if err != nil {
		fmt.Fprintf(stderr, "mrsummary: %s: %v\n", name, err)
		return 1
	}
	ch, collected := collect()
	plan, err := withoutBuiltinProviderDelete(o.plan)
	if err != nil {
		fmt.Fprintf(stderr, "mrsummary: %s: %v\n", o.plan, err)
		return 1
	}
	defer func() { _ = os.Remove(plan) }()
	_, err = st.Up(ctx, optup.Plan(plan), optup.PolicyPacks(o.policyPack),
		optup.PolicyPackConfigs(filepath.Join(o.policyConfigDir, name+".json")), optup.EventStreams(ch),
		optup.ProgressStreams(stderr))
	s := mrsummary.Collect(name, collected())
	if err != nil {
		s.Err = err.Error()
	}
	report := mrsummary.RenderDeploy(s)
	if o.out == "" {
		fmt.Fprint(stdout, report)
	} else if werr := os.WriteFile(o.out, []byte(report), 0o644); werr != nil {
		fmt.Fprintf(stderr, "mrsummary: %v\n", werr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "mrsummary: %s: the update was refused or failed: %s\n", name, mrsummary.PlanRefusal(err.Error()))
		return 1
	}
	return 0
}

// postNote posts the note to the merge request CI runs for (GitLab's
// predefined variables), with the token from tokenEnv — a masked CI/CD
// variable, never a value in the pipeline file. A note of an earlier
// pipeline (it starts with mrsummary.NoteMarker) is updated in place, so the
// merge request keeps one note that always shows the newest preview.
func postNote(ctx context.Context, note string, env func(string) string, client *http.Client, tokenEnv string) error {
	api, project, mr, token := env("CI_API_V4_URL"), env("CI_PROJECT_ID"), env("CI_MERGE_REQUEST_IID"), env(tokenEnv)
	var missing []string
	for k, v := range map[string]string{"CI_API_V4_URL": api, "CI_PROJECT_ID": project, "CI_MERGE_REQUEST_IID": mr, tokenEnv: token} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("not in a merge request pipeline or no token: %s unset", strings.Join(missing, ", "))
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	notes := strings.TrimRight(api, "/") + "/projects/" + project + "/merge_requests/" + mr + "/notes"
	call := func(method, url string, in, out any) error {
		var body io.Reader
		if in != nil {
			b, _ := json.Marshal(in)
			body = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, url, body)
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
			return errors.New(method + " " + url + ": " + resp.Status + ": " + strings.TrimSpace(string(msg)))
		}
		if out != nil {
			return json.NewDecoder(resp.Body).Decode(out)
		}
		return nil
	}
	// The existing note, if any: GitLab pages the list (per_page at most 100).
	for page := 1; page <= 50; page++ {
		var list []struct {
			ID   int64  `json:"id"`
			Body string `json:"body"`
		}
		if err := call(http.MethodGet, fmt.Sprintf("%s?sort=asc&order_by=created_at&per_page=100&page=%d", notes, page), nil, &list); err != nil {
			return err
		}
		for _, n := range list {
			if strings.HasPrefix(n.Body, mrsummary.NoteMarker) {
				return call(http.MethodPut, fmt.Sprintf("%s/%d", notes, n.ID), map[string]string{"body": note}, nil)
			}
		}
		if len(list) < 100 {
			break
		}
	}
	return call(http.MethodPost, notes, map[string]string{"body": note}, nil)
}
