// Package secure holds the safe defaults every data component shares: a
// customer-managed KMS key that rotates and waits 30 days before deletion,
// and a Secrets Manager secret whose JSON value stays a Pulumi secret.
package secure

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NewKey creates a customer-managed key with rotation on and a 30-day deletion window.
func NewKey(ctx *pulumi.Context, name, description string, tags pulumi.StringMap,
	opts ...pulumi.ResourceOption) (*kms.Key, error) {
	args := &kms.KeyArgs{
		Description:          pulumi.String(description),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(30),
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
