// Package rules is the EduAI policy pack: each rule is a pure function over
// resources and their properties, wrapped as a policyx policy with its
// default enforcement level. The same Policies serve the pack to the Pulumi
// engine (policies/main.go) and are evaluated in-process by the offline
// preview, so both give the same verdict. The pack imports no part of the
// program: it judges whatever program it is given.
package rules

import (
	"context"
	"fmt"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// PackName and PackVersion identify the pack in the engine's output.
const PackName = "eduai-policies"

// PackVersion is bumped with every change of a rule's behaviour.
var PackVersion = semver.MustParse("0.5.0")

// Policy names; they are the keys of policies/config/<stack>.json.
const (
	RequiredTags           = "required-tags"
	VpcFlowLogs            = "vpc-flow-logs"
	NoPublicIngress        = "no-public-ingress"
	DatabaseSubnetsPrivate = "database-subnets-private"
	EKSEndpointPrivate     = "eks-endpoint-private"
	EKSSecretsEncryption   = "eks-secrets-encryption"
	EKSControlPlaneLogs    = "eks-control-plane-logs"
	EKSMinimumVersion      = "eks-minimum-version"
	EKSVersionSupport      = "eks-version-support"
	NodeIMDSv2             = "node-imdsv2"
	NodeVolumesEncrypted   = "node-volumes-encrypted"
	KMSKeyRotation         = "kms-key-rotation"
	SubnetNoPublicIP       = "subnet-no-public-ip"
	DefaultSGRestricted    = "default-security-group-restricted"
	S3PublicAccessBlocked  = "s3-public-access-blocked"
	S3Encrypted            = "s3-encrypted"
	StatefulProtected      = "stateful-protected"
	RDSEncrypted           = "rds-storage-encrypted"
	RDSBackupRetention     = "rds-backup-retention"
	RDSDeletionProtection  = "rds-deletion-protection"
	RDSIAMAuth             = "rds-iam-auth"
	RDSNotPublic           = "rds-not-public"
	RedisEncryption        = "redis-encryption"
	BrokerHardened         = "broker-private-encrypted"
	HelmChartPinned        = "helm-chart-pinned"
	MeshMTLSStrict         = "mesh-mtls-strict"
	PrometheusStorage      = "prometheus-persistent-storage"
	GrafanaAdminPassword   = "grafana-admin-password-secret"
	WorkloadResources      = "workload-resources"
	WorkloadProbes         = "workload-probes"
	WorkloadHardened       = "workload-hardened"
	ImageTagPinned         = "image-tag-pinned"
	WorkloadPDB            = "workload-pdb"
	CanaryAnalysis         = "canary-analysis"
	DRAuroraGlobal         = "dr-aurora-global"
	DRBucketReplication    = "dr-s3-replication"
	DRElastiCacheGlobal    = "dr-elasticache-global"
	DRFailoverRecords      = "dr-route53-failover"
	DRVpcDistinct          = "dr-vpc-cidr-distinct"
	BackupCoverage         = "backup-coverage"
)

// BackupMinimumDays is how long backup-coverage wants continuous database backups kept (the seed's 30 days).
const BackupMinimumDays = 30

// resourcePolicy wraps a resource rule.
func resourcePolicy(name, description string, schema *policyx.ConfigSchema,
	check func(policyx.ResourceValidationArgs) error) policyx.Policy {
	return policyx.NewResourceValidationPolicy(name, policyx.ResourceValidationPolicyArgs{
		Description:      description,
		EnforcementLevel: policyx.EnforcementLevelMandatory,
		ConfigSchema:     schema,
		ValidateResource: func(_ context.Context, args policyx.ResourceValidationArgs) error { return check(args) },
	})
}

// stackPolicy wraps a stack rule that returns findings.
func stackPolicy(name, description string, level policyx.EnforcementLevel,
	check func([]policyx.AnalyzerResource) []Finding) policyx.Policy {
	return policyx.NewStackValidationPolicy(name, policyx.StackValidationPolicyArgs{
		Description:      description,
		EnforcementLevel: level,
		ValidateStack: func(_ context.Context, args policyx.StackValidationArgs) error {
			for _, f := range check(args.Resources) {
				args.Manager.ReportViolation(f.Message, f.URN)
			}
			return nil
		},
	})
}

// Policies returns every rule of the pack with its default enforcement level.
// The level in force for a stack comes from policies/config/<stack>.json.
func Policies() []policyx.Policy {
	return []policyx.Policy{
		resourcePolicy(RequiredTags,
			"Every taggable AWS resource carries the standard tags (own tags plus the provider's defaultTags).",
			requiredTagsSchema, checkRequiredTags),
		stackPolicy(VpcFlowLogs, "Every VPC sends flow logs somewhere (CKV2_AWS_11).",
			policyx.EnforcementLevelMandatory, VpcsWithoutFlowLogs),
		stackPolicy(NoPublicIngress,
			"No security group takes ingress from 0.0.0.0/0 or ::/0, except TCP 80/443 on a load balancer's group (CKV_AWS_24, CKV_AWS_25, CKV_AWS_260).",
			policyx.EnforcementLevelMandatory, PublicIngress),
		stackPolicy(DatabaseSubnetsPrivate, "Database-tier subnets have no route to an internet gateway.",
			policyx.EnforcementLevelMandatory, DatabaseSubnetsWithInternetRoute),
		resourcePolicy(EKSEndpointPrivate, "The EKS API endpoint is private (CKV_AWS_38, CKV_AWS_39).",
			nil, checkEndpointPrivate),
		resourcePolicy(EKSSecretsEncryption, "EKS encrypts Kubernetes secrets with a KMS key (CKV_AWS_58).",
			nil, checkSecretsEncryption),
		resourcePolicy(EKSControlPlaneLogs, "EKS sends the api, audit and authenticator control-plane logs (CKV_AWS_37).",
			&policyx.ConfigSchema{Properties: map[string]map[string]any{"requiredLogTypes": {
				"type": "array", "items": map[string]any{"type": "string"},
				"description": "Log types every cluster must enable (default api, audit, authenticator).",
			}}}, checkControlPlaneLogs),
		resourcePolicy(EKSMinimumVersion, "EKS runs a pinned Kubernetes version no older than the minimum.",
			&policyx.ConfigSchema{Properties: map[string]map[string]any{"minimumVersion": {
				"type": "string", "description": "Oldest accepted minor version (default " + DefaultMinimumVersion + ").",
			}}}, checkMinimumVersion),
		resourcePolicy(EKSVersionSupport, "The EKS version is in standard support, not billed extended support.",
			&policyx.ConfigSchema{Properties: map[string]map[string]any{
				"standardSupportEnds": {"type": "object", "additionalProperties": map[string]any{"type": "string"},
					"description": "End of standard support per minor version, YYYY-MM-DD (adds to the built-in calendar)."},
				"warnDays": {"type": "integer", "description": "Warn this many days before the end (default 90)."},
			}}, checkVersionSupport),
		stackPolicy(NodeIMDSv2, "Nodes require IMDSv2 with a hop limit of 1 (CKV_AWS_79, CKV_AWS_341).",
			policyx.EnforcementLevelMandatory, NodeMetadataFindings),
		stackPolicy(NodeVolumesEncrypted, "Node volumes are encrypted.",
			policyx.EnforcementLevelMandatory, NodeVolumeFindings),
		resourcePolicy(KMSKeyRotation, "Customer-managed KMS keys rotate their key material (CKV_AWS_7).",
			nil, checkKMSRotation),
		resourcePolicy(SubnetNoPublicIP, "Subnets do not assign public IPs by default (CKV_AWS_130).",
			nil, checkSubnetPublicIP),
		stackPolicy(DefaultSGRestricted, "Every VPC's default security group allows no traffic (CKV2_AWS_12).",
			policyx.EnforcementLevelMandatory, DefaultSecurityGroupFindings),
		stackPolicy(S3PublicAccessBlocked, "Every bucket blocks all public access (CKV2_AWS_6, CKV_AWS_53-56).",
			policyx.EnforcementLevelMandatory, BucketPublicAccessFindings),
		stackPolicy(S3Encrypted, "Every bucket encrypts objects by default (CKV_AWS_19, CKV_AWS_145).",
			policyx.EnforcementLevelMandatory, BucketEncryptionFindings),
		resourcePolicy(RDSEncrypted, "Aurora storage is encrypted with a customer-managed key (CKV_AWS_96, CKV_AWS_327).",
			nil, checkRDSEncrypted),
		resourcePolicy(RDSBackupRetention, "Aurora keeps backups long enough for the environment (CKV_AWS_133).",
			&policyx.ConfigSchema{Properties: map[string]map[string]any{"minimumDays": {
				"type": "integer", "description": "Shortest accepted retention in days (default 7)."}}},
			checkRDSBackupRetention),
		resourcePolicy(RDSDeletionProtection, "Aurora clusters have deletion protection (CKV_AWS_139).",
			nil, checkRDSDeletionProtection),
		resourcePolicy(RDSIAMAuth, "Aurora accepts IAM database authentication (CKV_AWS_162).", nil, checkRDSIAMAuth),
		resourcePolicy(RDSNotPublic, "No database instance is publicly accessible (CKV_AWS_17).", nil, checkRDSNotPublic),
		resourcePolicy(RedisEncryption, "Redis encrypts at rest (CMK) and in transit and requires AUTH (CKV_AWS_29-31, CKV_AWS_191).",
			nil, checkRedisEncryption),
		resourcePolicy(BrokerHardened, "Message brokers are private, TLS-only, authenticated and logged (CKV_AWS_48, 69, 80, 81, 291).",
			nil, checkBroker),
		resourcePolicy(HelmChartPinned, "Helm releases install an exact chart version.", nil, checkHelmPinned),
		resourcePolicy(MeshMTLSStrict, "The mesh-wide mTLS mode is STRICT.", nil, checkMeshMTLS),
		resourcePolicy(PrometheusStorage, "Prometheus keeps its samples on a persistent volume.", nil, checkPrometheusStorage),
		resourcePolicy(GrafanaAdminPassword, "Grafana's admin password is a secret, never plain text or a chart default.",
			nil, checkGrafanaAdminPassword),
		resourcePolicy(WorkloadResources, "Every container of a workload has CPU and memory requests and limits.",
			nil, checkWorkloadResources),
		resourcePolicy(WorkloadProbes, "Every serving container has readiness and liveness probes.", nil, checkWorkloadProbes),
		resourcePolicy(WorkloadHardened, "Containers run as non-root, read-only, unprivileged, without privilege escalation.",
			nil, checkWorkloadHardened),
		resourcePolicy(ImageTagPinned, "Images are pinned to a version or digest, never latest or untagged.",
			nil, checkImageTagPinned),
		stackPolicy(WorkloadPDB, "Every workload running more than one pod has a PodDisruptionBudget.",
			policyx.EnforcementLevelMandatory, PDBFindings),
		resourcePolicy(CanaryAnalysis, "Canary rollouts are judged by an analysis.", nil, checkCanaryAnalysis),
		stackPolicy(DRAuroraGlobal, "Every Aurora cluster belongs to a global cluster with a secondary in another region.",
			policyx.EnforcementLevelMandatory, GlobalDatabaseFindings),
		stackPolicy(DRBucketReplication, "Every application bucket replicates to another region.",
			policyx.EnforcementLevelMandatory, BucketReplicationFindings),
		stackPolicy(DRElastiCacheGlobal, "Every Redis group is in a Global Datastore with a secondary in another region; "+
			"a secondary is judged through its global group.", policyx.EnforcementLevelMandatory, GlobalDatastoreFindings),
		stackPolicy(DRFailoverRecords, "Route 53 failover records come in PRIMARY/SECONDARY pairs, each with a health check.",
			policyx.EnforcementLevelMandatory, FailoverRecordFindings),
		stackPolicy(DRVpcDistinct, "The stack's VPCs (primary and DR region) have distinct CIDR blocks.",
			policyx.EnforcementLevelMandatory, VpcOverlapFindings),
		// Stack policies get no config in policyx v3.274.1, so the bound is
		// fixed at the prod target; staging (a week of backups) disables the rule.
		stackPolicy(BackupCoverage, fmt.Sprintf("A backup plan keeps continuous database backups at least %d days "+
			"and selects every Aurora cluster by tag.", BackupMinimumDays), policyx.EnforcementLevelMandatory,
			BackupCoverageFindings(BackupMinimumDays)),
		resourcePolicy(StatefulProtected, "Stateful resources (buckets, keys, databases, caches, brokers, vaults) are protected.",
			nil, checkStatefulProtected),
	}
}

// NewPack returns the policy pack.
func NewPack() (policyx.PolicyPack, error) {
	return policyx.NewPolicyPack(PackName, PackVersion, policyx.EnforcementLevelMandatory, Policies())
}
