package secure

import (
	"strings"
	"testing"
)

func TestARNParts(t *testing.T) {
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
