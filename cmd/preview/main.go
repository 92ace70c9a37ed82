// Command preview is the offline preview: it runs the real program for a
// stack under the Pulumi SDK's mocks (no engine, no AWS account), prints the
// resource plan grouped by component and the policy pack's verdict.
//
//	go run ./cmd/preview --stack dev [--config FILE] [--policy-config FILE] [--json] [--record-plan FILE]
//
// Exit codes: 0 no mandatory violation, 1 a mandatory violation, 2 the config
// or the program failed (the error, naming the key path, is on stderr).
package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"

	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/eduai/infra/internal/critpath"

	"github.com/eduai/infra/internal/preview"
	"github.com/eduai/infra/policies/rules"
	"github.com/eduai/infra/stacks"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("preview", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts preview.Options
	var asJSON bool
	fs.StringVar(&opts.Stack, "stack", "", "stack to preview: dev, staging or prod (required)")
	fs.StringVar(&opts.ConfigFile, "config", "", "stack file to read instead of Pulumi.<stack>.yaml")
	fs.StringVar(&opts.PolicyConfigFile, "policy-config", "", "policy enforcement file instead of policies/config/<stack>.json")
	fs.StringVar(&opts.Root, "root", ".", "project directory (where Pulumi.yaml is)")
	fs.BoolVar(&asJSON, "json", false, "print one JSON document instead of the text plan")
	fs.BoolVar(&opts.CriticalPath, "critical-path", false, "add the deploy critical-path report (modeled time, bounding chain, lower bound)")
	var planFile string
	fs.StringVar(&planFile, "record-plan", "", "write what the policy pack judged as a recorded plan to this file "+
		"(policies/testdata/prod-plan.json is the prod stack's; the mutation suite runs on it)")
	var graphFile string
	fs.StringVar(&graphFile, "graph", "", "write the dependency graph as DOT to this file (and SVG next to it when Graphviz dot is installed)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if opts.Stack == "" {
		fmt.Fprintln(stderr, "error: --stack is required (dev, staging or prod)")
		return 2
	}

	res, err := preview.Run(context.Background(), opts, stacks.Run)
	if err != nil {
		var pe *preview.ProgramError
		if errors.As(err, &pe) {
			fmt.Fprintf(stderr, "error: stack %s: %v\n", opts.Stack, err)
		} else {
			fmt.Fprintf(stderr, "error: %v\n", err)
		}
		return 2
	}
	if graphFile != "" {
		if err := writeGraph(res, graphFile, stderr); err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return 2
		}
	}
	if planFile != "" {
		if err := recordPlan(res, planFile); err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return 2
		}
	}
	if asJSON {
		if err := res.WriteJSON(stdout); err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return 2
		}
	} else {
		res.WriteText(stdout)
	}
	if res.Mandatory() > 0 {
		return 1
	}
	return 0
}

// writeGraph writes the plan's DOT graph and, when Graphviz is installed,
// renders it to SVG next to it.
func writeGraph(res *preview.Result, file string, stderr io.Writer) error {
	rep := res.CriticalPath
	if rep == nil {
		r := critpath.Analyze(res.Resources)
		rep = &r
	}
	if err := os.WriteFile(file, []byte(critpath.DOT(res.Resources, *rep)), 0o644); err != nil {
		return err
	}
	dot, err := exec.LookPath("dot")
	if err != nil {
		fmt.Fprintf(stderr, "graph: wrote %s (install Graphviz, Debian package graphviz, for SVG)\n", file)
		return nil
	}
	svg := strings.TrimSuffix(file, filepath.Ext(file)) + ".svg"
	if out, err := exec.Command(dot, "-Tsvg", "-o", svg, file).CombinedOutput(); err != nil {
		return fmt.Errorf("dot: %v: %s", err, out)
	}
	fmt.Fprintf(stderr, "graph: wrote %s and %s\n", file, svg)
	return nil
}

// recordPlan writes the resources the pack judged to file (rules.WritePlan).
func recordPlan(res *preview.Result, file string) error {
	var buf bytes.Buffer
	if err := rules.WritePlan(&buf, res.Analyzed); err != nil {
		return fmt.Errorf("record plan: %w", err)
	}
	return os.WriteFile(file, buf.Bytes(), 0o644)
}
