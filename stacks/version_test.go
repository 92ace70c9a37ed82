package stacks

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/eduai/infra/policies/rules"
)

// Issue #17: on the day the issue was filed (2026-12-04) the default
// Kubernetes version, and every shipped stack's, is in EKS standard
// support for at least the advisory rule's 90 days; 1.34 left it on
// 2026-12-02. The date is pinned so the test judges the choice, not the clock.
func TestDefaultVersionInStandardSupport(t *testing.T) {
	filed := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	check := func(where, version string) {
		end, ok := rules.StandardSupportEnds[version]
		if !ok {
			t.Errorf("%s: Kubernetes %s has no standard-support date in the pack's table", where, version)
			return
		}
		d, err := time.Parse(time.DateOnly, end)
		if err != nil || d.Before(filed.AddDate(0, 0, 90)) {
			t.Errorf("%s: Kubernetes %s leaves standard support on %s, within 90 days of %s", where, version, end,
				filed.Format(time.DateOnly))
		}
	}
	check("DefaultClusterVersion", DefaultClusterVersion)
	for _, stack := range []string{"dev", "staging", "prod"} {
		data, err := os.ReadFile("../Pulumi." + stack + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(string(data), "\n    version: \"")
		if !ok {
			t.Fatalf("%s: no cluster version", stack)
		}
		version, _, _ := strings.Cut(rest, "\"")
		check("Pulumi."+stack+".yaml", version)
	}
	// The add-ons move with the version: kube-proxy runs the cluster's minor version.
	if kp := DefaultAddons()["kube-proxy"]; !strings.HasPrefix(kp, "v"+DefaultClusterVersion+".") {
		t.Errorf("kube-proxy %s does not match Kubernetes %s", kp, DefaultClusterVersion)
	}
}
