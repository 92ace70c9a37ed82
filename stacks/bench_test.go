package stacks_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eduai/infra/internal/preview"
	"github.com/eduai/infra/policies/rules"
	"github.com/eduai/infra/stacks"
)

// BenchmarkProgram is the whole program under the SDK's mocks, per stack
// (what every offline preview and unit test pays).
func BenchmarkProgram(b *testing.B) {
	for _, stack := range []string{"dev", "staging", "prod"} {
		b.Run(stack, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := preview.RunProgram(stack, "../Pulumi.yaml", "../Pulumi."+stack+".yaml", stacks.Run); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPolicyPack is every rule over the prod plan.
func BenchmarkPolicyPack(b *testing.B) {
	rec, _, err := preview.RunProgram("prod", "../Pulumi.yaml", "../Pulumi.prod.yaml", stacks.Run)
	if err != nil {
		b.Fatal(err)
	}
	plan := preview.AnalyzerResources(rec.Resources())
	cfg, err := rules.LoadConfig("../policies/config/prod.json", rules.Policies())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(plan)), "resources")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rules.Evaluate(context.Background(), rules.Policies(), plan, cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// servicesStack is the dev stack with n synthetic rolling services.
func servicesStack(b *testing.B, n int) string {
	b.Helper()
	var s strings.Builder
	s.WriteString("config:\n  aws:region: us-west-2\n  eduai:tags: {CostCenter: bench}\n  eduai:mesh: {enabled: false}\n  eduai:services:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&s, "    svc-%03d:\n      image: {repository: registry.gitlab.com/eduai/svc-%03d, tag: v1.0.0}\n"+
			"      connections: [database, cache]\n", i, i)
	}
	file := filepath.Join(b.TempDir(), "Pulumi.dev.yaml")
	if err := os.WriteFile(file, []byte(s.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return file
}

// BenchmarkServices is the scale series: time and allocations per service
// stay flat from 10 to 200 services (the total grows linearly).
func BenchmarkServices(b *testing.B) {
	for _, n := range []int{10, 50, 200} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			file := servicesStack(b, n)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := preview.RunProgram("dev", "../Pulumi.yaml", file, stacks.Run); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/service")
		})
	}
}
