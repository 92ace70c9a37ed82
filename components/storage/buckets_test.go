package storage

import (
	"strings"
	"testing"

	"github.com/eduai/infra/components/internal/secure"
	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func prodArgs() *BucketsArgs {
	return &BucketsArgs{NamePrefix: "eduai-prod", AccessLogs: true, Protect: true,
		Buckets: []BucketArgs{{Name: "content", NoncurrentDays: 90}, {Name: "media", NoncurrentDays: 30}}}
}

func runBuckets(t *testing.T, args *BucketsArgs) *mockstack.Recorder {
	t.Helper()
	rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		_, err = NewBuckets(ctx, "storage", args, pulumi.Providers(p))
		return err
	})
	if err != nil {
		t.Fatalf("NewBuckets: %v", err)
	}
	return rec
}

func TestBucketsHardened(t *testing.T) {
	rec := runBuckets(t, prodArgs())
	key := rec.Named("aws:kms/key:Key", "storage")
	if !key.Protect || !key.Inputs["enableKeyRotation"].BoolValue() || key.Inputs["deletionWindowInDays"].NumberValue() != 30 {
		t.Errorf("key: protect %v %v", key.Protect, key.Inputs)
	}
	for _, b := range []struct {
		name       string
		noncurrent float64
	}{{"content", 90}, {"media", 30}} {
		n := "storage-" + b.name
		bucket := rec.Named("aws:s3/bucketV2:BucketV2", n)
		if bucket == nil || !bucket.Protect || bucket.String("bucketPrefix") != "eduai-prod-"+b.name+"-" {
			t.Fatalf("%s: %v", b.name, bucket)
		}
		pab := rec.Named("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", n)
		for _, f := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
			if !pab.Inputs[resource.PropertyKey(f)].BoolValue() {
				t.Errorf("%s: %s off", b.name, f)
			}
		}
		if pab.String("bucket") != bucket.ID {
			t.Errorf("%s: public access block on another bucket", b.name)
		}
		ver := rec.Named("aws:s3/bucketVersioningV2:BucketVersioningV2", n)
		if ver.Inputs["versioningConfiguration"].ObjectValue()["status"].StringValue() != "Enabled" {
			t.Errorf("%s: versioning %v", b.name, ver.Inputs)
		}
		sse := rec.Named("aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", n)
		def := sse.Inputs["rules"].ArrayValue()[0].ObjectValue()["applyServerSideEncryptionByDefault"].ObjectValue()
		if def["sseAlgorithm"].StringValue() != "aws:kms" || def["kmsMasterKeyId"].StringValue() != key.State["arn"].StringValue() {
			t.Errorf("%s: encryption %v", b.name, def)
		}
		lc := rec.Named("aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", n)
		rule := lc.Inputs["rules"].ArrayValue()[0].ObjectValue()
		if rule["noncurrentVersionExpiration"].ObjectValue()["noncurrentDays"].NumberValue() != b.noncurrent ||
			rule["abortIncompleteMultipartUpload"].ObjectValue()["daysAfterInitiation"].NumberValue() != 7 ||
			rule.HasValue("expiration") {
			t.Errorf("%s: lifecycle %v (application objects never expire while current)", b.name, rule)
		}
		policy := rec.Named("aws:s3/bucketPolicy:BucketPolicy", n).String("policy")
		if !strings.Contains(policy, `"aws:SecureTransport":"false"`) || !strings.Contains(policy, bucket.State["arn"].StringValue()) {
			t.Errorf("%s: policy %s", b.name, policy)
		}
		logging := rec.Named("aws:s3/bucketLoggingV2:BucketLoggingV2", n)
		if logging == nil || logging.String("targetBucket") != rec.Named("aws:s3/bucketV2:BucketV2", "storage-access-logs").ID {
			t.Errorf("%s: access logging %v", b.name, logging)
		}
	}
	logs := rec.Named("aws:s3/bucketV2:BucketV2", "storage-access-logs")
	logSSE := rec.Named("aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "storage-access-logs")
	if logSSE.Inputs["rules"].ArrayValue()[0].ObjectValue()["applyServerSideEncryptionByDefault"].ObjectValue()["sseAlgorithm"].StringValue() != "AES256" {
		t.Error("log bucket is not SSE-S3 (server access logs need it)")
	}
	// Issue #17: current log objects expire after accessLogDays (default
	// 365), not only the noncurrent versions.
	logRule := rec.Named("aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", "storage-access-logs").
		Inputs["rules"].ArrayValue()[0].ObjectValue()
	if !logRule["expiration"].IsObject() || logRule["expiration"].ObjectValue()["days"].NumberValue() != 365 ||
		logRule["noncurrentVersionExpiration"].ObjectValue()["noncurrentDays"].NumberValue() != 1 {
		t.Errorf("log bucket lifecycle: %v", logRule)
	}
	logPolicy := rec.Named("aws:s3/bucketPolicy:BucketPolicy", "storage-access-logs").String("policy")
	_, account := secure.RegionAndAccount(rec.Named("aws:kms/key:Key", "storage").State["arn"].StringValue())
	if account == "" {
		t.Fatal("the key ARN names no account")
	}
	for _, want := range []string{"logging.s3.amazonaws.com", rec.Named("aws:s3/bucketV2:BucketV2", "storage-content").State["arn"].StringValue(),
		`"aws:SecureTransport":"false"`, `"StringEquals":{"aws:SourceAccount":"` + account + `"}`} {
		if !strings.Contains(logPolicy, want) {
			t.Errorf("log bucket policy lacks %s: %s", want, logPolicy)
		}
	}
	if !logs.Protect {
		t.Error("log bucket not protected")
	}
	comp := rec.ByType("eduai:storage:Buckets")[0]
	for _, r := range rec.Resources() {
		if r.Custom && !r.IsProvider() && r.Parent != comp.URN {
			t.Errorf("%s %s not parented", r.Type, r.Name)
		}
	}
}

func TestBucketsDev(t *testing.T) {
	args := prodArgs()
	args.AccessLogs, args.Protect = false, false
	rec := runBuckets(t, args)
	if n := len(rec.ByType("aws:s3/bucketV2:BucketV2")); n != 2 {
		t.Errorf("%d buckets, want 2 (no log bucket)", n)
	}
	if n := len(rec.ByType("aws:s3/bucketLoggingV2:BucketLoggingV2")); n != 0 {
		t.Errorf("%d logging configurations", n)
	}
	for _, r := range rec.Resources() {
		if r.Protect {
			t.Errorf("%s protected in dev", r.Name)
		}
	}
}

func TestBucketsBadArgs(t *testing.T) {
	for _, c := range []struct {
		mutate func(*BucketsArgs)
		want   string
	}{
		{func(a *BucketsArgs) { a.Buckets = nil }, "Buckets: must define at least one bucket"},
		{func(a *BucketsArgs) { a.Buckets[0].Name = "Content_Files" }, "Buckets[Content_Files]: the name must be 3..32 lowercase"},
		{func(a *BucketsArgs) { a.Buckets[1].Name = "content" }, "Buckets[content]: names a bucket twice"},
		{func(a *BucketsArgs) { a.Buckets[1].NoncurrentDays = 0 }, "Buckets[media].NoncurrentDays: must be at least 1 (got 0)"},
	} {
		args := prodArgs()
		c.mutate(args)
		rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
			_, err := NewBuckets(ctx, "storage", args)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), c.want) || len(rec.Resources()) != 0 {
			t.Errorf("got %v (%d resources), want %q", err, len(rec.Resources()), c.want)
		}
	}
}
