package rules

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

const (
	typeBucket    = "aws:s3/bucketV2:BucketV2"
	typeBucketV1  = "aws:s3/bucket:Bucket"
	typePAB       = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	typeBucketSSE = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
)

var publicAccessFlags = []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"}

// BucketPublicAccessFindings returns a finding for each bucket without a
// public access block that sets all four flags (CKV2_AWS_6, CKV_AWS_53..56).
func BucketPublicAccessFindings(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	blocks := ofType(rs, typePAB)
	for _, b := range ofType(rs, typeBucket, typeBucketV1) {
		var block *policyx.AnalyzerResource
		for i := range blocks {
			if refersTo(blocks[i], "bucket", b) {
				block = &blocks[i]
			}
		}
		if block == nil {
			out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q has no public access block. Add an "+
				"aws.s3.BucketPublicAccessBlock with all four flags true (the storage component does).", b.Name)})
			continue
		}
		var off []string
		for _, f := range publicAccessFlags {
			on, _, known := scalar(block.Properties, f, property.Value.IsBool, property.Value.AsBool)
			if known && !on {
				off = append(off, f)
			}
		}
		if len(off) > 0 {
			out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q's public access block leaves %v off. "+
				"Set all four flags to true.", b.Name, off)})
		}
	}
	return out
}

// BucketEncryptionFindings returns a finding for each bucket without default
// server-side encryption (CKV_AWS_19, CKV_AWS_145).
func BucketEncryptionFindings(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	configs := ofType(rs, typeBucketSSE)
	for _, b := range ofType(rs, typeBucket, typeBucketV1) {
		encrypted := false
		for _, c := range configs {
			if !refersTo(c, "bucket", b) {
				continue
			}
			rules, known := objList(c.Properties, "rules")
			if !known {
				encrypted = true // not known yet: no verdict
			}
			for _, r := range rules {
				def, _, _ := object(r, "applyServerSideEncryptionByDefault")
				if alg, _, algKnown := str(def, "sseAlgorithm"); !algKnown || alg != "" {
					encrypted = true
				}
			}
		}
		if !encrypted {
			out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q has no default encryption. Add an "+
				"aws.s3.BucketServerSideEncryptionConfigurationV2 with aws:kms and the platform's key (the storage "+
				"component does; access-log buckets use AES256, the only kind S3 log delivery accepts).", b.Name)})
		}
	}
	return out
}

// statefulTypes hold data that a deletion or replacement would lose.
var statefulTypes = []string{
	typeBucket, typeBucketV1, typeKMSKey,
	"aws:rds/cluster:Cluster", "aws:rds/clusterInstance:ClusterInstance", "aws:rds/globalCluster:GlobalCluster",
	"aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup",
	"aws:mq/broker:Broker", "aws:msk/cluster:Cluster", "aws:backup/vault:Vault", "aws:secretsmanager/secret:Secret",
}

// checkStatefulProtected: a stateful resource is registered with protect so
// that a stray destroy or replacement cannot drop its data. (policyx does not
// pass retainOnDelete to Go packs, so protect is what the rule can see.)
func checkStatefulProtected(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if !slices.Contains(statefulTypes, r.Type) {
		return nil
	}
	if r.Options.Protect {
		return nil
	}
	args.Manager.ReportViolation(fmt.Sprintf("%s %q holds data but is not protected. Register it with "+
		"pulumi.Protect(true) (components do so outside dev), so that neither `pulumi destroy` nor a replacement "+
		"can delete it.", r.Type, r.Name), "")
	return nil
}
