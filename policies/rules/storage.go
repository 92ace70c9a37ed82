package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

const (
	typeBucket    = "aws:s3/bucketV2:BucketV2"
	typeBucketV1  = "aws:s3/bucket:Bucket"
	typePAB       = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	typeBucketSSE = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
)

// publicACLs are the canned ACLs that grant to everyone (or every AWS user).
var publicACLs = []string{"public-read", "public-read-write", "authenticated-read"}

const typeBucketACL = "aws:s3/bucketAclV2:BucketAclV2"

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
		if acl, _, _ := str(b.Properties, "acl"); slices.Contains(publicACLs, acl) {
			out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q has the canned ACL %q, which "+
				"grants access to everyone (CKV_AWS_20, CKV_AWS_57). Remove it: the buckets are owner-enforced.", b.Name, acl)})
		}
		for _, a := range ofType(rs, typeBucketACL) {
			if acl, _, _ := str(a.Properties, "acl"); refersTo(a, "bucket", b) && slices.Contains(publicACLs, acl) {
				out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q is given the canned ACL %q by %q, "+
					"which grants access to everyone (CKV_AWS_20, CKV_AWS_57). Remove it.", b.Name, acl, a.Name)})
			}
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
	configs, logging := ofType(rs, typeBucketSSE), ofType(rs, typeBucketLogging)
	for _, b := range ofType(rs, typeBucket, typeBucketV1) {
		// S3 log delivery writes only to SSE-S3 buckets; every other bucket uses KMS.
		logTarget := false
		for _, l := range logging {
			logTarget = logTarget || refersTo(l, "targetBucket", b)
		}
		encrypted, withS3Key, awsKey := false, false, false
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
				alg, _, algKnown := str(def, "sseAlgorithm")
				switch {
				case !algKnown:
					encrypted = true
				case strings.HasPrefix(alg, "aws:kms"):
					// Without a key of ours (or with alias/aws/s3) S3 uses the
					// AWS-managed key: KMS, but not a key whose policy and
					// rotation we own (CKV_AWS_145; issue #20).
					if ok, known := customerKey(def, "kmsMasterKeyId"); ok || !known {
						encrypted = true
					} else {
						awsKey = true
					}
				case alg != "" && logTarget:
					encrypted = true
				case alg != "":
					withS3Key = true
				}
			}
		}
		if awsKey && !encrypted {
			out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q encrypts with aws:kms but the "+
				"AWS-managed key (no kmsMasterKeyId, or alias/aws/s3). Name the platform's key.", b.Name)})
			continue
		}
		if withS3Key && !encrypted {
			out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q encrypts with S3-managed keys "+
				"(AES256), not with KMS. Use sseAlgorithm aws:kms with the platform's key (only access-log buckets, "+
				"which S3 log delivery writes, keep AES256).", b.Name)})
			continue
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

const (
	typeBucketVersioning = "aws:s3/bucketVersioningV2:BucketVersioningV2"
	typeBucketLifecycle  = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
	typeBucketPolicy     = "aws:s3/bucketPolicy:BucketPolicy"
)

// bucketsWith pairs every bucket with the resources of typ that point at it through prop.
func bucketsWith(rs []policyx.AnalyzerResource, typ, prop string) map[string][]policyx.AnalyzerResource {
	out := map[string][]policyx.AnalyzerResource{}
	others := ofType(rs, typ)
	for _, b := range ofType(rs, typeBucket, typeBucketV1) {
		out[b.URN] = nil
		for _, o := range others {
			if refersTo(o, prop, b) {
				out[b.URN] = append(out[b.URN], o)
			}
		}
	}
	return out
}

// BucketVersioningFindings: every bucket keeps versions (CKV_AWS_21).
func BucketVersioningFindings(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	with := bucketsWith(rs, typeBucketVersioning, "bucket")
	for _, b := range ofType(rs, typeBucket, typeBucketV1) {
		enabled := false
		for _, v := range with[b.URN] {
			cfg, _, known := object(v.Properties, "versioningConfiguration")
			if status, _, sKnown := str(cfg, "status"); !known || !sKnown || status == "Enabled" {
				enabled = true
			}
		}
		if !enabled {
			out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q keeps no versions: an overwrite or "+
				"delete loses the object. Add an aws.s3.BucketVersioningV2 with status Enabled.", b.Name)})
		}
	}
	return out
}

// replicaBuckets are the destinations of a replication configuration that
// replicate nowhere themselves: only S3 replication writes them. A bucket
// that replication runs both ways with (the DR region's, issue #19) takes
// the application's writes when its region serves, and is no replica here
// (issue #20).
func replicaBuckets(rs []policyx.AnalyzerResource) map[string]bool {
	out := map[string]bool{}
	configs := ofType(rs, typeBucketReplConfig)
	for _, b := range ofType(rs, typeBucket, typeBucketV1) {
		destination, source := false, false
		for _, r := range configs {
			source = source || refersTo(r, "bucket", b)
			destination = destination || (refersTo(r, "rules", b) && !refersTo(r, "bucket", b))
		}
		out[b.URN] = destination && !source
	}
	return out
}

