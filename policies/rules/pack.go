// Package rules is the EduAI policy pack: each rule is a pure function over
// resources and their properties, wrapped as a policyx policy with its
// default enforcement level. The same Policies serve the pack to the Pulumi
// engine (policies/main.go) and are evaluated in-process by the offline
// preview, so both give the same verdict. The pack imports no part of the
// program: it judges whatever program it is given.
package rules

import (
	"context"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// PackName and PackVersion identify the pack in the engine's output.
const PackName = "eduai-policies"

// PackVersion is bumped with every change of a rule's behaviour.
var PackVersion = semver.MustParse("0.1.0")

// Policy names; they are the keys of policies/config/<stack>.json.
const (
	RequiredTags           = "required-tags"
	VpcFlowLogs            = "vpc-flow-logs"
	NoPublicIngress        = "no-public-ingress"
	DatabaseSubnetsPrivate = "database-subnets-private"
)

// stackPolicy wraps a stack rule that returns findings.
func stackPolicy(name, description string, level policyx.EnforcementLevel,
	check func([]policyx.AnalyzerResource) []Finding) policyx.Policy {
	return policyx.NewStackValidationPolicy(name, policyx.StackValidationPolicyArgs{
		Description:      description,
		EnforcementLevel: level,
		ValidateStack: func(_ context.Context, args policyx.StackValidationArgs) error {
			for _, f := range check(args.Resources) {
				args.Manager.ReportViolation(f.Message, f.URN)
			}
			return nil
		},
	})
}

// Policies returns every rule of the pack with its default enforcement level.
// The level in force for a stack comes from policies/config/<stack>.json.
func Policies() []policyx.Policy {
	return []policyx.Policy{
		policyx.NewResourceValidationPolicy(RequiredTags, policyx.ResourceValidationPolicyArgs{
			Description:      "Every taggable AWS resource carries the standard tags (own tags plus the provider's defaultTags).",
			EnforcementLevel: policyx.EnforcementLevelMandatory,
			ConfigSchema:     requiredTagsSchema,
			ValidateResource: func(_ context.Context, args policyx.ResourceValidationArgs) error {
				return checkRequiredTags(args)
			},
		}),
		stackPolicy(VpcFlowLogs, "Every VPC sends flow logs somewhere (CKV2_AWS_11).",
			policyx.EnforcementLevelMandatory, VpcsWithoutFlowLogs),
		stackPolicy(NoPublicIngress,
			"No security group takes ingress from 0.0.0.0/0 or ::/0, except TCP 80/443 on a load balancer's group (CKV_AWS_24, CKV_AWS_25, CKV_AWS_260).",
			policyx.EnforcementLevelMandatory, PublicIngress),
		stackPolicy(DatabaseSubnetsPrivate, "Database-tier subnets have no route to an internet gateway.",
			policyx.EnforcementLevelMandatory, DatabaseSubnetsWithInternetRoute),
	}
}

// NewPack returns the policy pack.
func NewPack() (policyx.PolicyPack, error) {
	return policyx.NewPolicyPack(PackName, PackVersion, policyx.EnforcementLevelMandatory, Policies())
}
