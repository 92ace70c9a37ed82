// Command preview is the offline preview: it runs the real program for a
// stack under the Pulumi SDK's mocks (no engine, no AWS account), prints the
// resource plan grouped by component and the policy pack's verdict.
//
//	go run ./cmd/preview --stack dev [--config FILE] [--policy-config FILE] [--json]
//
// Exit codes: 0 no mandatory violation, 1 a mandatory violation, 2 the config
// or the program failed (the error, naming the key path, is on stderr).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/eduai/infra/internal/preview"
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
