// Package preview runs the real program for one stack without the Pulumi
// engine or AWS: the stack file is fed to the program the way the engine
// feeds it (PULUMI_CONFIG), the SDK's mock monitor stands in for the engine
// and records every resource, and the policy pack is evaluated in-process on
// the recorded resources with the stack's enforcement config.
package preview

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/eduai/infra/internal/critpath"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/eduai/infra/internal/stackfile"
	"github.com/eduai/infra/policies/rules"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// Options selects the stack and the files.
type Options struct {
	// Root is the project directory (where Pulumi.yaml is). Default ".".
	Root string
	// Stack is the stack name (dev, staging, prod, …). Required.
	Stack string
	// ConfigFile replaces Pulumi.<stack>.yaml (for example a test fixture).
	ConfigFile string
	// PolicyConfigFile replaces policies/config/<stack>.json.
	PolicyConfigFile string
	// CriticalPath adds the deploy critical-path report (internal/critpath).
	CriticalPath bool
}

// Output is one stack output as the program exported it.
type Output struct {
	Value  any
	Known  bool
	Secret bool
}

// Result is the plan and its verdict.
type Result struct {
	Stack      string
	Project    string
	Resources  []*mockstack.Resource
	Outputs    map[string]Output
	Violations []rules.Violation
	// Rules is the compliance report: every rule's passed / violations / excepted / not applicable counts.
	Rules []rules.RuleReport
	// Exceptions are the resources let off a rule by the policy config, with the reasons.
	Exceptions []rules.Exception
	// CriticalPath is the deploy critical-path report, when asked for.
	CriticalPath *critpath.Report
	// PolicyConfig is the policy config file that was applied.
	PolicyConfig string
	// Analyzed is what the pack judged (rules.WritePlan records it).
	Analyzed []policyx.AnalyzerResource
}

// Mandatory counts the mandatory violations.
func (r *Result) Mandatory() int { m, _ := rules.Count(r.Violations); return m }

// Advisory counts the advisory violations.
func (r *Result) Advisory() int { _, a := rules.Count(r.Violations); return a }

// ProgramError is a failure of the config or the program (exit 2).
type ProgramError struct{ Err error }

func (e *ProgramError) Error() string { return e.Err.Error() }
func (e *ProgramError) Unwrap() error { return e.Err }

// envMu serialises runs: the config travels in process environment variables,
// as it does from the Go language host.
var envMu sync.Mutex

// Run runs program for the stack and evaluates the policy pack on its resources.
// A config or program failure is a *ProgramError, and no policy runs.
func Run(ctx context.Context, opts Options, program pulumi.RunFunc) (*Result, error) {
	if opts.Stack == "" {
		return nil, &ProgramError{errors.New("no stack given (--stack dev|staging|prod)")}
	}
	root := opts.Root
	if root == "" {
		root = "."
	}
	cfgFile := opts.ConfigFile
	if cfgFile == "" {
		cfgFile = filepath.Join(root, "Pulumi."+opts.Stack+".yaml")
	}
	policyFile := opts.PolicyConfigFile
	if policyFile == "" {
		policyFile = filepath.Join(root, "policies", "config", opts.Stack+".json")
	}
	if _, err := os.Stat(cfgFile); err != nil {
		return nil, &ProgramError{fmt.Errorf("stack file: %w", err)}
	}
	policies := rules.Policies()
	policyConfig, err := rules.LoadConfig(policyFile, policies)
	if err != nil {
		return nil, &ProgramError{err}
	}

	rec, outputs, err := RunProgram(opts.Stack, filepath.Join(root, "Pulumi.yaml"), cfgFile, program)
	if err != nil {
		return nil, &ProgramError{err}
	}
	// Registration order depends on goroutine scheduling; URN order does not.
	resources := rec.Resources()
	sort.Slice(resources, func(i, j int) bool { return resources[i].URN < resources[j].URN })
	res := &Result{Stack: opts.Stack, Project: rec.Project, Resources: resources, Outputs: outputs,
		PolicyConfig: policyFile}
	analyzed := AnalyzerResources(res.Resources)
	res.Analyzed = analyzed
	res.Violations, err = rules.Evaluate(ctx, policies, analyzed, policyConfig)
	if err != nil {
		return nil, fmt.Errorf("policy pack failed: %w", err)
	}
	res.Rules = rules.Report(analyzed, res.Violations, policyConfig)
	if opts.CriticalPath {
		rep := critpath.Analyze(res.Resources)
		res.CriticalPath = &rep
	}
	res.Exceptions, _ = rules.ParseExceptions(policyConfig[rules.PolicyExceptions].Properties)
	return res, nil
}

