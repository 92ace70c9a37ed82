// Command eduai is the Pulumi program of the EduAI platform; see README.md.
package main

import (
	"github.com/eduai/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() { pulumi.Run(stacks.Run) }
