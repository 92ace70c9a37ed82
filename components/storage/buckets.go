// Package storage provisions the platform's application buckets (content,
// media, …): versioned, SSE-KMS with a rotating key, every kind of public
// access blocked, TLS-only, old versions expired, access-logged outside dev.
package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/eduai/infra/components/field"
	"github.com/eduai/infra/components/internal/secure"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

var bucketNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$`)

// ValidBucketName tells whether s can key a bucket (it becomes part of the S3 name).
func ValidBucketName(s string) bool { return bucketNamePattern.MatchString(s) }

// BucketArgs configures one application bucket.
type BucketArgs struct {
	// Name keys the bucket: "content" becomes eduai-<stack>-content-<random>. Required.
	Name string
	// NoncurrentDays keeps replaced or deleted object versions this long, at least 1.
	NoncurrentDays int
}

// BucketsArgs configures the application buckets.
type BucketsArgs struct {
	// NamePrefix starts every bucket name, e.g. "eduai-prod". Required.
	NamePrefix string
	// Buckets, at least one, keyed by Name.
	Buckets []BucketArgs
	// AccessLogs sends S3 server access logs to a dedicated log bucket.
	AccessLogs bool
	// AccessLogDays keeps access logs this long. Default 365.
	AccessLogDays int
	// Protect guards buckets and the key against deletion and replacement (staging, prod).
	Protect bool
	// Replication copies every application bucket to another region; nil: none.
	Replication *Replication
}

// Validate checks the buckets' values and names each wrong field
// (field.List); stacks/ reports them at their config keys.
func (a *BucketsArgs) Validate() error {
	var errs field.List
	if len(a.Buckets) == 0 {
		errs.Add(field.Required, "Buckets", nil, "must define at least one bucket")
	}
	seen := map[string]bool{}
	for _, b := range a.Buckets {
		at := "Buckets[" + b.Name + "]"
		if !ValidBucketName(b.Name) {
			errs.Add(field.Format, at, nil, "the name must be 3..32 lowercase letters, digits and dashes")
		}
		if seen[b.Name] {
			errs.Add(field.Conflict, at, nil, "names a bucket twice")
		}
		seen[b.Name] = true
		if b.NoncurrentDays < 1 {
			errs.Add(field.Range, at+".NoncurrentDays", b.NoncurrentDays, "must be at least 1")
		}
	}
	return errs.Err()
}

func (a *BucketsArgs) validate() error {
	errs := []error{a.Validate()}
	if a.NamePrefix == "" {
		errs = append(errs, errors.New("NamePrefix is required"))
	}
	return errors.Join(errs...)
}

// Buckets is the storage component.
type Buckets struct {
	pulumi.ResourceState

	// Names and ARNs of the application buckets, by Name.
	Names map[string]pulumi.StringOutput
	ARNs  map[string]pulumi.StringOutput
	// ReplicaNames and ReplicaARNs are their replicas in the DR region (empty without Replication).
	ReplicaNames, ReplicaARNs map[string]pulumi.StringOutput
	// KeyARN encrypts every application bucket.
	KeyARN pulumi.StringOutput
}

// NewBuckets creates the key, the log bucket (when asked) and the application buckets.
func NewBuckets(ctx *pulumi.Context, name string, args *BucketsArgs, opts ...pulumi.ResourceOption) (*Buckets, error) {
	if args == nil {
		args = &BucketsArgs{}
	}
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("storage %q: %w", name, err)
	}
	c := &Buckets{Names: map[string]pulumi.StringOutput{}, ARNs: map[string]pulumi.StringOutput{},
		ReplicaNames: map[string]pulumi.StringOutput{}, ReplicaARNs: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource("eduai:storage:Buckets", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	keep := pulumi.Protect(args.Protect)

	key, err := secure.NewKey(ctx, name, "Application buckets of "+args.NamePrefix, nil, parent, keep)
	if err != nil {
		return nil, err
	}
	c.KeyARN = key.Arn

	var logs *s3.BucketV2
	if args.AccessLogs {
		days := args.accessLogDays()
		// Server access logs can only land in a bucket with SSE-S3 default encryption.
		// Current log objects expire after the retention; the noncurrent
		// version an expiry leaves goes a day later, and with it the delete
		// marker (S3 user guide, "Managing delete markers": a rule that
		// expires current versions also removes expired delete markers).
		logs, _, err = newBucket(ctx, name+"-access-logs", args.NamePrefix+"-access-logs-", "AES256", nil,
			lifecycle{currentDays: days, noncurrentDays: 1}, false, keep, parent)
		if err != nil {
			return nil, err
		}
	}

	var sources []source
	for _, b := range args.Buckets {
		noncurrent := b.NoncurrentDays
		bucket, versioning, err := newBucket(ctx, name+"-"+b.Name, args.NamePrefix+"-"+b.Name+"-", "aws:kms", key.Arn,
			lifecycle{noncurrentDays: noncurrent}, true, keep, parent)
		if err != nil {
			return nil, err
		}
		if logs != nil {
			if _, err := s3.NewBucketLoggingV2(ctx, name+"-"+b.Name, &s3.BucketLoggingV2Args{
				Bucket:       bucket.ID(),
				TargetBucket: logs.ID(),
				TargetPrefix: pulumi.String(b.Name + "/"),
			}, parent); err != nil {
				return nil, err
			}
		}
		c.Names[b.Name] = bucket.Bucket
		c.ARNs[b.Name] = bucket.Arn
		sources = append(sources, source{name: b.Name, bucket: bucket, versioning: versioning, noncurrent: noncurrent})
	}
	if args.Replication != nil {
		if err := replicate(ctx, c, name, args, key, sources, keep, parent); err != nil {
			return nil, err
		}
	}
	if logs != nil {
		var arns []any
		for _, b := range args.Buckets {
			arns = append(arns, c.ARNs[b.Name])
		}
		if err := logDeliveryPolicy(ctx, name, logs, arns, key.Arn, parent); err != nil {
			return nil, err
		}
	}

	outs := pulumi.Map{"keyArn": c.KeyARN}
	for n, v := range c.Names {
		outs[n] = v
	}
	return c, ctx.RegisterResourceOutputs(c, outs)
}

// accessLogDays is how long access logs are kept (default 365 days).
func (args *BucketsArgs) accessLogDays() int {
	if args.AccessLogDays == 0 {
		return 365
	}
	return args.AccessLogDays
}

// lifecycle is how long a bucket keeps objects: current versions for
// currentDays (0: until deleted), replaced or deleted versions for noncurrentDays.
type lifecycle struct{ currentDays, noncurrentDays int }

// newBucket creates one bucket with its versioning, encryption, public
// access block, TLS-only policy (except the log bucket, whose policy
// logDeliveryPolicy writes) and lifecycle.
// A bucket with backup set carries the eduai:backup tag AWS Backup selects by.
func newBucket(ctx *pulumi.Context, name, prefix, sse string, kmsKey pulumi.StringInput, keepFor lifecycle, backup bool,
	keep, parent pulumi.ResourceOption, extra ...pulumi.ResourceOption) (*s3.BucketV2, *s3.BucketVersioningV2, error) {
	parent = pulumi.Composite(append([]pulumi.ResourceOption{parent}, extra...)...)
	bucketArgs := &s3.BucketV2Args{BucketPrefix: pulumi.String(prefix)}
	if backup {
		bucketArgs.Tags = pulumi.StringMap{secure.BackupTag: pulumi.String(secure.BackupHourly)}
	}
	bucket, err := s3.NewBucketV2(ctx, name, bucketArgs, parent, keep)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s3.NewBucketOwnershipControls(ctx, name, &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule:   s3.BucketOwnershipControlsRuleArgs{ObjectOwnership: pulumi.String("BucketOwnerEnforced")},
	}, parent); err != nil {
		return nil, nil, err
	}
	block, err := s3.NewBucketPublicAccessBlock(ctx, name, &s3.BucketPublicAccessBlockArgs{
		Bucket:                bucket.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, nil, err
	}
	versioning, err := s3.NewBucketVersioningV2(ctx, name, &s3.BucketVersioningV2Args{
		Bucket:                  bucket.ID(),
		VersioningConfiguration: s3.BucketVersioningV2VersioningConfigurationArgs{Status: pulumi.String("Enabled")},
	}, parent)
	if err != nil {
		return nil, nil, err
	}

	byDefault := s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
		SseAlgorithm: pulumi.String(sse)}
	if kmsKey != nil {
		byDefault.KmsMasterKeyId = kmsKey
	}
	if _, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, name,
		&s3.BucketServerSideEncryptionConfigurationV2Args{
			Bucket: bucket.ID(),
			Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
				ApplyServerSideEncryptionByDefault: byDefault,
				BucketKeyEnabled:                   pulumi.Bool(kmsKey != nil),
			}},
		}, parent); err != nil {
		return nil, nil, err
	}
	rule := s3.BucketLifecycleConfigurationV2RuleArgs{
		Id:     pulumi.String("expire-noncurrent-and-abort-uploads"),
		Status: pulumi.String("Enabled"),
		Filter: s3.BucketLifecycleConfigurationV2RuleFilterArgs{Prefix: pulumi.String("")},
		NoncurrentVersionExpiration: s3.BucketLifecycleConfigurationV2RuleNoncurrentVersionExpirationArgs{
			NoncurrentDays: pulumi.Int(keepFor.noncurrentDays)},
		AbortIncompleteMultipartUpload: s3.BucketLifecycleConfigurationV2RuleAbortIncompleteMultipartUploadArgs{
			DaysAfterInitiation: pulumi.Int(7)},
	}
	if keepFor.currentDays > 0 {
		rule.Id = pulumi.String("expire-after-retention")
		rule.Expiration = s3.BucketLifecycleConfigurationV2RuleExpirationArgs{Days: pulumi.Int(keepFor.currentDays)}
	}
	if _, err := s3.NewBucketLifecycleConfigurationV2(ctx, name, &s3.BucketLifecycleConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules:  s3.BucketLifecycleConfigurationV2RuleArray{rule},
	}, parent); err != nil {
		return nil, nil, err
	}
	if kmsKey != nil {
		// The log bucket's policy also allows log delivery; logDeliveryPolicy writes it.
		if _, err := s3.NewBucketPolicy(ctx, name, &s3.BucketPolicyArgs{
			Bucket: bucket.ID(),
			Policy: pulumi.Sprintf(`{"Version":"2012-10-17","Statement":[%s]}`, tlsOnly(bucket.Arn)),
		}, parent, pulumi.DependsOn([]pulumi.Resource{block})); err != nil {
			return nil, nil, err
		}
	}
	return bucket, versioning, nil
}

// tlsOnly is the statement that refuses every request not made over TLS.
func tlsOnly(arn pulumi.StringOutput) pulumi.StringOutput {
	return pulumi.Sprintf(`{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*",`+
		`"Resource":["%s","%s/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`, arn, arn)
}