// RunProgram runs program under the recorder with the stack file's config and
// returns the records and the awaited stack outputs.
func RunProgram(stack, projectFile, stackFile string, program pulumi.RunFunc) (*mockstack.Recorder, map[string]Output, error) {
	cfg, err := stackfile.Load(projectFile, stackFile)
	if err != nil {
		return nil, nil, err
	}
	config, secretKeys := cfg.EnvJSON()

	envMu.Lock()
	defer envMu.Unlock()
	restore := setEnv(map[string]string{
		pulumi.EnvConfig:           config,
		pulumi.EnvConfigSecretKeys: secretKeys,
		pulumi.EnvDryRun:           "false",
		stackfile.PathEnv:          stackFile,
	})
	defer restore()

	rec := mockstack.New(cfg.Project, stack)
	outputs := map[string]Output{}
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		if err := program(ctx); err != nil {
			return err
		}
		for name, in := range ctx.GetCurrentExportMap() {
			r, err := internals.UnsafeAwaitOutput(ctx.Context(), pulumi.ToOutput(in))
			if err != nil {
				return fmt.Errorf("output %s: %w", name, err)
			}
			outputs[name] = Output{Value: r.Value, Known: r.Known, Secret: r.Secret}
		}
		return nil
	}, rec.RunOption())
	if err != nil {
		return rec, nil, err
	}
	if err := Verify(rec.Resources()); err != nil {
		return rec, nil, err
	}
	return rec, outputs, nil
}

// PlanError lists what AWS, the providers or Kubernetes would refuse in a
// plan: inputs the provider's Check refuses, and resources that address
// another (by name, id, namespace, CRD) without waiting for it.
type PlanError struct {
	Refused []string
	Missing []string
}

func (e *PlanError) Error() string {
	var b strings.Builder
	if len(e.Refused) > 0 {
		fmt.Fprintf(&b, "%d input(s) the provider would refuse:\n  %s", len(e.Refused), strings.Join(e.Refused, "\n  "))
	}
	if len(e.Missing) > 0 {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%d missing dependency edge(s) (README \"The test doubles\"):\n  %s", len(e.Missing),
			strings.Join(e.Missing, "\n  "))
	}
	return b.String()
}

// Verify checks a recorded plan the way a first `pulumi up` would meet it:
// the provider schema's Check on every input (internal/providercheck), and
// the reference analysis (internal/critpath: every reference has a
// dependency path to its referent). Nil when both hold.
func Verify(records []*mockstack.Resource) error {
	e := &PlanError{Refused: mockstack.Refusals(records), Missing: critpath.Analyze(records).Missing}
	if len(e.Refused) == 0 && len(e.Missing) == 0 {
		return nil
	}
	return e
}

func setEnv(vars map[string]string) (restore func()) {
	old := map[string]*string{}
	for k, v := range vars {
		if prev, ok := os.LookupEnv(k); ok {
			old[k] = &prev
		} else {
			old[k] = nil
		}
		_ = os.Setenv(k, v) // fails only for an invalid name; ours are constants
	}
	return func() {
		for k, v := range old {
			if v == nil {
				_ = os.Unsetenv(k)
			} else {
				_ = os.Setenv(k, *v)
			}
		}
	}
}

// AnalyzerResources turns records into what the policy pack sees from the
// engine: properties are the applied state, providers carry their inputs.
func AnalyzerResources(records []*mockstack.Resource) []policyx.AnalyzerResource {
	providers := map[string]*mockstack.Resource{}
	for _, r := range records {
		if r.IsProvider() {
			providers[r.URN] = r
		}
	}
	out := make([]policyx.AnalyzerResource, 0, len(records))
	for _, r := range records {
		ar := policyx.AnalyzerResource{
			Type:                 r.Type,
			Properties:           resource.FromResourcePropertyMap(r.State),
			URN:                  r.URN,
			Name:                 r.Name,
			Parent:               r.Parent,
			Dependencies:         r.Dependencies,
			PropertyDependencies: r.PropertyDependencies,
			Options:              pulumi.ResourceOptions{Protect: r.Protect},
		}
		if p := providers[r.Provider]; p != nil {
			ar.Provider = policyx.AnalyzerProviderResource{
				Type:       p.Type,
				Properties: resource.FromResourcePropertyMap(p.Inputs),
				URN:        p.URN,
				Name:       p.Name,
			}
		}
		out = append(out, ar)
	}
	return out
}

// TypeCounts returns the number of resources of each type, sorted by type.
func (r *Result) TypeCounts() []TypeCount {
	counts := map[string]int{}
	for _, res := range r.Resources {
		counts[res.Type]++
	}
	out := make([]TypeCount, 0, len(counts))
	for t, n := range counts {
		out = append(out, TypeCount{Type: t, Count: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

// TypeCount is one line of the per-type summary.
type TypeCount struct {
	Type  string
	Count int
}
