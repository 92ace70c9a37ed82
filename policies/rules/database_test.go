package rules

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

func TestRDSRules(t *testing.T) {
	good := map[string]any{"storageEncrypted": true, "kmsKeyId": "arn:aws:kms:k", "backupRetentionPeriod": 30,
		"deletionProtection": true, "iamDatabaseAuthenticationEnabled": true}
	with := func(changes map[string]any) policyx.AnalyzerResource {
		p := map[string]any{}
		for k, v := range good {
			p[k] = v
		}
		for k, v := range changes {
			p[k] = v
		}
		return res(typeRDSCluster, "db", p)
	}
	prod := map[string]any{"minimumDays": float64(30)}
	cases := []struct {
		name   string
		check  func(policyx.ResourceValidationArgs) error
		r      policyx.AnalyzerResource
		config map[string]any
		want   string
	}{
		{"encrypted with a CMK", checkRDSEncrypted, with(nil), nil, ""},
		{"unencrypted", checkRDSEncrypted, with(map[string]any{"storageEncrypted": false}), nil, "unencrypted"},
		{"AWS-managed key", checkRDSEncrypted, with(map[string]any{"kmsKeyId": nil}), nil, "AWS-managed key"},
		{"empty key", checkRDSEncrypted, with(map[string]any{"kmsKeyId": ""}), nil, "AWS-managed key"},
		{"AWS-managed key by its alias ARN", checkRDSEncrypted, with(map[string]any{"kmsKeyId": "arn:aws:kms:us-west-2:123456789012:alias/aws/rds"}), nil, "AWS-managed key"},
		{"key not known yet", checkRDSEncrypted, with(map[string]any{"kmsKeyId": unknown}), nil, ""},
		{"30 days in prod", checkRDSBackupRetention, with(nil), prod, ""},
		{"1 day in prod", checkRDSBackupRetention, with(map[string]any{"backupRetentionPeriod": 1}), prod, "eduai:database.backupRetentionDays"},
		{"default retention", checkRDSBackupRetention, with(map[string]any{"backupRetentionPeriod": nil}), nil, "keeps backups 1 day"},
		{"7 days elsewhere", checkRDSBackupRetention, with(map[string]any{"backupRetentionPeriod": 7}), nil, ""},
		{"deletion protection off", checkRDSDeletionProtection, with(map[string]any{"deletionProtection": false}), nil, "no deletion protection"},
		{"no final snapshot", checkRDSDeletionProtection, with(map[string]any{"skipFinalSnapshot": true}), nil, "final snapshot"},
		{"a global secondary skips it", checkRDSDeletionProtection, with(map[string]any{"skipFinalSnapshot": true,
			"globalClusterIdentifier": "eduai-prod"}), nil, ""},
		{"IAM auth off", checkRDSIAMAuth, with(map[string]any{"iamDatabaseAuthenticationEnabled": false}), nil, "IAM authentication"},
		{"public instance", checkRDSNotPublic, res(typeRDSInstance, "db-1", map[string]any{"publiclyAccessible": true}), nil, "publicly accessible"},
		{"private instance", checkRDSNotPublic, res(typeRDSInstance, "db-1", map[string]any{"publiclyAccessible": false}), nil, ""},
	}
	for _, c := range cases {
		got := runResourceRule(c.check, c.r, c.config)
		if (c.want == "") != (len(got) == 0) || (c.want != "" && !strings.Contains(got[0], c.want)) {
			t.Errorf("%s: got %v, want %q", c.name, got, c.want)
		}
	}
}

func TestRedisEncryption(t *testing.T) {
	good := map[string]any{"atRestEncryptionEnabled": true, "kmsKeyId": "arn:aws:kms:k", "transitEncryptionEnabled": true,
		"authToken": "token"}
	with := func(k string, v any) policyx.AnalyzerResource {
		p := map[string]any{}
		for kk, vv := range good {
			p[kk] = vv
		}
		p[k] = v
		return res(typeReplicationGroup, "cache", p)
	}
	if got := runResourceRule(checkRedisEncryption, with("kmsKeyId", "arn:aws:kms:k"), nil); len(got) != 0 {
		t.Errorf("compliant: %v", got)
	}
	for key, want := range map[string]string{"atRestEncryptionEnabled": "atRestEncryptionEnabled",
		"transitEncryptionEnabled": "transitEncryptionEnabled", "authToken": "authToken", "kmsKeyId": "customer-managed"} {
		var v any = false
		if key == "authToken" || key == "kmsKeyId" {
			v = nil
		}
		if got := runResourceRule(checkRedisEncryption, with(key, v), nil); len(got) != 1 || !strings.Contains(got[0], want) {
			t.Errorf("%s off: %v", key, got)
		}
	}
	if got := runResourceRule(checkRedisEncryption, with("authToken", unknown), nil); len(got) != 0 {
		t.Errorf("token not known yet: %v", got)
	}
	// Issue #20: an empty token is no token, an empty or AWS-managed key no customer key.
	for key, v := range map[string]any{"authToken": "", "kmsKeyId": "alias/aws/elasticache"} {
		if got := runResourceRule(checkRedisEncryption, with(key, v), nil); len(got) != 1 {
			t.Errorf("%s %q: %v", key, v, got)
		}
	}
}

