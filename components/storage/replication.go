package storage

import (
	"github.com/eduai/infra/components/internal/secure"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Replication copies the application buckets to another region (the DR
// region): replica buckets made like the originals (versioned, SSE-KMS with
// a key of that region, public access blocked, TLS-only), and a replication
// rule per bucket with Replication Time Control (15 minutes) and its
// metrics. Delete markers are replicated, so a failover serves the same view
// of the data; deleted versions stay recoverable by versioning on both sides.
//
// Replication runs both ways (issue #19; S3 user guide, "Replicating objects
// bidirectionally": a rule on each bucket, and S3 does not replicate a
// replica again): what the DR region writes while it serves, deletes
// included, flows back to the primary's buckets with its version ids, so a
// fail-back copies nothing by hand (an `aws s3 sync` loses deletes and
// versions). Objects whose replication failed while the primary region was
// down are re-driven by S3 Batch Replication (runbook, fail-back).
type Replication struct {
	// Provider of the replica region. Required.
	Provider pulumi.ProviderResource
	// NamePrefix of the replica buckets, e.g. "eduai-prod-dr". Required.
	NamePrefix string
}

// source is one application bucket to replicate.
type source struct {
	name       string
	bucket     *s3.BucketV2
	versioning *s3.BucketVersioningV2
	noncurrent int
}

// ReplicaPrefix starts the names of the resources in the replica region.
const ReplicaPrefix = "dr-"

func replicate(ctx *pulumi.Context, c *Buckets, name string, args *BucketsArgs, sourceKey *kms.Key, sources []source,
	keep, parent pulumi.ResourceOption) error {
	r := args.Replication
	there := pulumi.Provider(r.Provider)
	key, err := secure.NewKey(ctx, ReplicaPrefix+name, "Replicas of the application buckets of "+args.NamePrefix,
		nil, parent, keep, there)
	if err != nil {
		return err
	}
	role, err := replicationRole(ctx, name+"-replication", "S3 replication of "+args.NamePrefix+" to "+r.NamePrefix, key.Arn, parent)
	if err != nil {
		return err
	}
	back, err := replicationRole(ctx, name+"-replication-back", "S3 replication of "+r.NamePrefix+" back to "+args.NamePrefix,
		key.Arn, parent)
	if err != nil {
		return err
	}
	// The replicas take the application's writes while the DR region
	// serves, so they log their access like the originals (CKV_AWS_18), to a
	// log bucket of their own region: S3 delivers server access logs only
	// within a region (S3 user guide, "Enabling Amazon S3 server access
	// logging": the target bucket must be in the same Region).
	var logs *s3.BucketV2
	if args.AccessLogs {
		logs, _, err = newBucket(ctx, ReplicaPrefix+name+"-access-logs", r.NamePrefix+"-access-logs-", "AES256", nil,
			lifecycle{currentDays: args.accessLogDays(), noncurrentDays: 1}, false, keep, parent, there)
		if err != nil {
			return err
		}
	}
	var replicaARNs []any
	var grants, backGrants []pulumi.StringOutput
	for _, src := range sources {
		replica, versioning, err := newBucket(ctx, ReplicaPrefix+name+"-"+src.name, r.NamePrefix+"-"+src.name+"-",
			"aws:kms", key.Arn, lifecycle{noncurrentDays: src.noncurrent}, true, keep, parent, there)
		if err != nil {
			return err
		}
		c.ReplicaNames[src.name], c.ReplicaARNs[src.name] = replica.Bucket, replica.Arn
		replicaARNs = append(replicaARNs, replica.Arn)
		if logs != nil {
			if _, err := s3.NewBucketLoggingV2(ctx, ReplicaPrefix+name+"-"+src.name, &s3.BucketLoggingV2Args{
				Bucket:       replica.ID(),
				TargetBucket: logs.ID(),
				TargetPrefix: pulumi.String(src.name + "/"),
			}, parent, there); err != nil {
				return err
			}
		}
		// Least privilege: read this source's versions, write this replica.
		grants = append(grants, pulumi.Sprintf(`{"Effect":"Allow","Action":["s3:GetReplicationConfiguration","s3:ListBucket"],"Resource":"%s"},`+
			`{"Effect":"Allow","Action":["s3:GetObjectVersionForReplication","s3:GetObjectVersionAcl","s3:GetObjectVersionTagging"],"Resource":"%s/*"},`+
			`{"Effect":"Allow","Action":["s3:ReplicateObject","s3:ReplicateDelete","s3:ReplicateTags"],"Resource":"%s/*"}`,
			src.bucket.Arn, src.bucket.Arn, replica.Arn))
		// And back: the replica's writes to this source.
		backGrants = append(backGrants, pulumi.Sprintf(`{"Effect":"Allow","Action":["s3:GetReplicationConfiguration","s3:ListBucket"],"Resource":"%s"},`+
			`{"Effect":"Allow","Action":["s3:GetObjectVersionForReplication","s3:GetObjectVersionAcl","s3:GetObjectVersionTagging"],"Resource":"%s/*"},`+
			`{"Effect":"Allow","Action":["s3:ReplicateObject","s3:ReplicateDelete","s3:ReplicateTags"],"Resource":"%s/*"}`,
			replica.Arn, replica.Arn, src.bucket.Arn))
		versions := pulumi.DependsOn([]pulumi.Resource{src.versioning, versioning})
		if _, err := s3.NewBucketReplicationConfig(ctx, name+"-"+src.name, &s3.BucketReplicationConfigArgs{
			Bucket: src.bucket.ID(), Role: role.Arn, Rules: replicationRule("to-"+r.NamePrefix, replica.Arn, key.Arn),
		}, parent, versions); err != nil {
			return err
		}
		if _, err := s3.NewBucketReplicationConfig(ctx, ReplicaPrefix+name+"-"+src.name, &s3.BucketReplicationConfigArgs{
			Bucket: replica.ID(), Role: back.Arn, Rules: replicationRule("to-"+args.NamePrefix, src.bucket.Arn, sourceKey.Arn),
		}, parent, there, versions); err != nil {
			return err
		}
	}
	if logs != nil {
		if err := logDeliveryPolicy(ctx, ReplicaPrefix+name, logs, replicaARNs, key.Arn,
			pulumi.Composite(parent, there)); err != nil {
			return err
		}
	}
	if _, err := iam.NewRolePolicy(ctx, name+"-replication", &iam.RolePolicyArgs{Role: role.ID(),
		Policy: replicationPolicy(grants, sourceKey.Arn, key.Arn)}, parent); err != nil {
		return err
	}
	_, err = iam.NewRolePolicy(ctx, name+"-replication-back", &iam.RolePolicyArgs{Role: back.ID(),
		Policy: replicationPolicy(backGrants, key.Arn, sourceKey.Arn)}, parent)
	return err
}

// replicationRule replicates everything, delete markers and SSE-KMS objects
// included, to dest under its region's key, with Replication Time Control
// (15 minutes) and its metrics.
func replicationRule(id string, dest, destKey pulumi.StringInput) s3.BucketReplicationConfigRuleArray {
	fifteen := s3.BucketReplicationConfigRuleDestinationReplicationTimeTimeArgs{Minutes: pulumi.Int(15)}
	return s3.BucketReplicationConfigRuleArray{s3.BucketReplicationConfigRuleArgs{
		Id:       pulumi.String(id),
		Status:   pulumi.String("Enabled"),
		Priority: pulumi.Int(1),
		Filter:   s3.BucketReplicationConfigRuleFilterArgs{Prefix: pulumi.String("")},
		DeleteMarkerReplication: s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs{
			Status: pulumi.String("Enabled")},
		SourceSelectionCriteria: s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs{
			SseKmsEncryptedObjects: s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs{
				Status: pulumi.String("Enabled")}},
		Destination: s3.BucketReplicationConfigRuleDestinationArgs{
			Bucket:                  dest,
			EncryptionConfiguration: s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs{ReplicaKmsKeyId: destKey},
			ReplicationTime:         s3.BucketReplicationConfigRuleDestinationReplicationTimeArgs{Status: pulumi.String("Enabled"), Time: fifteen},
			Metrics: s3.BucketReplicationConfigRuleDestinationMetricsArgs{Status: pulumi.String("Enabled"),
				EventThreshold: s3.BucketReplicationConfigRuleDestinationMetricsEventThresholdArgs{Minutes: pulumi.Int(15)}},
		},
	}}
}

// replicationPolicy is a replication role's policy: the per-bucket grants,
// decrypting with the source side's key and encrypting with the destination's.
func replicationPolicy(grants []pulumi.StringOutput, decryptKey, encryptKey pulumi.StringOutput) pulumi.StringOutput {
	all := make([]any, len(grants))
	for i, g := range grants {
		all[i] = g
	}
	return pulumi.All(append(all, decryptKey, encryptKey)...).ApplyT(func(v []any) string {
		out := `{"Version":"2012-10-17","Statement":[`
		for _, g := range v[:len(v)-2] {
			out += g.(string) + ","
		}
		return out + `{"Effect":"Allow","Action":"kms:Decrypt","Resource":"` + v[len(v)-2].(string) + `"},` +
			`{"Effect":"Allow","Action":"kms:Encrypt","Resource":"` + v[len(v)-1].(string) + `"}]}`
	}).(pulumi.StringOutput)
}

// replicationRole is a role only S3, acting for this account, may assume
// (S3 user guide, "Setting up permissions for live replication": aws:SourceAccount).
func replicationRole(ctx *pulumi.Context, name, description string, accountKey pulumi.StringOutput,
	parent pulumi.ResourceOption) (*iam.Role, error) {
	return iam.NewRole(ctx, name, &iam.RoleArgs{
		Description: pulumi.String(description),
		AssumeRolePolicy: pulumi.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`+
			`"Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole",`+
			`"Condition":{"StringEquals":{"aws:SourceAccount":"%s"}}}]}`, secure.AccountOf(accountKey)),
	}, parent)
}
