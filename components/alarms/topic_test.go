package alarms

import (
	"strings"
	"testing"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func run(t *testing.T, args TopicArgs) (*mockstack.Recorder, error) {
	t.Helper()
	return mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		_, err := NewTopic(ctx, "dr-alarms", args)
		return err
	})
}

func TestTopic(t *testing.T) {
	rec, err := run(t, TopicArgs{Name: "eduai-prod-dr-alarms", Emails: []string{"oncall@eduai.com"},
		AccountARN: pulumi.String("arn:aws:rds:us-west-2:123456789012:cluster:eduai-prod")})
	if err != nil {
		t.Fatal(err)
	}
	key, topic := rec.Named("aws:kms/key:Key", "dr-alarms"), rec.Named("aws:sns/topic:Topic", "dr-alarms")
	if !topic.DependsOnURN("kmsMasterKeyId", key.URN) || !key.Inputs["enableKeyRotation"].BoolValue() {
		t.Errorf("topic %v key %v", topic.Inputs, key.Inputs)
	}
	for _, want := range []string{`"arn:aws:iam::123456789012:root"`, `"Service":"cloudwatch.amazonaws.com"`,
		`"aws:SourceAccount":"123456789012"`} {
		if !strings.Contains(key.String("policy"), want) {
			t.Errorf("key policy lacks %s: %s", want, key.String("policy"))
		}
	}
	policy := rec.Named("aws:sns/topicPolicy:TopicPolicy", "dr-alarms").String("policy")
	if !strings.Contains(policy, `"sns:Publish"`) || !strings.Contains(policy, `"aws:SourceAccount":"123456789012"`) {
		t.Errorf("topic policy %s", policy)
	}
	sub := rec.Named("aws:sns/topicSubscription:TopicSubscription", "dr-alarms-email-1")
	if sub == nil || sub.String("endpoint") != "oncall@eduai.com" || sub.String("protocol") != "email" {
		t.Errorf("subscription %v", sub)
	}
}

func TestBadTopic(t *testing.T) {
	if AccountID("arn:aws:s3:::bucket") != "" || AccountID("arn:aws:rds:us-west-2:123456789012:cluster:x") != "123456789012" {
		t.Error("AccountID")
	}
	rec, err := run(t, TopicArgs{Name: "x", AccountARN: pulumi.String("arn:aws:rds:us-west-2:123456789012:cluster:x"),
		Emails: []string{"not-an-address"}})
	if err == nil || !strings.Contains(err.Error(), `Emails[0]: must be an e-mail address (got "not-an-address")`) || len(rec.Resources()) != 0 {
		t.Errorf("got %v", err)
	}
}

// In another partition the key's policy names the account's root there
// (issue #21): arn:aws-cn:…, not arn:aws:….
func TestTopicInChina(t *testing.T) {
	rec, err := run(t, TopicArgs{Name: "eduai-prod-dr-alarms", Emails: []string{"oncall@eduai.com"},
		AccountARN: pulumi.String("arn:aws-cn:rds:cn-north-1:123456789012:cluster:eduai-prod")})
	if err != nil {
		t.Fatal(err)
	}
	policy := rec.Named("aws:kms/key:Key", "dr-alarms").String("policy")
	if !strings.Contains(policy, `"arn:aws-cn:iam::123456789012:root"`) || strings.Contains(policy, "arn:aws:") {
		t.Errorf("key policy in aws-cn: %s", policy)
	}
}
