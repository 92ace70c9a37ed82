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
var PackVersion = semver.MustParse("0.10.0")

// Policy names; they are the keys of policies/config/<stack>.json.
const (
	RequiredTags           = "tags-aws-required"
	VpcFlowLogs            = "network-vpc-flow-logs"
	NoPublicIngress        = "network-sg-no-world-ingress"
	DatabaseSubnetsPrivate = "network-subnet-database-private"
	EKSEndpointPrivate     = "cluster-eks-endpoint-private"
	EKSSecretsEncryption   = "cluster-eks-secrets-encrypted"
	EKSControlPlaneLogs    = "cluster-eks-audit-logs"
	EKSMinimumVersion      = "cluster-eks-minimum-version"
	EKSVersionSupport      = "cluster-eks-version-support"
	NodeIMDSv2             = "cluster-node-imdsv2"
	NodeVolumesEncrypted   = "cluster-node-volumes-encrypted"
	KMSKeyRotation         = "data-kms-rotation"
	SubnetNoPublicIP       = "network-subnet-no-public-ip"
	DefaultSGRestricted    = "network-sg-default-closed"
	S3PublicAccessBlocked  = "data-s3-public-access-blocked"
	S3Encrypted            = "data-s3-encrypted"
	StatefulProtected      = "dr-stateful-protected"
	RDSEncrypted           = "data-rds-encrypted"
	RDSBackupRetention     = "data-rds-backup-retention"
	RDSDeletionProtection  = "data-rds-deletion-protection"
	RDSIAMAuth             = "data-rds-iam-auth"
	RDSNotPublic           = "data-rds-not-public"
	RedisEncryption        = "data-redis-encrypted"
	BrokerHardened         = "data-broker-private-encrypted"
	HelmChartPinned        = "delivery-helm-chart-pinned"
	MeshMTLSStrict         = "mesh-peerauth-strict"
	MeshMTLSMeshWide       = "mesh-peerauth-mesh-wide"
	PrometheusStorage      = "observability-prometheus-storage"
	GrafanaAdminPassword   = "observability-grafana-password-secret"
	WorkloadResources      = "workload-container-resources"
	WorkloadProbes         = "workload-container-probes"
	WorkloadHardened       = "workload-container-hardened"
	ImageTagPinned         = "workload-image-tag-pinned"
	WorkloadPDB            = "workload-pdb-present"
	WorkloadNetworkPolicy  = "workload-networkpolicy-default-deny"
	CanaryAnalysis         = "delivery-rollout-analysis"
	DRAuroraGlobal         = "dr-aurora-global-member"
	DRBucketReplication    = "dr-s3-replicated"
	DRElastiCacheGlobal    = "dr-redis-global-member"
	DRFailoverRecords      = "dr-route53-failover-pair"
	DRVpcDistinct          = "dr-vpc-cidr-distinct"
	BackupCoverage         = "dr-backup-coverage"

	KMSKeyPolicy          = "data-kms-key-policy"
	SecretCMK             = "data-secret-cmk"
	RDSInstanceMonitoring = "data-rds-instance-monitoring"
	RDSMinorUpgrades      = "data-rds-minor-upgrades"
	RDSLogging            = "data-rds-logging"
	RDSInstanceCount      = "data-rds-instance-count"
	RDSTLSOnly            = "data-rds-tls-only"
	RedisMultiAZ          = "data-redis-multi-az"
	S3Versioning          = "data-s3-versioning"
	S3AccessLogging       = "data-s3-access-logging"
	S3Lifecycle           = "data-s3-lifecycle"
	S3TLSOnly             = "data-s3-policy-tls-only"
	IAMRoleTrust          = "iam-role-trust-scoped"
	IAMPolicyNotAdmin     = "iam-policy-not-admin"
	IAMServiceSourceGuard = "iam-service-source-guarded"
	EIPAttached           = "network-eip-attached"
	SGAttached            = "network-sg-attached"
	NodeGroupNoSSH        = "cluster-nodegroup-no-ssh"
	LaunchTemplateSafe    = "cluster-launch-template-safe"
	NoLegacyAddOns        = "cluster-no-dashboard-tiller"
	BackupVaultCMK        = "dr-backup-vault-cmk"
	GlobalClusterEncrypt  = "dr-aurora-global-encrypted"
	AlarmActions          = "observability-alarm-actions"
	ContainerCapabilities = "workload-container-capabilities"
	PodHostAccess         = "workload-pod-host-access"
	PodSeccomp            = "workload-pod-seccomp"
	NotDefaultNamespace   = "workload-namespace-not-default"
	ServiceAccountOwn     = "workload-service-account"
	ImageDigest           = "workload-image-digest"
	HPAMinReplicas        = "workload-hpa-min-replicas"
	TopologySpread        = "workload-topology-spread"
	ServiceClusterIP      = "workload-service-clusterip"
	IngressNoSnippets     = "workload-ingress-no-snippets"
	RBACLeastPrivilege    = "workload-rbac-least-privilege"
	MeshDefaultDeny       = "mesh-namespace-default-deny"
	MeshDestRuleTLS       = "mesh-destinationrule-tls"
	BrokerVersion         = "data-broker-version-supported"
	LogGroupCMK           = "data-log-group-encrypted"
	RunnerNoPublicIP      = "delivery-runner-no-public-ip"
	RunnerIMDSv2          = "delivery-runner-imdsv2"
	RunnerNoInbound       = "delivery-runner-no-inbound"

	// PolicyExceptions carries the exceptions by URN (see exceptions.go); it judges nothing.
	PolicyExceptions = "policy-exceptions"
)

