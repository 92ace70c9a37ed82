package rules

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// Violation is one reported policy violation with the level in force.
type Violation struct {
	Policy      string `json:"policy"`
	Enforcement string `json:"enforcement"`
	URN         string `json:"urn"`
	Message     string `json:"message"`
}

// LevelName renders an enforcement level as the engine's config files spell it.
func LevelName(l policyx.EnforcementLevel) string {
	switch l {
	case policyx.EnforcementLevelAdvisory:
		return "advisory"
	case policyx.EnforcementLevelMandatory:
		return "mandatory"
	case policyx.EnforcementLevelDisabled:
		return "disabled"
	case policyx.EnforcementLevelRemediate:
		return "remediate"
	}
	return fmt.Sprintf("level(%d)", l)
}

func parseLevel(s string) (policyx.EnforcementLevel, error) {
	switch s {
	case "advisory":
		return policyx.EnforcementLevelAdvisory, nil
	case "mandatory":
		return policyx.EnforcementLevelMandatory, nil
	case "disabled":
		return policyx.EnforcementLevelDisabled, nil
	}
	return 0, fmt.Errorf("enforcement level %q is not one of advisory, mandatory, disabled", s)
}

// ParseConfig reads a policy config document in the format of
// `pulumi preview --policy-pack-config`: policy name -> level, or policy name ->
// {"enforcementLevel": level, <properties>}; the key "all" sets every policy's
// level first. Unknown policy names are errors, as they are for the engine.
func ParseConfig(data []byte, policies []policyx.Policy) (map[string]policyx.PolicyConfig, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("policy config: %w", err)
	}
	known := map[string]policyx.Policy{}
	for _, p := range policies {
		known[p.Name()] = p
	}
	out := map[string]policyx.PolicyConfig{}
	parse := func(name string, msg json.RawMessage) (policyx.PolicyConfig, error) {
		var level string
		if json.Unmarshal(msg, &level) == nil {
			l, err := parseLevel(level)
			return policyx.PolicyConfig{EnforcementLevel: l}, err
		}
		var obj map[string]any
		if err := json.Unmarshal(msg, &obj); err != nil {
			return policyx.PolicyConfig{}, fmt.Errorf("policy config %q: must be a level or an object", name)
		}
		pc := policyx.PolicyConfig{EnforcementLevel: known[name].EnforcementLevel(), Properties: map[string]any{}}
		for k, v := range obj {
			if k == "enforcementLevel" {
				s, _ := v.(string)
				l, err := parseLevel(s)
				if err != nil {
					return pc, fmt.Errorf("policy config %q: %w", name, err)
				}
				pc.EnforcementLevel = l
				continue
			}
			pc.Properties[k] = v
		}
		return pc, nil
	}
	if msg, ok := raw["all"]; ok {
		var level string
		if err := json.Unmarshal(msg, &level); err != nil {
			return nil, fmt.Errorf(`policy config "all": must be a level`)
		}
		l, err := parseLevel(level)
		if err != nil {
			return nil, fmt.Errorf(`policy config "all": %w`, err)
		}
		for name := range known {
			out[name] = policyx.PolicyConfig{EnforcementLevel: l}
		}
	}
	for name, msg := range raw {
		if name == "all" {
			continue
		}
		if _, ok := known[name]; !ok {
			return nil, fmt.Errorf("policy config names %q, which is not a policy of the pack", name)
		}
		pc, err := parse(name, msg)
		if err != nil {
			return nil, err
		}
		out[name] = pc
	}
	if _, err := ParseExceptions(out[PolicyExceptions].Properties); err != nil {
		return nil, fmt.Errorf("policy config: %w", err)
	}
	return out, nil
}

// LoadConfig reads a policy config file (policies/config/<stack>.json).
func LoadConfig(path string, policies []policyx.Policy) (map[string]policyx.PolicyConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := ParseConfig(data, policies)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

type manager struct{ report func(message, urn string) }

func (m manager) ReportViolation(message, urn string) { m.report(message, urn) }

// Evaluate runs the policies over the resources the way the engine's analyzer
// does: each resource policy once per resource, each stack policy once over
// all of them, at the level the config sets (or the policy's own). Disabled
// policies do not run. Violations come back sorted by policy and URN.
func Evaluate(ctx context.Context, policies []policyx.Policy, resources []policyx.AnalyzerResource,
	config map[string]policyx.PolicyConfig) ([]Violation, error) {
	var out []Violation
	// Offline, the exceptions are in force from the start (the engine records
	// them as soon as it analyzes the first resource), unless the carrier is off.
	if pc, ok := config[PolicyExceptions]; !ok || pc.EnforcementLevel != policyx.EnforcementLevelDisabled {
		list, err := ParseExceptions(pc.Properties)
		if err != nil {
			return nil, err
		}
		setExceptions(list)
	} else {
		setExceptions(nil)
	}
	for _, p := range policies {
		level := p.EnforcementLevel()
		pc, has := config[p.Name()]
		if has {
			level = pc.EnforcementLevel
		}
		if level == policyx.EnforcementLevelDisabled {
			continue
		}
		collect := func(defaultURN string) manager {
			return manager{report: func(message, urn string) {
				if urn == "" {
					urn = defaultURN
				}
				out = append(out, Violation{Policy: p.Name(), Enforcement: LevelName(level), URN: urn, Message: message})
			}}
		}
		switch p := p.(type) {
		case policyx.ResourceValidationPolicy:
			for _, r := range resources {
				err := p.Validate(ctx, policyx.ResourceValidationArgs{Manager: collect(r.URN), Resource: r, Config: pc.Properties})
				if err != nil {
					return nil, fmt.Errorf("policy %s on %s: %w", p.Name(), r.URN, err)
				}
			}
		case policyx.StackValidationPolicy:
			if err := p.Validate(ctx, policyx.StackValidationArgs{Manager: collect(""), Resources: resources}); err != nil {
				return nil, fmt.Errorf("policy %s: %w", p.Name(), err)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Policy != out[j].Policy {
			return out[i].Policy < out[j].Policy
		}
		return out[i].URN < out[j].URN
	})
	return out, nil
}

// Count returns the number of mandatory and advisory violations.
func Count(vs []Violation) (mandatory, advisory int) {
	for _, v := range vs {
		switch v.Enforcement {
		case "mandatory":
			mandatory++
		case "advisory":
			advisory++
		}
	}
	return mandatory, advisory
}
