package rules

import (
	"context"
	"fmt"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// Exception lets one resource off one rule, for a written reason. Exceptions
// live in the policy config (policies/config/<stack>.json) under
// "policy-exceptions": {"exceptions": [{"policy", "urn", "reason"}]}, never
// in code. URNs name the stack, so one list can serve every stack.
type Exception struct {
	Policy string `json:"policy"`
	URN    string `json:"urn"`
	Reason string `json:"reason"`
}

// The exceptions in force. policyx v3.274.1 hands config to resource
// policies only, so the policy-exceptions policy (a resource policy that
// judges nothing) records its config on every call, and every rule — stack
// rules included, which the engine runs after all resources — reads it here.
var active struct {
	sync.Mutex
	list []Exception
}

func setExceptions(list []Exception) {
	active.Lock()
	defer active.Unlock()
	active.list = list
}

// excepted tells whether policy is waived for urn.
func excepted(policy, urn string) bool {
	active.Lock()
	defer active.Unlock()
	for _, e := range active.list {
		if e.Policy == policy && e.URN == urn {
			return true
		}
	}
	return false
}

// ParseExceptions reads the exceptions of a policy-exceptions config; each
// needs a known policy, a URN and a reason.
func ParseExceptions(cfg map[string]any) ([]Exception, error) {
	raw, ok := cfg["exceptions"]
	if !ok || raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%s.exceptions: a list of {policy, urn, reason}", PolicyExceptions)
	}
	known := map[string]bool{}
	for _, r := range Rules() {
		known[r.Name] = true
	}
	var out []Exception
	for i, item := range list {
		m, _ := item.(map[string]any)
		e := Exception{}
		e.Policy, _ = m["policy"].(string)
		e.URN, _ = m["urn"].(string)
		e.Reason, _ = m["reason"].(string)
		switch {
		case !known[e.Policy]:
			return nil, fmt.Errorf("%s.exceptions[%d]: %q is not a policy of the pack", PolicyExceptions, i, e.Policy)
		case e.URN == "":
			return nil, fmt.Errorf("%s.exceptions[%d]: urn is required", PolicyExceptions, i)
		case e.Reason == "":
			return nil, fmt.Errorf("%s.exceptions[%d]: %s on %s needs a reason", PolicyExceptions, i, e.Policy, e.URN)
		}
		out = append(out, e)
	}
	return out, nil
}

// exceptionsPolicy is the policy whose config carries the exceptions.
func exceptionsPolicy() policyx.Policy {
	return policyx.NewResourceValidationPolicy(PolicyExceptions, policyx.ResourceValidationPolicyArgs{
		Description:      "Carries the exceptions by URN, each with its reason; judges nothing.",
		EnforcementLevel: policyx.EnforcementLevelAdvisory,
		ConfigSchema: &policyx.ConfigSchema{Properties: map[string]map[string]any{"exceptions": {
			"type": "array", "description": "Resources let off a rule: {policy, urn, reason}.",
			"items": map[string]any{"type": "object", "required": []any{"policy", "urn", "reason"},
				"properties": map[string]any{"policy": map[string]any{"type": "string"},
					"urn": map[string]any{"type": "string"}, "reason": map[string]any{"type": "string", "minLength": 1}}},
		}}},
		ValidateResource: func(_ context.Context, args policyx.ResourceValidationArgs) error {
			list, err := ParseExceptions(args.Config)
			if err != nil {
				return err
			}
			setExceptions(list)
			return nil
		},
	})
}