// BackupMinimumDays is how long dr-backup-coverage wants continuous database backups kept (the seed's 30 days).
const BackupMinimumDays = 30

// Rule is one rule of the pack: a pure function over one resource (Check)
// or over the whole plan (Stack), with what it judges (Types or Applies,
// for the compliance report), its description and default level.
type Rule struct {
	Name, Description string
	// Types the rule judges; Applies instead, when it is a predicate.
	Types   []string
	Applies func(typ string) bool
	// Advisory makes the default level advisory (else mandatory); policies/config sets it per stack.
	Advisory bool
	Schema   *policyx.ConfigSchema
	Check    func(policyx.ResourceValidationArgs) error
	Stack    func([]policyx.AnalyzerResource) []Finding
}

// AppliesTo tells whether the rule judges resources of type typ.
func (r Rule) AppliesTo(typ string) bool {
	if r.Applies != nil {
		return r.Applies(typ)
	}
	for _, t := range r.Types {
		if t == typ {
			return true
		}
	}
	return false
}

func (r Rule) level() policyx.EnforcementLevel {
	if r.Advisory {
		return policyx.EnforcementLevelAdvisory
	}
	return policyx.EnforcementLevelMandatory
}

// policy wraps the rule for policyx; a violation of a resource an exception
// names (policy-exceptions) is dropped here, under the engine and offline alike.
func (r Rule) policy() policyx.Policy {
	if r.Stack != nil {
		return policyx.NewStackValidationPolicy(r.Name, policyx.StackValidationPolicyArgs{
			Description: r.Description, EnforcementLevel: r.level(),
			ValidateStack: func(_ context.Context, args policyx.StackValidationArgs) error {
				for _, f := range r.Stack(args.Resources) {
					if !excepted(r.Name, f.URN) {
						args.Manager.ReportViolation(f.Message, f.URN)
					}
				}
				return nil
			},
		})
	}
	return policyx.NewResourceValidationPolicy(r.Name, policyx.ResourceValidationPolicyArgs{
		Description: r.Description, EnforcementLevel: r.level(), ConfigSchema: r.Schema,
		ValidateResource: func(_ context.Context, args policyx.ResourceValidationArgs) error {
			if excepted(r.Name, args.Resource.URN) {
				return nil
			}
			return r.Check(args)
		},
	})
}

func types(ts ...string) []string { return ts }

func schema(props map[string]map[string]any) *policyx.ConfigSchema {
	return &policyx.ConfigSchema{Properties: props}
}

var bucketTypes = types(typeBucket, typeBucketV1)

