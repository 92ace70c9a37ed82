package secure

import (
	"strings"
	"testing"
)

func TestPartition(t *testing.T) {
	for region, want := range map[string]string{"us-west-2": "aws", "eu-central-1": "aws", "cn-north-1": "aws-cn",
		"cn-northwest-1": "aws-cn", "us-gov-west-1": "aws-us-gov", "us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b"} {
		if got := Partition(region); got != want {
			t.Errorf("%s: %s, want %s", region, got, want)
		}
	}
	p, r, a := ARNParts("arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/k")
	if p != "aws-us-gov" || r != "us-gov-west-1" || a != "123456789012" {
		t.Errorf("ARNParts: %s %s %s", p, r, a)
	}
}

// A log group's key policy names the account and the log groups in the
// partition of the ARN it is built from (issue #21).
func TestLogsKeyPolicyPartition(t *testing.T) {
	p, r, a := ARNParts("arn:aws-us-gov:ec2:us-gov-west-1:123456789012:vpc/vpc-1")
	doc := logsKeyPolicy(p, r, a)
	for _, want := range []string{`"arn:aws-us-gov:iam::123456789012:root"`,
		`"arn:aws-us-gov:logs:us-gov-west-1:123456789012:log-group:*"`} {
		if !strings.Contains(doc, want) {
			t.Errorf("policy lacks %s: %s", want, doc)
		}
	}
	if strings.Contains(doc, "arn:aws:") {
		t.Errorf("policy names the aws partition: %s", doc)
	}
}

func TestPartitionOfARN(t *testing.T) {
	for arn, want := range map[string]string{"arn:aws-cn:route53:::hostedzone/Z1": "aws-cn",
		"arn:aws:route53:::hostedzone/Z1": "aws", "not-an-arn": "aws"} {
		if got := PartitionOfARN(arn); got != want {
			t.Errorf("%s: %s, want %s", arn, got, want)
		}
	}
}
