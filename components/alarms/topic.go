// Package alarms is where CloudWatch alarms send their notifications: an
// SNS topic per region, encrypted with a customer-managed key whose policy
// lets CloudWatch use it (the AWS-managed SNS key does not, so alarms could
// not publish), and a topic policy that lets only this account's alarms publish.
package alarms

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/eduai/infra/components/field"
	"github.com/eduai/infra/components/internal/secure"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TopicArgs configures the topic.
type TopicArgs struct {
	// Name of the topic, e.g. "eduai-prod-dr-alarms". Required.
	Name string
	// AccountARN is any ARN of the account (e.g. a database's); the key and
	// topic policies take the account id from it, so no lookup is needed. Required.
	AccountARN pulumi.StringInput
	// Emails subscribe to the topic (each confirms by mail). Default none.
	Emails []string
	// Protect the key (staging, prod): its loss makes queued notifications unreadable.
	Protect bool
}

// Topic is the component.
type Topic struct {
	pulumi.ResourceState
	// ARN is what alarms name in alarmActions.
	ARN pulumi.StringOutput
}

var emailPattern = regexp.MustCompile(`^[^@\s<>]+@[^@\s<>]+\.[A-Za-z]{2,}$`)

// ValidEmail tells whether e is an address the topic can subscribe.
func ValidEmail(e string) bool { return emailPattern.MatchString(e) }

// Validate checks the topic's values and names each wrong field (field.List).
func (a TopicArgs) Validate() error {
	var errs field.List
	for i, e := range a.Emails {
		if !ValidEmail(e) {
			errs.Add(field.Format, fmt.Sprintf("Emails[%d]", i), e, "must be an e-mail address")
		}
	}
	return errs.Err()
}

// AccountID returns the account of an ARN ("" when it has none).
func AccountID(arn string) string {
	_, account := secure.RegionAndAccount(arn)
	return account
}

// keyPolicy: the account administers the key; CloudWatch may use it to
// publish to the topic. The account's root is named in the account's
// partition (the ARN it was read from).
func keyPolicy(partition, account string) string {
	return `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"Account","Effect":"Allow","Principal":{"AWS":"arn:` + partition + `:iam::` + account + `:root"},"Action":"kms:*","Resource":"*"},` +
		`{"Sid":"CloudWatchAlarms","Effect":"Allow","Principal":{"Service":"cloudwatch.amazonaws.com"},` +
		`"Action":["kms:Decrypt","kms:GenerateDataKey*"],"Resource":"*",` +
		`"Condition":{"StringEquals":{"aws:SourceAccount":"` + account + `"}}}]}`
}

// NewTopic creates the key, the topic, its policy and the e-mail subscriptions.
func NewTopic(ctx *pulumi.Context, name string, args TopicArgs, opts ...pulumi.ResourceOption) (*Topic, error) {
	errs := []error{args.Validate()}
	if args.Name == "" || args.AccountARN == nil {
		errs = append(errs, errors.New("Name and AccountARN are required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("alarm topic %q: %w", name, err)
	}
	t := &Topic{}
	if err := ctx.RegisterComponentResource("eduai:alarms:Topic", name, t, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(t)
	// The account's ARN gives the account and its partition, read once.
	parts := args.AccountARN.ToStringOutput().ApplyT(func(arn string) ([]string, error) {
		if partition, _, id := secure.ARNParts(arn); id != "" {
			return []string{partition, id}, nil
		}
		return nil, fmt.Errorf("alarm topic %q: no account id in %q", name, arn)
	}).(pulumi.StringArrayOutput)
	account := parts.Index(pulumi.Int(1))
	policy := parts.ApplyT(func(p []string) string { return keyPolicy(p[0], p[1]) }).(pulumi.StringOutput)
	key, err := secure.NewKeyWithPolicy(ctx, name, "Alarm notifications "+args.Name, nil, policy, parent,
		pulumi.Protect(args.Protect))
	if err != nil {
		return nil, err
	}
	topic, err := sns.NewTopic(ctx, name, &sns.TopicArgs{
		Name:           pulumi.String(args.Name),
		KmsMasterKeyId: key.Arn,
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := sns.NewTopicPolicy(ctx, name, &sns.TopicPolicyArgs{
		Arn: topic.Arn,
		Policy: pulumi.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"CloudWatchAlarms","Effect":"Allow",`+
			`"Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":"sns:Publish","Resource":"%s",`+
			`"Condition":{"StringEquals":{"aws:SourceAccount":"%s"}}}]}`, topic.Arn, account),
	}, parent); err != nil {
		return nil, err
	}
	for i, e := range args.Emails {
		if _, err := sns.NewTopicSubscription(ctx, fmt.Sprintf("%s-email-%d", name, i+1), &sns.TopicSubscriptionArgs{
			Topic: topic.Arn, Protocol: pulumi.String("email"), Endpoint: pulumi.String(e),
		}, parent); err != nil {
			return nil, err
		}
	}
	t.ARN = topic.Arn
	return t, ctx.RegisterResourceOutputs(t, pulumi.Map{"arn": t.ARN})
}
