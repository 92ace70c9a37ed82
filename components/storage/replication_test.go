package storage

import (
	"slices"
	"strings"
	"testing"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestReplication(t *testing.T) {
	rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		primary, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		dr, err := aws.NewProvider(ctx, "aws-dr", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
		if err != nil {
			return err
		}
		args := prodArgs()
		args.Replication = &Replication{Provider: dr, NamePrefix: "eduai-prod-dr"}
		_, err = NewBuckets(ctx, "storage", args, pulumi.Providers(primary))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	drProvider := "urn:pulumi:test::eduai::pulumi:providers:aws::aws-dr"
	replicas := 0
	for _, b := range rec.ByType("aws:s3/bucketV2:BucketV2") {
		inDR := b.Provider == drProvider
		if inDR != strings.HasPrefix(b.Name, ReplicaPrefix) {
			t.Errorf("%s in the wrong region (%s)", b.Name, b.Provider)
		}
		if inDR {
			replicas++
			if !b.Protect {
				t.Errorf("replica %s not protected", b.Name)
			}
		}
	}
	// Two replicas and the DR region's access-log bucket.
	if replicas != 3 {
		t.Errorf("%d buckets in the DR region, want 2 replicas and their log bucket", replicas)
	}
	// The replicas take writes while the DR region serves: they log their
	// access to the log bucket of their own region (issue #20).
	for _, name := range []string{ReplicaPrefix + "storage-content", ReplicaPrefix + "storage-media"} {
		l := rec.Named("aws:s3/bucketLoggingV2:BucketLoggingV2", name)
		if l == nil || l.Provider != drProvider {
			t.Fatalf("replica %s logs nowhere in its region: %+v", name, l)
		}
		target := l.PropertyDependencies["targetBucket"]
		if len(target) != 1 || !strings.HasSuffix(target[0], "::"+ReplicaPrefix+"storage-access-logs") {
			t.Errorf("replica %s logs to %v, want the DR access-log bucket", name, target)
		}
	}
	if p := rec.Named("aws:s3/bucketPolicy:BucketPolicy", ReplicaPrefix+"storage-access-logs"); p == nil ||
		p.Provider != drProvider || !strings.Contains(p.Inputs["policy"].StringValue(), "logging.s3.amazonaws.com") {
		t.Errorf("the DR access-log bucket takes no log delivery: %+v", p)
	}
	// Replicas are hardened like the originals, in their own region.
	for _, typ := range []string{"aws:s3/bucketVersioningV2:BucketVersioningV2", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
		"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "aws:kms/key:Key"} {
		n := 0
		for _, r := range rec.ByType(typ) {
			if r.Provider == drProvider {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no %s in the DR region", typ)
		}
	}
	// Both ways (issue #19): each bucket replicates to its replica, and each
	// replica back, so what the DR region writes during a failover (deletes
	// included) reaches the primary's buckets without a copy by hand.
	configs := rec.ByType("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
	if len(configs) != 4 {
		t.Fatalf("%d replication configs, want one each way per bucket", len(configs))
	}
	buckets := map[string]*mockstack.Resource{}
	for _, b := range rec.ByType("aws:s3/bucketV2:BucketV2") {
		buckets[b.URN] = b
	}
	for _, c := range configs {
		on := buckets[c.PropertyDependencies["bucket"][0]]
		dest := c.Inputs["rules"].Mappable().([]any)[0].(map[string]any)["destination"].(map[string]any)
		to := buckets[c.PropertyDependencies["rules"][0]]
		for _, u := range c.PropertyDependencies["rules"] {
			if b, ok := buckets[u]; ok {
				to = b
			}
		}
		if on == nil || to == nil || (on.Provider == drProvider) == (to.Provider == drProvider) ||
			(c.Provider == drProvider) != (on.Provider == drProvider) || dest["bucket"] == nil {
			t.Errorf("%s: replicates %v to %v", c.Name, on, to)
		}
	}
	back := rec.Named("aws:iam/rolePolicy:RolePolicy", "storage-replication-back")
	if back == nil || !strings.Contains(back.String("policy"), "s3:ReplicateDelete") {
		t.Errorf("no policy for the way back: %v", back)
	}
	for _, c := range configs {
		rule := c.Inputs["rules"].Mappable().([]any)[0].(map[string]any)
		dest := rule["destination"].(map[string]any)
		if dest["replicationTime"].(map[string]any)["time"].(map[string]any)["minutes"] != float64(15) ||
			dest["metrics"].(map[string]any)["status"] != "Enabled" ||
			rule["deleteMarkerReplication"].(map[string]any)["status"] != "Enabled" ||
			dest["encryptionConfiguration"] == nil {
			t.Errorf("rule %v", rule)
		}
		versioningDeps := 0
		for _, d := range c.Dependencies {
			if strings.Contains(d, "BucketVersioningV2") {
				versioningDeps++
			}
		}
		if versioningDeps != 2 {
			t.Errorf("%s waits for %d versionings, want both sides", c.Name, versioningDeps)
		}
	}
	policy := rec.Named("aws:iam/rolePolicy:RolePolicy", "storage-replication").String("policy")
	if !strings.Contains(policy, "s3:ReplicateObject") || strings.Contains(policy, `"Resource":"*"`) {
		t.Errorf("replication policy %s", policy)
	}
	if !slices.ContainsFunc(rec.ByType("aws:iam/role:Role"), func(r *mockstack.Resource) bool {
		return strings.Contains(r.String("assumeRolePolicy"), "s3.amazonaws.com")
	}) {
		t.Error("no role S3 can assume")
	}
}
