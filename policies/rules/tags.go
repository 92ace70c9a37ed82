package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// DefaultRequiredTags are the standard tags every taggable AWS resource carries.
var DefaultRequiredTags = []string{"Environment", "Project", "CostCenter", "ManagedBy"}

// untaggable lists AWS resource types that have no tags argument. Every other
// aws: type is treated as taggable, so a new kind of resource is checked
// until someone says here that it cannot carry tags.
var untaggable = map[string]bool{
	"aws:ec2/route:Route": true,
	"aws:ec2/routeTableAssociation:RouteTableAssociation":                                        true,
	"aws:ec2/mainRouteTableAssociation:MainRouteTableAssociation":                                true,
	"aws:ec2/securityGroupRule:SecurityGroupRule":                                                true,
	"aws:ec2/vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation":                  true,
	"aws:iam/rolePolicy:RolePolicy":                                                              true,
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment":                                          true,
	"aws:kms/alias:Alias":                                                                        true,
	"aws:s3/bucketPolicy:BucketPolicy":                                                           true,
	"aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":                                     true,
	"aws:s3/bucketVersioningV2:BucketVersioningV2":                                               true,
	"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": true,
	"aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2":                       true,
	"aws:s3/bucketReplicationConfig:BucketReplicationConfig":                                     true,
	"aws:route53/record:Record":                                                                  true,
	"aws:backup/selection:Selection":                                                             true,
}

// Taggable tells whether the tags-aws-required rule applies to a resource type.
func Taggable(typ string) bool {
	return strings.HasPrefix(typ, "aws:") && !untaggable[typ]
}

// MissingTags returns the required tags that r carries neither itself nor
// through its provider's defaultTags, and known=false when the tags are not
// known yet.
func MissingTags(r policyx.AnalyzerResource, required []string) (missing []string, known bool) {
	effective := map[string]string{}
	if dt, present, ok := object(r.Provider.Properties, "defaultTags"); !ok {
		return nil, false
	} else if present {
		tags, ok := strMap(dt, "tags")
		if !ok {
			return nil, false
		}
		for k, v := range tags {
			effective[k] = v
		}
	}
	tags, ok := strMap(r.Properties, "tags")
	if !ok {
		return nil, false
	}
	for k, v := range tags {
		effective[k] = v
	}
	for _, k := range required {
		if strings.TrimSpace(effective[k]) == "" {
			missing = append(missing, k)
		}
	}
	return missing, true
}

func checkRequiredTags(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if !Taggable(r.Type) {
		return nil
	}
	required := configStrings(args.Config, "requiredTags", DefaultRequiredTags)
	missing, known := MissingTags(r, required)
	if !known || len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	args.Manager.ReportViolation(fmt.Sprintf(
		"%s %q lacks the tag(s) %s. Set them under eduai:tags in the stack file: the program puts them on "+
			"the AWS provider's defaultTags, which reach every resource (or set them in the resource's tags).",
		r.Type, r.Name, strings.Join(missing, ", ")), "")
	return nil
}

var requiredTagsSchema = &policyx.ConfigSchema{Properties: map[string]map[string]any{
	"requiredTags": {
		"type":        "array",
		"items":       map[string]any{"type": "string"},
		"description": "Tag keys every taggable AWS resource must carry (default: " + strings.Join(DefaultRequiredTags, ", ") + ").",
	},
}}
