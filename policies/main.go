// Command policies serves the EduAI CrossGuard policy pack to the Pulumi
// engine: `pulumi preview --policy-pack policies` (runtime: go), or a prebuilt
// binary of this package passed to --policy-pack. Only wiring lives here; the
// rules are in ./rules.
package main

import (
	"fmt"
	"os"

	"github.com/eduai/infra/policies/rules"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

func main() {
	err := policyx.Main(func(*pulumi.Context) (policyx.PolicyPack, error) { return rules.NewPack() })
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
