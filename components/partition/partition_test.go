package partition

import "testing"

func TestOf(t *testing.T) {
	for region, want := range map[string]string{"us-west-2": "aws", "eu-central-1": "aws", "cn-north-1": "aws-cn",
		"cn-northwest-1": "aws-cn", "us-gov-west-1": "aws-us-gov", "us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b"} {
		if got := Of(region); got != want {
			t.Errorf("%s: %s, want %s", region, got, want)
		}
	}
	for arn, want := range map[string]string{"arn:aws-cn:route53:::hostedzone/Z1": "aws-cn",
		"arn:aws:route53:::hostedzone/Z1": "aws", "not-an-arn": "aws"} {
		if got := OfARN(arn); got != want {
			t.Errorf("%s: %s, want %s", arn, got, want)
		}
	}
	if got := ManagedPolicy("aws-us-gov", "AmazonEKS_CNI_Policy"); got != "arn:aws-us-gov:iam::aws:policy/AmazonEKS_CNI_Policy" {
		t.Errorf("ManagedPolicy: %s", got)
	}
	if got := ManagedPolicy("", "X"); got != "arn:aws:iam::aws:policy/X" {
		t.Errorf("ManagedPolicy default: %s", got)
	}
}