// logDeliveryPolicy lets S3 write the application buckets' access logs, and
// only theirs, into the log bucket. Bucket ARNs name no account, so the
// statement also requires the source account — the confused-deputy guard
// of the S3 user guide ("Permissions for log delivery": aws:SourceArn and
// aws:SourceAccount); the account is read off the buckets' key ARN.
func logDeliveryPolicy(ctx *pulumi.Context, name string, logs *s3.BucketV2, sources []any, keyARN pulumi.StringOutput,
	parent pulumi.ResourceOption) error {
	sourceList := pulumi.All(sources...).ApplyT(func(arns []any) (string, error) {
		b, err := json.Marshal(arns)
		return string(b), err
	}).(pulumi.StringOutput)
	account := secure.AccountOf(keyARN)
	_, err := s3.NewBucketPolicy(ctx, name+"-access-logs", &s3.BucketPolicyArgs{
		Bucket: logs.ID(),
		Policy: pulumi.Sprintf(`{"Version":"2012-10-17","Statement":[%s,`+
			`{"Sid":"S3ServerAccessLogs","Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},`+
			`"Action":"s3:PutObject","Resource":"%s/*","Condition":{"ArnLike":{"aws:SourceArn":%s},`+
			`"StringEquals":{"aws:SourceAccount":"%s"}}}]}`,
			tlsOnly(logs.Arn), logs.Arn, sourceList, account),
	}, parent)
	return err
}
