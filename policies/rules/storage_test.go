package rules

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

func TestBucketRules(t *testing.T) {
	bucket := res(typeBucket, "content", map[string]any{"bucket": "eduai-content-1"})
	pab := func(flags map[string]any) policyx.AnalyzerResource {
		return dependsOn(res(typePAB, "content", flags), "bucket", bucket)
	}
	all := map[string]any{"blockPublicAcls": true, "blockPublicPolicy": true, "ignorePublicAcls": true, "restrictPublicBuckets": true}
	partial := map[string]any{"blockPublicAcls": true, "blockPublicPolicy": false, "ignorePublicAcls": true, "restrictPublicBuckets": true}
	sse := func(alg any) policyx.AnalyzerResource {
		return dependsOn(res(typeBucketSSE, "content", map[string]any{"rules": []any{
			map[string]any{"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": alg,
				"kmsMasterKeyId": "arn:aws:kms:us-west-2:1:key/k"}}}}), "bucket", bucket)
	}
	sseKey := func(key string) policyx.AnalyzerResource {
		def := map[string]any{"sseAlgorithm": "aws:kms"}
		if key != "" {
			def["kmsMasterKeyId"] = key
		}
		return dependsOn(res(typeBucketSSE, "content", map[string]any{"rules": []any{
			map[string]any{"applyServerSideEncryptionByDefault": def}}}), "bucket", bucket)
	}
	publicBucket := res(typeBucket, "content", map[string]any{"bucket": "eduai-content-1", "acl": "public-read"})
	publicBucket.URN = bucket.URN
	cases := []struct {
		name        string
		rs          []policyx.AnalyzerResource
		pab, encryp string
	}{
		{"blocked and KMS-encrypted", []policyx.AnalyzerResource{bucket, pab(all), sse("aws:kms")}, "", ""},
		{"AES256 is not KMS", []policyx.AnalyzerResource{bucket, pab(all), sse("AES256")}, "", "not with KMS"},
		{"AES256 on an access-log bucket", []policyx.AnalyzerResource{bucket, pab(all), sse("AES256"),
			dependsOn(res(typeBucketLogging, "logging", nil), "targetBucket", bucket)}, "", ""},
		{"no block, no encryption", []policyx.AnalyzerResource{bucket}, "has no public access block", "has no default encryption"},
		{"one flag off", []policyx.AnalyzerResource{bucket, pab(partial), sse("aws:kms")}, "blockPublicPolicy", ""},
		// Issue #20: aws:kms without a key of ours is the AWS-managed key; a public canned ACL is public.
		{"aws:kms with the AWS-managed key", []policyx.AnalyzerResource{bucket, pab(all), sseKey("")}, "", "AWS-managed key"},
		{"aws:kms with alias/aws/s3", []policyx.AnalyzerResource{bucket, pab(all), sseKey("alias/aws/s3")}, "", "AWS-managed key"},
		{"public-read ACL", []policyx.AnalyzerResource{publicBucket, pab(all), sse("aws:kms")}, "public-read", ""},
		{"public ACL resource", []policyx.AnalyzerResource{bucket, pab(all), sse("aws:kms"),
			dependsOn(res(typeBucketACL, "acl", map[string]any{"acl": "public-read-write"}), "bucket", bucket)}, "public-read-write", ""},
		{"not known yet", []policyx.AnalyzerResource{bucket, pab(map[string]any{"blockPublicAcls": unknown, "blockPublicPolicy": unknown,
			"ignorePublicAcls": unknown, "restrictPublicBuckets": unknown}), sse(unknown)}, "", ""},
	}
	for _, c := range cases {
		check := func(kind string, got []Finding, want string) {
			if (want == "") != (len(got) == 0) || (want != "" && !strings.Contains(got[0].Message, want)) {
				t.Errorf("%s (%s): %v, want %q", c.name, kind, got, want)
			}
		}
		check("public access", BucketPublicAccessFindings(c.rs), c.pab)
		check("encryption", BucketEncryptionFindings(c.rs), c.encryp)
	}
}

func TestStatefulProtected(t *testing.T) {
	protected := res(typeBucket, "b", nil)
	protected.Options.Protect = true
	if got := runResourceRule(checkStatefulProtected, protected, nil); len(got) != 0 {
		t.Errorf("protected bucket: %v", got)
	}
	for _, typ := range []string{typeBucket, typeKMSKey, "aws:rds/cluster:Cluster", "aws:msk/cluster:Cluster"} {
		if got := runResourceRule(checkStatefulProtected, res(typ, "x", nil), nil); len(got) != 1 ||
			!strings.Contains(got[0], "pulumi.Protect(true)") {
			t.Errorf("%s unprotected: %v", typ, got)
		}
	}
	if got := runResourceRule(checkStatefulProtected, res(typeSubnet, "s", nil), nil); len(got) != 0 {
		t.Errorf("a subnet is not stateful: %v", got)
	}
}