// Rules returns every rule of the pack, by area.
func Rules() []Rule {
	return []Rule{
		// tags
		{Name: RequiredTags, Description: "Every taggable AWS resource carries the standard tags (own tags plus the provider's defaultTags).",
			Applies: Taggable, Schema: requiredTagsSchema, Check: checkRequiredTags},
		// network
		{Name: VpcFlowLogs, Description: "Every VPC sends flow logs to a destination (CKV2_AWS_11).", Types: types(typeVpc), Stack: VpcsWithoutFlowLogs},
		{Name: NoPublicIngress, Description: "No security group takes ingress from 0.0.0.0/0 or ::/0, except TCP 80/443 on a load balancer's group (CKV_AWS_24, CKV_AWS_25, CKV_AWS_260).",
			Types: types(typeSecurityGroup, typeSGRule, typeSGIngressRule), Stack: PublicIngress},
		{Name: DatabaseSubnetsPrivate, Description: "Database-tier subnets have no route to an internet gateway.",
			Types: types(typeSubnet), Stack: DatabaseSubnetsWithInternetRoute},
		{Name: SubnetNoPublicIP, Description: "Subnets do not assign public IPs by default (CKV_AWS_130).", Types: types(typeSubnet), Check: checkSubnetPublicIP},
		{Name: DefaultSGRestricted, Description: "Every VPC's default security group allows no traffic (CKV2_AWS_12).",
			Types: types(typeVpc, typeDefaultSG), Stack: DefaultSecurityGroupFindings},
		{Name: EIPAttached, Description: "Every Elastic IP is attached to a NAT gateway or an instance (CKV2_AWS_19).", Types: types(typeEIP), Stack: EIPAttachedFindings},
		{Name: SGAttached, Description: "Every security group is attached to the resource it guards; its own rules do not attach it (CKV2_AWS_5).", Types: types(typeSecurityGroup), Stack: SecurityGroupAttachedFindings},
		// cluster
		{Name: EKSEndpointPrivate, Description: "The EKS API endpoint is private (CKV_AWS_38, CKV_AWS_39).", Types: types(typeEKSComponent, typeEKSCluster), Check: checkEndpointPrivate},
		{Name: EKSSecretsEncryption, Description: "EKS encrypts Kubernetes secrets with a customer-managed KMS key (CKV_AWS_58).", Types: types(typeEKSComponent, typeEKSCluster), Check: checkSecretsEncryption},
		{Name: EKSControlPlaneLogs, Description: "EKS sends the api, audit and authenticator control-plane logs (CKV_AWS_37).",
			Types: types(typeEKSComponent, typeEKSCluster), Check: checkControlPlaneLogs,
			Schema: schema(map[string]map[string]any{"requiredLogTypes": {"type": "array", "items": map[string]any{"type": "string"},
				"description": "Log types every cluster must enable (default api, audit, authenticator)."}})},
		{Name: EKSMinimumVersion, Description: "EKS runs a pinned Kubernetes version no older than the minimum.",
			Types: types(typeEKSComponent, typeEKSCluster), Check: checkMinimumVersion,
			Schema: schema(map[string]map[string]any{"minimumVersion": {"type": "string",
				"description": "Oldest accepted minor version (default " + DefaultMinimumVersion + ")."}})},
		{Name: EKSVersionSupport, Description: "The EKS version is in standard support, not billed extended support (CKV_AWS_339).",
			Types: types(typeEKSComponent, typeEKSCluster), Check: checkVersionSupport,
			Schema: schema(map[string]map[string]any{
				"standardSupportEnds": {"type": "object", "additionalProperties": map[string]any{"type": "string"},
					"description": "End of standard support per minor version, YYYY-MM-DD (adds to the built-in calendar)."},
				"warnDays": {"type": "integer", "description": "Warn this many days before the end (default 90)."}})},
		{Name: NodeIMDSv2, Description: "Nodes require IMDSv2 with a hop limit of 1 (CKV_AWS_79, CKV_AWS_341).",
			Types: types(typeLaunchTemplate, typeNodeGroup), Stack: NodeMetadataFindings},
		{Name: NodeVolumesEncrypted, Description: "Node volumes are encrypted, by mapping or by the region's EBS default.", Types: types(typeLaunchTemplate, typeNodeGroup), Stack: NodeVolumeFindings},
		{Name: NodeGroupNoSSH, Description: "Node groups open no SSH access, and no launch template carries a key pair (CKV_AWS_100).",
			Types: types(typeNodeGroup, typeLaunchTemplate), Check: checkNodeGroupNoSSH},
		{Name: LaunchTemplateSafe, Description: "Node launch templates give no public IP and hold no credentials in user data (CKV_AWS_88, CKV_AWS_46).",
			Types: types(typeLaunchTemplate), Check: checkLaunchTemplateSafe},
		{Name: NoLegacyAddOns, Description: "Neither the Kubernetes dashboard nor Tiller is installed (CKV_K8S_33, 34, 44, 45).",
			Types: append(types(typeHelmRelease, typeService), workloadTypes...), Check: checkNoLegacyAddOns},
		// data
		{Name: KMSKeyRotation, Description: "Customer-managed KMS keys rotate their key material (CKV_AWS_7).", Types: types(typeKMSKey), Check: checkKMSRotation},
		{Name: KMSKeyPolicy, Description: "KMS keys are enabled and no key policy allows any principal unless a condition names the caller (CKV_AWS_33, CKV_AWS_227).",
			Types: types(typeKMSKey), Check: checkKMSKeyPolicy},
		{Name: SecretCMK, Description: "Secrets Manager secrets are encrypted with a customer-managed key (CKV_AWS_149).", Types: types(typeSecret), Check: checkSecretCMK},
		{Name: LogGroupCMK, Description: "CloudWatch log groups are encrypted with a customer-managed key (CKV_AWS_158).",
			Types: types("aws:cloudwatch/logGroup:LogGroup"), Check: checkLogGroupCMK},
		{Name: S3PublicAccessBlocked, Description: "Every bucket blocks all public access and has no public canned ACL (CKV2_AWS_6, CKV_AWS_53-56, CKV_AWS_20, CKV_AWS_57).", Types: bucketTypes, Stack: BucketPublicAccessFindings},
		{Name: S3Encrypted, Description: "Every bucket encrypts objects by default with a customer-managed KMS key (access-log buckets: SSE-S3) (CKV_AWS_19, CKV_AWS_145).", Types: bucketTypes, Stack: BucketEncryptionFindings},
		{Name: S3Versioning, Description: "Every bucket keeps object versions (CKV_AWS_21).", Types: bucketTypes, Stack: BucketVersioningFindings},
		{Name: S3AccessLogging, Description: "Every bucket but log buckets and replicas logs its access (CKV_AWS_18).", Types: bucketTypes, Stack: BucketLoggingFindings},
		{Name: S3Lifecycle, Description: "Every bucket has a lifecycle rule that aborts incomplete multipart uploads (CKV2_AWS_61, CKV_AWS_300).",
			Types: bucketTypes, Stack: BucketLifecycleFindings},
		{Name: S3TLSOnly, Description: "Every bucket refuses every S3 action on itself and its objects without TLS; no bucket policy allows anyone unless a condition names the caller, or locks everyone out (CKV_AWS_70, CKV_AWS_93).",
			Types: bucketTypes, Stack: BucketPolicyFindings},
		{Name: RDSEncrypted, Description: "Aurora storage is encrypted with a customer-managed key (CKV_AWS_96, CKV_AWS_327).", Types: types(typeRDSCluster), Check: checkRDSEncrypted},
		{Name: RDSBackupRetention, Description: "Aurora keeps backups long enough for the environment (CKV_AWS_133).",
			Types: types(typeRDSCluster), Check: checkRDSBackupRetention,
			Schema: schema(map[string]map[string]any{"minimumDays": {"type": "integer", "description": "Shortest accepted retention in days (default 7)."}})},
		{Name: RDSDeletionProtection, Description: "Aurora clusters have deletion protection and a final snapshot (CKV_AWS_139).", Types: types(typeRDSCluster), Check: checkRDSDeletionProtection},
		{Name: RDSIAMAuth, Description: "Aurora accepts IAM database authentication (CKV_AWS_162).", Types: types(typeRDSCluster), Check: checkRDSIAMAuth},
		{Name: RDSNotPublic, Description: "No database instance is publicly accessible (CKV_AWS_17).", Types: types(typeRDSInstance), Check: checkRDSNotPublic},
		{Name: RDSInstanceMonitoring, Description: "Database instances send Performance Insights (CMK) and enhanced monitoring (CKV_AWS_118, 353, 354).",
			Types: types(typeRDSInstance), Check: checkRDSInstanceMonitoring},
		{Name: RDSMinorUpgrades, Description: "Database instances get minor engine upgrades without drift: automatic under a major-only version, or by config under an exact pin (CKV_AWS_226).", Types: types(typeRDSInstance), Check: checkRDSMinorUpgrades},
		{Name: RDSLogging, Description: "Aurora exports its log, logs slow statements and schema changes, and copies tags to snapshots (CKV_AWS_324, CKV2_AWS_27, CKV_AWS_313).",
			Types: types(typeRDSCluster), Stack: RDSLoggingFindings},
		{Name: RDSTLSOnly, Description: "Aurora refuses connections without TLS (rds.force_ssl 1, require_secure_transport ON) (CKV2_AWS_69).",
			Types: types(typeRDSCluster), Stack: RDSTLSFindings},
		{Name: RDSInstanceCount, Description: fmt.Sprintf("Every writer Aurora cluster runs at least %d instances.", MinInstances),
			Types: types(typeRDSCluster), Stack: RDSInstanceCountFindings},
		{Name: RedisEncryption, Description: "Redis encrypts at rest (CMK) and in transit (required, not preferred) and requires a non-empty AUTH token (CKV_AWS_29-31, CKV_AWS_191).",
			Types: types(typeReplicationGroup), Check: checkRedisEncryption},
		{Name: RedisMultiAZ, Description: "Redis fails over automatically to a replica in another zone (CKV2_AWS_50).", Types: types(typeReplicationGroup), Check: checkRedisMultiAZ},
		{Name: BrokerHardened, Description: "Message brokers are private, TLS-only, authenticated, logged and take minor upgrades (CKV_AWS_48, 69, 80, 81, 207, 291).",
			Types: types(typeMQBroker, typeMSKCluster), Check: checkBroker},
		{Name: BrokerVersion, Description: "Message brokers run an engine version AWS supports (CKV_AWS_208).",
			Types: types(typeMQBroker, typeMSKCluster), Check: checkBrokerVersion,
			Schema: schema(map[string]map[string]any{"minimumVersions": {"type": "object", "additionalProperties": map[string]any{"type": "string"},
				"description": "Oldest accepted version per engine (rabbitmq, kafka)."}})},
		// iam
		{Name: IAMRoleTrust, Description: "Role trust policies name their principals: never anyone, whatever the condition, and another account only with sts:ExternalId or aws:PrincipalArn (CKV_AWS_60, CKV_AWS_61).", Types: types(typeIAMRole), Check: checkRoleTrust},
		{Name: IAMServiceSourceGuard, Description: "Trust and bucket policies that let a service in hold it to our account (aws:SourceAccount; confused deputy).",
			Types: types(typeIAMRole, typeBucketPolicy), Check: checkServiceSourceGuard},
		{Name: IAMPolicyNotAdmin, Description: "No policy (inline, managed, a role's inlinePolicies, any attachment) grants every action (Action or NotAction), an IAM escalation on every resource, or an administrator managed policy (CKV_AWS_62, 63, 274, CKV2_AWS_40, 56).",
			Types: append(append(types(typeIAMRole), inlinePolicyTypes...), attachmentTypes...), Check: checkPolicyNotAdmin},
		// dr
		{Name: StatefulProtected, Description: "Stateful resources (buckets, keys, databases, caches, brokers, vaults) are protected.",
			Types: statefulTypes, Check: checkStatefulProtected},
		{Name: DRAuroraGlobal, Description: "Every Aurora cluster belongs to a global cluster with a secondary in another region.",
			Types: types(typeRDSCluster), Stack: GlobalDatabaseFindings},
		{Name: GlobalClusterEncrypt, Description: "Global databases are encrypted (CKV_AWS_140).", Types: types(typeGlobalCluster), Stack: GlobalClusterEncryptionFindings},
		{Name: DRBucketReplication, Description: "Every application bucket replicates (an enabled rule) to a bucket of another region (CKV_AWS_144).", Types: bucketTypes, Stack: BucketReplicationFindings},
		{Name: DRElastiCacheGlobal, Description: "Every Redis group is in a Global Datastore with a secondary in another region; a secondary is judged through its global group.",
			Types: types(typeReplicationGroup), Stack: GlobalDatastoreFindings},
		{Name: DRFailoverRecords, Description: "Route 53 failover records come in PRIMARY/SECONDARY pairs, each with a health check.",
			Types: types(typeRoute53Record), Stack: FailoverRecordFindings},
		{Name: DRVpcDistinct, Description: "The stack's VPCs (primary and DR region) have distinct CIDR blocks.", Types: types(typeVpc), Stack: VpcOverlapFindings},
		// Stack policies get no config in policyx v3.274.1, so the bound is
		// fixed at the prod target; staging (a week of backups) disables the rule.
		{Name: BackupCoverage, Description: fmt.Sprintf("A backup plan keeps continuous database backups at least %d days "+
			"and selects every Aurora cluster and application bucket by tag (CKV2_AWS_8).", BackupMinimumDays),
			Types: types(typeRDSCluster, typeBackupPlan), Stack: BackupCoverageFindings(BackupMinimumDays)},
		{Name: BackupVaultCMK, Description: "Backup vaults encrypt with a customer-managed key (CKV_AWS_166).", Types: types("aws:backup/vault:Vault"), Check: checkBackupVaultCMK},
		// observability
		{Name: PrometheusStorage, Description: "Prometheus keeps its samples on a persistent volume.", Types: types(typeHelmRelease, typePrometheusCR), Check: checkPrometheusStorage},
		{Name: GrafanaAdminPassword, Description: "Grafana's admin password is a secret, never plain text or a chart default.", Types: types(typeHelmRelease), Check: checkGrafanaAdminPassword},
		{Name: AlarmActions, Description: "CloudWatch alarms notify someone (CKV_AWS_319).", Types: types(typeMetricAlarm), Check: checkAlarmActions},
		// workload
		{Name: WorkloadResources, Description: "Every container of a workload has CPU and memory requests and limits (CKV_K8S_10-13).", Types: workloadTypes, Check: checkWorkloadResources},
		{Name: WorkloadProbes, Description: "Every serving container has readiness and liveness probes (CKV_K8S_8, 9).", Types: servingTypes, Check: checkWorkloadProbes},
		{Name: WorkloadHardened, Description: "Containers run as non-root (never UID 0), read-only, unprivileged, without privilege escalation (CKV_K8S_2, 5, 6, 16, 20, 22, 23, 29, 30).",
			Types: workloadTypes, Check: checkWorkloadHardened},
		{Name: ContainerCapabilities, Description: "Containers drop ALL capabilities and add none (CKV_K8S_7, 24, 25, 28, 36, 37, 39).", Types: workloadTypes, Check: checkContainerCapabilities},
		{Name: PodHostAccess, Description: "Pods share no host namespace and use no host port or host path (CKV_K8S_1, 3, 4, 17-19, 26, 27).", Types: workloadTypes, Check: checkPodHostAccess},
		{Name: PodSeccomp, Description: "Pods run with the runtime's default seccomp profile (CKV_K8S_31, 32).", Types: workloadTypes, Check: checkPodSeccomp},
		{Name: NotDefaultNamespace, Description: "Nothing runs or is kept in the default namespace: workloads, Services, accounts, Ingresses, Secrets, ConfigMaps, Roles, RoleBindings (CKV_K8S_21).",
			Types: defaultNamespaceTypes, Check: checkNotDefaultNamespace},
		{Name: ServiceAccountOwn, Description: "Workloads run as a service account of their own, created in their cluster and namespace, without a mounted API token (CKV_K8S_38, 41, 42).",
			Types: workloadTypes, Stack: ServiceAccountFindings},
		{Name: ImageTagPinned, Description: "Images are pinned to a version or digest, never latest or untagged (CKV_K8S_14).", Types: workloadTypes, Check: checkImageTagPinned},
		{Name: ImageDigest, Description: "Images are referenced by digest (CKV_K8S_43).", Advisory: true, Types: workloadTypes, Check: checkImageDigest},
		{Name: WorkloadNetworkPolicy, Description: "Every namespace with workloads (or created for them) has a default-deny NetworkPolicy, of egress too where egress is allow-listed (kube-score pod NetworkPolicy).",
			Types: append(append([]string{}, servingTypes...), typeJob, typeNetworkPolicy, typeNamespace), Stack: NetworkPolicyFindings},
		{Name: WorkloadPDB, Description: "Every workload running more than one pod has a PodDisruptionBudget.", Types: servingTypes, Stack: PDBFindings},
		{Name: HPAMinReplicas, Description: "Autoscaled workloads keep at least minReplicas pods (default 2).", Types: types(typeHPA), Check: checkHPAMinReplicas,
			Schema: schema(map[string]map[string]any{"minReplicas": {"type": "integer", "description": "Fewest pods an HPA may keep (default 2)."}})},
		{Name: TopologySpread, Description: "Serving workloads spread their pods over zones.", Types: types(typeDeployment, typeStatefulSet, typeRollout), Check: checkTopologySpread},
		{Name: ServiceClusterIP, Description: "Services are ClusterIP behind the ingress; LoadBalancers only in the ingress namespaces, no NodePorts.",
			Types: types(typeService), Check: checkServiceClusterIP,
			Schema: schema(map[string]map[string]any{"ingressNamespaces": {"type": "array", "items": map[string]any{"type": "string"},
				"description": "Namespaces whose Services may be LoadBalancers (default istio-ingress, ingress-nginx)."}})},
		{Name: IngressNoSnippets, Description: "No ingress-nginx snippet annotations (CKV_K8S_152-154).", Types: types(typeIngress), Check: checkIngressNoSnippets},
		{Name: RBACLeastPrivilege, Description: "Roles name their verbs and resources and grant no escalation (CKV_K8S_49, 155-158).",
			Types: types(typeRole, typeClusterRole), Check: checkRBACLeastPrivilege},
		// mesh and delivery
		{Name: MeshMTLSStrict, Description: "The mesh-wide mTLS mode is STRICT, and no namespace, workload or port policy lowers it.",
			Types: types(typePeerAuthentication), Check: checkMeshMTLS},
		{Name: MeshMTLSMeshWide, Description: "Every meshed cluster has a mesh-wide PeerAuthentication (Istio's default is PERMISSIVE).",
			Types: types(typeNamespace, typePeerAuthentication), Stack: MeshWideMTLSFindings},
		{Name: MeshDefaultDeny, Description: "Every meshed namespace has an allow-nothing AuthorizationPolicy.", Types: types(typeNamespace), Stack: MeshDefaultDenyFindings},
		{Name: MeshDestRuleTLS, Description: "No DestinationRule turns TLS off, or replaces ISTIO_MUTUAL for a mesh host.", Types: types(typeDestRule), Check: checkDestinationRuleTLS},
		{Name: HelmChartPinned, Description: "Helm releases install an exact chart version.", Types: types(typeHelmRelease), Check: checkHelmPinned},
		{Name: CanaryAnalysis, Description: "Canary rollouts with steps are judged by an analysis that starts before the last step (a stepless Rollout is a rolling update).",
			Types: types(typeRollout), Check: checkCanaryAnalysis},
		// The in-VPC CI runner (issue #18), and every other Auto Scaling group.
		{Name: RunnerNoPublicIP, Description: "Auto Scaling groups launch no instance with a public IP or into a public subnet.",
			Types: types(typeASG), Stack: RunnerPublicIPFindings},
		{Name: RunnerIMDSv2, Description: "Auto Scaling groups launch instances that answer only IMDSv2, hop limit 1.",
			Types: types(typeASG), Stack: RunnerIMDSv2Findings},
		{Name: RunnerNoInbound, Description: "Auto Scaling groups launch instances with no key pair and no inbound security-group rule.",
			Types: types(typeASG), Stack: RunnerInboundFindings},
	}
}

// Policies returns every rule of the pack as a policyx policy with its
// default enforcement level, after the policy that carries the exceptions.
// The level in force for a stack comes from policies/config/<stack>.json.
func Policies() []policyx.Policy {
	out := []policyx.Policy{exceptionsPolicy()}
	for _, r := range Rules() {
		out = append(out, r.policy())
	}
	return out
}

// NewPack returns the policy pack.
func NewPack() (policyx.PolicyPack, error) {
	return policyx.NewPolicyPack(PackName, PackVersion, policyx.EnforcementLevelMandatory, Policies())
}