// BucketLoggingFindings: every bucket logs its access to a log bucket
// (CKV_AWS_18), except log buckets themselves and replicas, which only S3
// replication writes (their source logs the writes).
func BucketLoggingFindings(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	logs, replicas := ofType(rs, typeBucketLogging), replicaBuckets(rs)
	for _, b := range ofType(rs, typeBucket, typeBucketV1) {
		logged, target := false, false
		for _, l := range logs {
			// A logging configuration without a target delivers nothing.
			_, to, _ := str(l.Properties, "targetBucket")
			logged = logged || (to && refersTo(l, "bucket", b))
			target = target || refersTo(l, "targetBucket", b)
		}
		if !logged && !target && !replicas[b.URN] {
			out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q has no access logging. Add an "+
				"aws.s3.BucketLoggingV2 to the access-log bucket (eduai:storage.accessLogs).", b.Name)})
		}
	}
	return out
}

// BucketLifecycleFindings: every bucket has an enabled lifecycle rule that
// aborts incomplete multipart uploads (CKV2_AWS_61, CKV_AWS_300).
func BucketLifecycleFindings(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	with := bucketsWith(rs, typeBucketLifecycle, "bucket")
	for _, b := range ofType(rs, typeBucket, typeBucketV1) {
		ok := false
		for _, l := range with[b.URN] {
			rules, known := objList(l.Properties, "rules")
			if !known {
				ok = true
			}
			for _, rule := range rules {
				status, _, sKnown := str(rule, "status")
				abort, _, aKnown := object(rule, "abortIncompleteMultipartUpload")
				days, set, dKnown := num(abort, "daysAfterInitiation")
				if (!sKnown || status == "Enabled") && (!aKnown || !dKnown || (set && days > 0)) {
					ok = true
				}
			}
		}
		if !ok {
			out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q has no lifecycle rule that aborts "+
				"incomplete multipart uploads (their parts are billed forever). Add one (the storage component's "+
				"expires noncurrent versions and aborts uploads after 7 days).", b.Name)})
		}
	}
	return out
}

// BucketPolicyFindings: every bucket has a policy that refuses requests not
// made over TLS, and no bucket policy allows anyone ("*") without a
// condition (CKV_AWS_70) or denies everything to everyone (CKV_AWS_93).
func BucketPolicyFindings(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	with := bucketsWith(rs, typeBucketPolicy, "bucket")
	for _, b := range ofType(rs, typeBucket, typeBucketV1) {
		tls, unknown := false, false
		for _, p := range with[b.URN] {
			doc, _, known := str(p.Properties, "policy")
			stmts, parsed := parsePolicy(doc)
			if !known || !parsed {
				unknown = true
				continue
			}
			for _, s := range stmts {
				switch {
				case s.Effect == "Deny" && s.anyone() && deniesPlainHTTP(s):
					tls = true
				case s.Effect == "Allow" && s.anyone() && !s.narrowsCaller():
					out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q's policy allows any principal "+
						"(\"*\") without a condition that names the caller (aws:PrincipalAccount, aws:PrincipalOrgID, "+
						"aws:SourceVpce…). Name the principals.", b.Name)})
				case s.Effect == "Deny" && s.anyone() && !s.Conditions && !s.NotAction && s.grants("s3:PutBucketPolicy"):
					out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q's policy denies every action "+
						"(s3:PutBucketPolicy among them) to everyone without a condition: only the root user could undo it "+
						"(CKV_AWS_93). Add a condition.", b.Name)})
				}
			}
		}
		if !tls && !unknown {
			out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q accepts requests without TLS: no "+
				"statement denies every S3 action on the bucket and its objects to everyone when aws:SecureTransport "+
				"is false. Add one (the storage component does).", b.Name)})
		}
	}
	return out
}

// deniesPlainHTTP: a Deny statement that refuses every S3 action (s3:* or
// *) on the bucket and its objects when the request is not TLS — a Bool or
// BoolIfExists test of aws:SecureTransport against false (issue #20: a
// condition flipped to "true", a deny narrowed to one action, or to the
// bucket without its objects, enforces nothing).
func deniesPlainHTTP(s statement) bool {
	if s.NotAction || !s.grants("s3:GetObject") || !s.grants("s3:PutObject") || !s.grants("s3:ListBucket") {
		return false
	}
	objects := slices.ContainsFunc(s.Resources, func(r string) bool { return r == "*" || strings.HasSuffix(r, "/*") })
	bucket := slices.ContainsFunc(s.Resources, func(r string) bool { return r == "*" || !strings.Contains(r, "/") })
	if !objects || !bucket {
		return false
	}
	for _, op := range []string{"Bool", "BoolIfExists"} {
		if v := s.Tests[op]["aws:securetransport"]; len(v) == 1 && strings.EqualFold(v[0], "false") {
			return true
		}
	}
	return false
}
