//go:build tools

// This file pins the platform's Pulumi packages that no component imports
// yet (pulumi-eks, pulumi-kubernetes, pulumi-random arrive with issues #4-#7),
// so that `go mod tidy` keeps their exact versions in go.mod. The build tag
// keeps them out of every build.
package main

import (
	_ "github.com/pulumi/pulumi-eks/sdk/v2/go/eks"
	_ "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	_ "github.com/pulumi/pulumi-random/sdk/v4/go/random"
)
