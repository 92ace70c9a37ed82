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
			map[string]any{"applyServerSideEncryptionByDefault": map[string]any{"sseAlgorithm": alg}}}}), "bucket", bucket)
	}
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
