package rules

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

const (
	typeRDSCluster  = "aws:rds/cluster:Cluster"
	typeRDSInstance = "aws:rds/clusterInstance:ClusterInstance"
)

func boolProp(p property.Map, key string) (on, present, known bool) {
	return scalar(p, key, property.Value.IsBool, property.Value.AsBool)
}

// checkRDSEncrypted: Aurora storage is encrypted, with a customer-managed key (CKV_AWS_96, CKV_AWS_327).
func checkRDSEncrypted(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeRDSCluster {
		return nil
	}
	on, _, known := boolProp(r.Properties, "storageEncrypted")
	_, keyPresent, keyKnown := str(r.Properties, "kmsKeyId")
	switch {
	case known && !on:
		args.Manager.ReportViolation(fmt.Sprintf("Aurora cluster %q stores data unencrypted. Set storageEncrypted: true "+
			"with the cluster's KMS key (the database component does).", r.Name), "")
	case known && keyKnown && !keyPresent:
		args.Manager.ReportViolation(fmt.Sprintf("Aurora cluster %q is encrypted with the AWS-managed key. Give it a "+
			"customer-managed key (kmsKeyId) so key policy and rotation are yours.", r.Name), "")
	}
	return nil
}

// checkRDSBackupRetention: backups are kept at least minimumDays (from the
// stack's policy config: 7 in staging, 30 in prod) (CKV_AWS_133).
func checkRDSBackupRetention(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeRDSCluster {
		return nil
	}
	minimum := 7.0
	if m, ok := args.Config["minimumDays"].(float64); ok {
		minimum = m
	}
	days, present, known := num(r.Properties, "backupRetentionPeriod")
	if !known {
		return nil
	}
	if !present {
		days = 1 // the RDS default
	}
	if days < minimum {
		args.Manager.ReportViolation(fmt.Sprintf("Aurora cluster %q keeps backups %v day(s); this stack needs at least %v. "+
			"Raise eduai:database.backupRetentionDays.", r.Name, days, minimum), "")
	}
	return nil
}

// checkRDSDeletionProtection: staging and prod clusters cannot be deleted by accident (CKV_AWS_139).
func checkRDSDeletionProtection(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeRDSCluster {
		return nil
	}
	if on, _, known := boolProp(r.Properties, "deletionProtection"); known && !on {
		args.Manager.ReportViolation(fmt.Sprintf("Aurora cluster %q has no deletion protection. The database component "+
			"turns it on (with a final snapshot) outside dev.", r.Name), "")
	}
	return nil
}

// checkRDSIAMAuth: IAM database authentication is on (CKV_AWS_162).
func checkRDSIAMAuth(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeRDSCluster {
		return nil
	}
	if on, _, known := boolProp(r.Properties, "iamDatabaseAuthenticationEnabled"); known && !on {
		args.Manager.ReportViolation(fmt.Sprintf("Aurora cluster %q does not accept IAM authentication. Set "+
			"iamDatabaseAuthenticationEnabled: true so services connect with short-lived tokens.", r.Name), "")
	}
	return nil
}

// checkRDSNotPublic: no database instance is reachable from the internet (CKV_AWS_17).
func checkRDSNotPublic(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeRDSInstance {
		return nil
	}
	if on, _, known := boolProp(r.Properties, "publiclyAccessible"); known && on {
		args.Manager.ReportViolation(fmt.Sprintf("database instance %q is publicly accessible. Set publiclyAccessible: "+
			"false; clients reach it from the workload subnets.", r.Name), "")
	}
	return nil
}

const typeReplicationGroup = "aws:elasticache/replicationGroup:ReplicationGroup"

// checkRedisEncryption: Redis encrypts at rest with a customer-managed key,
// in transit, and requires an AUTH token (CKV_AWS_29, 30, 31, 191).
func checkRedisEncryption(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeReplicationGroup {
		return nil
	}
	var missing []string
	if on, _, known := boolProp(r.Properties, "atRestEncryptionEnabled"); known && !on {
		missing = append(missing, "atRestEncryptionEnabled")
	}
	if _, present, known := str(r.Properties, "kmsKeyId"); known && !present {
		missing = append(missing, "kmsKeyId (a customer-managed key)")
	}
	if on, _, known := boolProp(r.Properties, "transitEncryptionEnabled"); known && !on {
		missing = append(missing, "transitEncryptionEnabled")
	}
	if _, present, _ := str(r.Properties, "authToken"); !present {
		missing = append(missing, "authToken")
	}
	if len(missing) > 0 {
		args.Manager.ReportViolation(fmt.Sprintf("Redis replication group %q lacks %s. The cache component sets all of "+
			"them (TLS, at-rest encryption with its key, an AUTH token from pulumi-random).", r.Name,
			strings.Join(missing, ", ")), "")
	}
	return nil
}
