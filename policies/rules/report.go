package rules

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// RuleReport is one rule's line of the compliance report: over the plan's
// resources, how many it judged and passed, how many violations it found,
// how many resources it let off by exception, and how many it does not
// judge at all (not applicable). A disabled rule judges nothing.
type RuleReport struct {
	Name          string `json:"name"`
	Enforcement   string `json:"enforcement"`
	Passed        int    `json:"passed"`
	Violations    int    `json:"violations"`
	Excepted      int    `json:"excepted"`
	NotApplicable int    `json:"notApplicable"`
}

// Report builds the compliance report of every rule over the resources,
// from the violations Evaluate returned and the config that set the levels.
func Report(resources []policyx.AnalyzerResource, violations []Violation,
	config map[string]policyx.PolicyConfig) []RuleReport {
	var exceptions []Exception
	if pc, ok := config[PolicyExceptions]; !ok || pc.EnforcementLevel != policyx.EnforcementLevelDisabled {
		exceptions, _ = ParseExceptions(pc.Properties)
	}
	var out []RuleReport
	for _, r := range Rules() {
		level := r.level()
		if pc, ok := config[r.Name]; ok {
			level = pc.EnforcementLevel
		}
		line := RuleReport{Name: r.Name, Enforcement: LevelName(level)}
		if level == policyx.EnforcementLevelDisabled {
			line.NotApplicable = len(resources)
			out = append(out, line)
			continue
		}
		failed := map[string]bool{}
		for _, v := range violations {
			if v.Policy == r.Name {
				line.Violations++
				failed[v.URN] = true
			}
		}
		for _, res := range resources {
			switch {
			case !r.AppliesTo(res.Type):
				line.NotApplicable++
			case isExcepted(exceptions, r.Name, res.URN):
				line.Excepted++
			case !failed[res.URN]:
				line.Passed++
			}
		}
		out = append(out, line)
	}
	return out
}

func isExcepted(list []Exception, policy, urn string) bool {
	for _, e := range list {
		if e.Policy == policy && e.URN == urn {
			return true
		}
	}
	return false
}
