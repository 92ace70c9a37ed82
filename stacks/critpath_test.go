package stacks_test

import (
	"strings"
	"testing"

	"github.com/eduai/infra/internal/critpath"
	"github.com/eduai/infra/internal/mockstack"
)

// Bound is how far the modeled deploy may exceed its lower bound.
const Bound = 1.10

// A fresh `pulumi up` of each stack is bounded by what AWS and Kubernetes
// require, not by waits the program adds: modeled within 10 % of the lower bound.
func TestCriticalPathWithinBound(t *testing.T) {
	for _, stack := range []string{"dev", "staging", "prod"} {
		res := runStack(t, stack, "")
		rep := critpath.Analyze(res.Resources)
		if rep.LowerBoundSeconds == 0 || len(rep.Chain) < 3 || rep.SerialSeconds < rep.ModeledSeconds ||
			rep.ModeledSeconds < rep.LowerBoundSeconds {
			t.Fatalf("%s: implausible report %+v", stack, rep)
		}
		if float64(rep.ModeledSeconds) > Bound*float64(rep.LowerBoundSeconds) {
			t.Errorf("%s: a fresh deploy is modeled at %ds, over 110 %% of its lower bound %ds; needless waits on the chain: %v",
				stack, rep.ModeledSeconds, rep.LowerBoundSeconds, rep.Needless)
		}
	}
}

// withDependsOn records that the resource named from waits for the component named to, as pulumi.DependsOn would.
func withDependsOn(rs []*mockstack.Resource, fromType, from, to string) []*mockstack.Resource {
	var toURN string
	for _, r := range rs {
		if r.Name == to && !r.Custom {
			toURN = r.URN
		}
	}
	out := make([]*mockstack.Resource, len(rs))
	for i, r := range rs {
		c := *r
		if r.Type == fromType && r.Name == from {
			c.Dependencies = append(append([]string{}, r.Dependencies...), toURN)
		}
		out[i] = &c
	}
	return out
}

// A needless DependsOn — the cache waiting for the database — pushes prod
// over the bound, and the report names the edge.
func TestNeedlessDependsOnIsCaught(t *testing.T) {
	res := runStack(t, "prod", "")
	plan := withDependsOn(res.Resources, "aws:elasticache/replicationGroup:ReplicationGroup", "cache", "database")
	rep := critpath.Analyze(plan)
	if float64(rep.ModeledSeconds) <= Bound*float64(rep.LowerBoundSeconds) {
		t.Fatalf("the cache waiting for the database stays within the bound: %ds vs %ds", rep.ModeledSeconds, rep.LowerBoundSeconds)
	}
	named := false
	for _, e := range rep.Needless {
		named = named || (strings.Contains(e, "ReplicationGroup::cache ->") && strings.Contains(e, "eduai:data:Aurora$"))
	}
	if !named {
		t.Errorf("the report does not name the cache -> database edge: %v", rep.Needless)
	}
}
