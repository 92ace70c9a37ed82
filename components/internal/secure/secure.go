// Package secure holds the safe defaults every data component shares: a
// customer-managed KMS key that rotates and waits 30 days before deletion,
// and a Secrets Manager secret whose JSON value stays a Pulumi secret.
package secure

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NewKey creates a customer-managed key with rotation on and a 30-day
// deletion window, under AWS's default key policy (the account's IAM decides).
func NewKey(ctx *pulumi.Context, name, description string, tags pulumi.StringMap,
	opts ...pulumi.ResourceOption) (*kms.Key, error) {
	return NewKeyWithPolicy(ctx, name, description, tags, nil, opts...)
}

// NewKeyWithPolicy is NewKey with a key policy, for keys an AWS service must
// use (CloudWatch Logs, CloudWatch alarms publishing to SNS); nil keeps the default.
func NewKeyWithPolicy(ctx *pulumi.Context, name, description string, tags pulumi.StringMap, policy pulumi.StringInput,
	opts ...pulumi.ResourceOption) (*kms.Key, error) {
	args := &kms.KeyArgs{
		Description:          pulumi.String(description),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
		Policy:               policy,
	}
	if len(tags) > 0 {
		args.Tags = tags
	}
	return kms.NewKey(ctx, name, args, opts...)
}

// SecretArgs describes a JSON secret for the services.
type SecretArgs struct {
	NamePrefix, Description string
	// KeyARN encrypts the secret (a customer-managed key).
	KeyARN pulumi.StringInput
	// Value is the JSON document; it is stored marked secret.
	Value pulumi.StringOutput
}

// NewJSONSecret creates the secret (with secretOpts, e.g. parent and protect)
// and its current version (with versionOpts).
func NewJSONSecret(ctx *pulumi.Context, name string, args SecretArgs, secretOpts []pulumi.ResourceOption,
	versionOpts ...pulumi.ResourceOption) (*secretsmanager.Secret, error) {
	secret, err := secretsmanager.NewSecret(ctx, name, &secretsmanager.SecretArgs{
		NamePrefix:  pulumi.String(args.NamePrefix),
		Description: pulumi.String(args.Description),
		KmsKeyId:    args.KeyARN,
	}, secretOpts...)
	if err != nil {
		return nil, err
	}
	_, err = secretsmanager.NewSecretVersion(ctx, name, &secretsmanager.SecretVersionArgs{
		SecretId:     secret.ID(),
		SecretString: pulumi.ToSecret(args.Value).(pulumi.StringOutput),
	}, versionOpts...)
	return secret, err
}

// BackupTag marks what AWS Backup protects: the plans select resources by
// this tag, and its value names the plan rule that covers them.
const BackupTag = "eduai:backup"

// The values of BackupTag.
const (
	// BackupContinuous: continuous backup with point-in-time recovery (the databases).
	BackupContinuous = "continuous"
	// BackupHourly: hourly backups (application data in buckets).
	BackupHourly = "hourly"
)

// arnParts are the partition, region and account of an ARN
// ("arn:aws:kms:us-west-2:123456789012:key/…", "arn:aws-cn:…", "arn:aws-us-gov:…").
var arnParts = regexp.MustCompile(`^arn:(aws[a-z-]*):[^:]*:([a-z0-9-]*):([0-9]{12}):`)

// AccountOf is the account an ARN output names (the guard of a policy that
// lets a service in: aws:SourceAccount).
func AccountOf(arn pulumi.StringOutput) pulumi.StringOutput {
	return arn.ApplyT(func(a string) string {
		_, account := RegionAndAccount(a)
		return account
	}).(pulumi.StringOutput)
}

// RegionAndAccount reads the region and account of an ARN ("" when absent).
func RegionAndAccount(arn string) (region, account string) {
	_, region, account = ARNParts(arn)
	return region, account
}

// ARNParts reads the partition, region and account of an ARN ("" when
// absent). The ARNs a policy document names take the partition of the ARN
// they are built from, so a document built in GovCloud or China names
// aws-us-gov or aws-cn resources (issue #21; AWS General Reference, "Amazon
// Resource Names": the partition is aws, aws-cn or aws-us-gov).
func ARNParts(arn string) (partition, region, account string) {
	if m := arnParts.FindStringSubmatch(arn); m != nil {
		return m[1], m[2], m[3]
	}
	return "", "", ""
}

// LogGroupArgs describes a CloudWatch log group encrypted with its own key.
type LogGroupArgs struct {
	// Name of the log group. Required.
	Name string
	// RetentionDays the events are kept. Required.
	RetentionDays int
	Tags          pulumi.StringMap
	// RegionalARN is any ARN in the group's account and region (the
	// component's KMS key, its VPC): the key policy takes both from it, so
	// no lookup is needed. Required.
	RegionalARN pulumi.StringInput
	// Protect the key (staging, prod): without it the group's events cannot be read.
	Protect bool
}

// logsKeyPolicy lets the account administer the key and CloudWatch Logs in
// the region use it for this account's log groups only.
func logsKeyPolicy(partition, region, account string) string {
	return `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"Account","Effect":"Allow","Principal":{"AWS":"arn:` + partition + `:iam::` + account + `:root"},"Action":"kms:*","Resource":"*"},` +
		`{"Sid":"CloudWatchLogs","Effect":"Allow","Principal":{"Service":"logs.` + region + `.amazonaws.com"},` +
		`"Action":["kms:Encrypt*","kms:Decrypt*","kms:ReEncrypt*","kms:GenerateDataKey*","kms:Describe*"],"Resource":"*",` +
		`"Condition":{"ArnLike":{"kms:EncryptionContext:aws:logs:arn":"arn:` + partition + `:logs:` + region + `:` + account + `:log-group:*"}}}]}`
}

// LogRetentionDays are the retention periods CloudWatch Logs accepts
// (CloudWatch Logs API reference, PutRetentionPolicy: retentionInDays).
var LogRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
	2192, 2557, 2922, 3288, 3653}

// NewLogGroup creates a log group encrypted with a customer-managed key of
// its own (rotating, 30-day deletion window) whose policy lets CloudWatch
// Logs use it (CKV_AWS_158).
func NewLogGroup(ctx *pulumi.Context, name string, args LogGroupArgs, opts ...pulumi.ResourceOption) (*cloudwatch.LogGroup, error) {
	if args.Name == "" || args.RetentionDays <= 0 || args.RegionalARN == nil {
		return nil, fmt.Errorf("log group %q: Name, RetentionDays and RegionalARN are required", name)
	}
	policy := args.RegionalARN.ToStringOutput().ApplyT(func(arn string) (string, error) {
		partition, region, account := ARNParts(arn)
		if region == "" || account == "" {
			return "", fmt.Errorf("log group %q: no region and account in %q", name, arn)
		}
		return logsKeyPolicy(partition, region, account), nil
	}).(pulumi.StringOutput)
	key, err := NewKeyWithPolicy(ctx, name, "CloudWatch Logs "+args.Name, args.Tags, policy,
		append(slices.Clone(opts), pulumi.Protect(args.Protect))...)
	if err != nil {
		return nil, err
	}
	groupArgs := &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(args.Name),
		RetentionInDays: pulumi.Int(args.RetentionDays),
		KmsKeyId:        key.Arn,
	}
	if len(args.Tags) > 0 {
		groupArgs.Tags = args.Tags
	}
	return cloudwatch.NewLogGroup(ctx, name, groupArgs, opts...)
}