func TestBrokerRule(t *testing.T) {
	msk := func(changes map[string]any) policyx.AnalyzerResource {
		p := map[string]any{
			"encryptionInfo": map[string]any{"encryptionAtRestKmsKeyArn": "arn:aws:kms:k",
				"encryptionInTransit": map[string]any{"clientBroker": "TLS", "inCluster": true}},
			"clientAuthentication": map[string]any{"unauthenticated": false, "sasl": map[string]any{"iam": true}},
			"loggingInfo": map[string]any{"brokerLogs": map[string]any{"cloudwatchLogs": map[string]any{"enabled": true,
				"logGroup": "/eduai/queue"}}},
		}
		for k, v := range changes {
			if v == nil {
				delete(p, k)
				continue
			}
			p[k] = v
		}
		return res(typeMSKCluster, "kafka", p)
	}
	cases := []struct {
		name string
		r    policyx.AnalyzerResource
		want string
	}{
		{"hardened MSK", msk(nil), ""},
		{"plaintext allowed", msk(map[string]any{"encryptionInfo": map[string]any{"encryptionAtRestKmsKeyArn": "k",
			"encryptionInTransit": map[string]any{"clientBroker": "TLS_PLAINTEXT"}}}), "without TLS"},
		{"AWS-managed key", msk(map[string]any{"encryptionInfo": map[string]any{
			"encryptionInTransit": map[string]any{"clientBroker": "TLS"}}}), "AWS-managed key"},
		{"unauthenticated", msk(map[string]any{"clientAuthentication": map[string]any{"unauthenticated": true}}), "unauthenticated"},
		{"public brokers", msk(map[string]any{"brokerNodeGroupInfo": map[string]any{"connectivityInfo": map[string]any{
			"publicAccess": map[string]any{"type": "SERVICE_PROVIDED_EIPS"}}}}), "public access"},
		{"encryption not known yet", msk(map[string]any{"encryptionInfo": unknown}), ""},
		// Issue #20: CKV_AWS_81's in_cluster, CKV_AWS_80's logging, and a cluster with no client auth at all.
		{"plaintext between brokers", msk(map[string]any{"encryptionInfo": map[string]any{"encryptionAtRestKmsKeyArn": "k",
			"encryptionInTransit": map[string]any{"clientBroker": "TLS", "inCluster": false}}}), "inCluster false"},
		{"no clientAuthentication", msk(map[string]any{"clientAuthentication": nil}), "no clientAuthentication"},
		{"no auth method on", msk(map[string]any{"clientAuthentication": map[string]any{"sasl": map[string]any{"iam": false}}}),
			"no client authentication method"},
		{"mutual TLS", msk(map[string]any{"clientAuthentication": map[string]any{"tls": map[string]any{
			"certificateAuthorityArns": []string{"arn:aws:acm-pca:ca"}}}}), ""},
		{"no broker logs", msk(map[string]any{"loggingInfo": nil}), "broker logs go nowhere"},
		{"broker logs off", msk(map[string]any{"loggingInfo": map[string]any{"brokerLogs": map[string]any{
			"cloudwatchLogs": map[string]any{"enabled": false}}}}), "broker logs go nowhere"},
		{"logs to S3", msk(map[string]any{"loggingInfo": map[string]any{"brokerLogs": map[string]any{
			"s3": map[string]any{"enabled": true, "bucket": "logs"}}}}), ""},
		{"alias of the AWS key", msk(map[string]any{"encryptionInfo": map[string]any{"encryptionAtRestKmsKeyArn": "alias/aws/kafka"}}),
			"AWS-managed key"},
		{"private RabbitMQ with logs", res(typeMQBroker, "mq", map[string]any{"publiclyAccessible": false, "autoMinorVersionUpgrade": true,
			"logs": map[string]any{"general": true}}), ""},
		{"public RabbitMQ", res(typeMQBroker, "mq", map[string]any{"publiclyAccessible": true, "autoMinorVersionUpgrade": true,
			"logs": map[string]any{"general": true}}), "publicly accessible"},
		{"RabbitMQ without logs", res(typeMQBroker, "mq", map[string]any{"publiclyAccessible": false, "autoMinorVersionUpgrade": true,
			"logs": map[string]any{"general": false}}), "general logs are off"},
	}
	for _, c := range cases {
		got := runResourceRule(checkBroker, c.r, nil)
		if (c.want == "") != (len(got) == 0) || (c.want != "" && !strings.Contains(got[0], c.want)) {
			t.Errorf("%s: got %v, want %q", c.name, got, c.want)
		}
	}
}
