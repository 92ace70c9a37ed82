// Package partition names AWS resources in the partition of the region the
// stack runs in (issue #21): aws, aws-cn (China), aws-us-gov (GovCloud),
// aws-iso and aws-iso-b. An ARN written as "arn:aws:…" is refused by IAM in
// the other partitions (AWS General Reference, "Amazon Resource Names").
// The program uses no invokes (offline runs answer none), so the partition
// comes from the region in the config, not from aws.GetPartition.
package partition

import (
	"regexp"
	"strings"
)

// Default is the commercial partition.
const Default = "aws"

// Of is the partition of a region.
func Of(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	}
	return Default
}

// OfARN is an ARN's partition, also for ARNs that name no region or account
// (a Route 53 zone's); Default when it is not an ARN.
func OfARN(arn string) string {
	if parts := strings.SplitN(arn, ":", 3); len(parts) == 3 && parts[0] == "arn" && strings.HasPrefix(parts[1], "aws") {
		return parts[1]
	}
	return Default
}

// Or is p, or Default when p is empty (a component's Partition left unset).
func Or(p string) string {
	if p == "" {
		return Default
	}
	return p
}

// ManagedPolicy is the ARN of an AWS managed policy ("service-role/AmazonRDSEnhancedMonitoringRole").
func ManagedPolicy(p, path string) string { return "arn:" + Or(p) + ":iam::aws:policy/" + path }

var roleARNPattern = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$`)

// ValidRoleARN tells whether s is an IAM role ARN (in any partition).
func ValidRoleARN(s string) bool { return roleARNPattern.MatchString(s) }
