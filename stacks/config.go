package stacks

import (
	"encoding/json"
	"github.com/eduai/infra/components/addons"
	"github.com/eduai/infra/components/cluster"
	"github.com/eduai/infra/components/mesh"
	"github.com/eduai/infra/components/observability"
	"github.com/eduai/infra/components/service"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/eduai/infra/components/network"
	"github.com/eduai/infra/components/queue"
	"github.com/eduai/infra/internal/stackfile"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Project is the Pulumi project name; it is in every URN, so it never changes.
const Project = "eduai"

// Environment is the kind of stack: it picks defaults and policy enforcement.
type Environment string

const (
	Dev     Environment = "dev"
	Staging Environment = "staging"
	Prod    Environment = "prod"
)

// Environments lists the valid environments.
var Environments = []Environment{Dev, Staging, Prod}

// Config is the whole decoded stack config.
type Config struct {
	// The Pulumi stack name (not a config key).
	Stack string
	// The environment kind: it picks defaults, validation rules and policy enforcement.
	// Default: the stack name
	Environment Environment
	// The primary region, e.g. `us-west-2`. Required.
	// Type: AWS region name
	Region string
	// Standard tags, merged over the defaults and put on the AWS provider's `defaultTags`; `CostCenter` has no
	// default and `tags-aws-required` demands it; keys may not start with `aws:`.
	Tags map[string]string
	// The VPC: subnets per tier and zone, NAT, flow logs, endpoints.
	Network NetworkConfig
	// EKS: version, endpoint access, control-plane logs, access entries, node groups, managed add-ons.
	Cluster ClusterConfig
	// The Helm add-ons' chart versions and cert-manager's ClusterIssuer.
	Addons AddonsConfig
	// The application buckets.
	Storage StorageConfig
	// The Aurora PostgreSQL cluster.
	Database DatabaseConfig
	// The ElastiCache Redis replication group.
	Cache CacheConfig
	// The message queue: Kafka on Amazon MSK or RabbitMQ on Amazon MQ.
	Queue QueueConfig
	// Istio: mTLS, default deny, the ingress Gateway's hosts.
	Mesh MeshConfig
	// The public Route 53 zone of the stack's hosts.
	DNS ZoneConfig
	// Logs, metrics, alerts, dashboards and traces.
	Observability ObservabilityConfig
	// Disaster recovery in a secondary region.
	DR DRConfig
	// AWS Backup of the database and the buckets.
	Backup BackupConfig
	// A platform service; the key is its name (1–42 lowercase letters, digits, dashes) and its stable identity:
	// renaming a key replaces the service.
	Services map[string]ServiceConfig
	// The Argo Rollouts controller, installed when a service is a canary.
	Rollouts RolloutsConfig
	// Argo CD and the Applications teams deliver by GitOps.
	GitOps GitOpsConfig
	// The GitLab Runner that deploys the stack from inside its VPC.
	Runner RunnerConfig
	// The first phase of a new environment (docs/runbooks/new-environment.md).
	Bootstrap BootstrapConfig

	// plainKeys are the config keys known to hold no secret value; nil when
	// the runtime does not say (see ConfigSource.SecretKeys).
	plainKeys map[string]bool
	// secretPaths are the config paths known to be secret; nil when unknown.
	secretPaths map[string]bool
	// regionSuffix ends the physical names of the secondary region's tier ("-dr").
	regionSuffix string
	// standbyTier: this is a standby copy of the config (tierConfig).
	standbyTier bool
}

// GitOpsConfig is `eduai:gitops`: Argo CD, installed by Helm, and the
// Applications of the workloads teams deliver by GitOps (not the platform
// services, which this program deploys).
type GitOpsConfig struct {
	// Install Argo CD.
	Enabled bool `json:"enabled"`
	// The argo-cd chart.
	// Type: exact version
	ChartVersion string `json:"chartVersion"`
	// What the AppProject may deliver from (the seed's k8s-manifests and helm-charts repositories).
	// Type: list of Git URLs
	Repos []string `json:"repos"`
	// Automated sync (prune, self-heal) of every commit; off, a person syncs.
	AutoSync bool `json:"autoSync"`
	// Applications teams deliver by GitOps (not the platform services); the key is the Application's name.
	Applications map[string]GitOpsApp `json:"applications"`
}

// GitOpsApp is one Application: a path in a Git repository or a chart in a Helm repository.
type GitOpsApp struct {
	// The Git or Helm repository; one of `repos`. Required.
	RepoURL string `json:"repoURL"`
	// The path in a Git repository; give `path` or `chart`.
	Path string `json:"path"`
	// The chart in a Helm repository; give `path` or `chart`.
	Chart string `json:"chart"`
	// The Git revision or chart version. Required.
	TargetRevision string `json:"targetRevision"`
	// Where it deploys; the program creates the namespace, which may not be a platform namespace. Required.
	Namespace string `json:"namespace"`
}

// RunnerConfig is `eduai:runner`: the GitLab Runner that deploys the stack
// from inside its VPC (the API endpoint is private), tagged eduai-<stack>.
type RunnerConfig struct {
	// The GitLab Runner in the VPC (tag `eduai-<stack>`; prod's DR region also `eduai-prod-dr`); needs
	// `network.natStrategy` other than `none`.
	Enabled bool `json:"enabled"`
	// Runner instances.
	// Type: EC2 instance type
	InstanceType string `json:"instanceType"`
	// Instances in its Auto Scaling group.
	// Type: 1–10
	Instances int `json:"instances"`
	// Each instance's encrypted gp3 root volume.
	// Type: 30–16384
	DiskSizeGiB int `json:"diskSizeGiB"`
	// Installed at boot, checked against `release.sha256`; new instances take a change (runbook).
	// Type: exact GitLab Runner release
	Version string `json:"version"`
	// The GitLab instance.
	// Type: `https://` URL
	GitLabURL string `json:"gitlabUrl"`
	// Jobs at once per instance.
	// Type: 1–16
	Concurrent int `json:"concurrent"`
	// The runner authentication token (`glrt-…`), secret config only; without it, put it into the token secret with
	// the AWS CLI (runbook).
	// Type: secret string
	Token string `json:"token"`
}

// runnerOn tells whether the stack runs its in-VPC runner.
func (c *Config) runnerOn() bool { return c.Runner.Enabled }

// RunnerTag is the runner tag the stack's deploy and preview jobs select.
func RunnerTag(stack string) string { return Project + "-" + stack }

// BootstrapConfig is `eduai:bootstrap`: the first `up` of a new environment
// (docs/runbooks/new-environment.md). The API endpoint is private and the
// account has no VPC yet, so nothing outside can reach the cluster, and no
// runner can be inside. With Foundation on, the program creates only what
// needs no Kubernetes API — the network(s), their peering, the runner(s), the
// clusters' API security groups and the EKS clusters (cluster.APIAccess says
// why the clusters) — from a workstation or a shared runner with AWS
// credentials alone; the
// endpoint is never public. The second `up`, without this key, runs on the
// in-VPC runner and builds everything else.
type BootstrapConfig struct {
	// The first up of a new environment: only networks, peering, runners, the clusters' API security groups and the
	// EKS clusters (`docs/runbooks/new-environment.md`).
	Foundation bool `json:"foundation"`
}

// bootstrapping tells whether this run is the foundation phase.
func (c *Config) bootstrapping() bool { return c.Bootstrap.Foundation }

// DefaultGitOpsRepos are the seed's GitOps repositories.
var DefaultGitOpsRepos = []string{"https://gitlab.com/eduai/k8s-manifests.git", "https://gitlab.com/eduai/helm-charts.git"}

// BackupConfig is `eduai:backup`: AWS Backup of the database and the buckets.
type BackupConfig struct {
	// AWS Backup (the seed: dev has no backups).
	Enabled bool `json:"enabled"`
	// Continuous database backup window (point-in-time recovery).
	// Type: 1–35
	DatabaseDays int `json:"databaseDays"`
	// Hourly bucket backups kept.
	// Type: days
	DataDays int `json:"dataDays"`
	// Vault lock: recovery points undeletable this long; 0: no lock.
	// Type: 0–`dataDays`
	LockDays int `json:"lockDays"`
	// The monthly restore-testing plan.
	RestoreTests bool `json:"restoreTests"`
	// In prod, the only principals the vault policy lets delete recovery points; none: nobody may.
	// Type: list of IAM role ARNs
	AdminRoleARNs []string `json:"adminRoleArns"`
}

// backupOn tells whether AWS Backup runs for the stack.
func (c *Config) backupOn() bool { return c.Backup.Enabled }

// DRConfig is `eduai:dr`: disaster recovery in a secondary region.
type DRConfig struct {
	// Build the secondary region.
	Enabled bool `json:"enabled"`
	// The standby region (not `aws:region`).
	// Type: AWS region name
	Region string `json:"region"`
	// Which side writes; flip after the imperative failover (runbook); `secondary` needs `dr.enabled`.
	ActiveRegion RegionRole `json:"activeRegion"`
	// Readers of the Aurora secondary; 0 = headless.
	// Type: 0–15
	DatabaseReaders int `json:"databaseReaders"`
	// The DR region's network, keys as `eduai:network`; its CIDR must not overlap `network.cidr`.
	Network NetworkConfig `json:"network"`
	// Sizes the region that is not active (pilot light).
	Standby StandbyConfig `json:"standby"`
	// Route 53 failover of the public name between the regions' ingresses, in the zone of `eduai:dns`.
	// Default: none: no failover records
	DNS *DNSConfig `json:"dns"`
	// Subscribe to both regions' replication alarm topics.
	// Type: list of e-mail addresses
	AlarmEmails []string `json:"alarmEmails"`
}

// StandbyConfig sizes the standby application tier: the same cluster, node
// groups, platform and services as the active region, kept small until a
// failover makes it the active region (eduai:dr.activeRegion).
type StandbyConfig struct {
	// Min and desired size of every node group in the standby region (the maximum stays).
	// Type: 0–10, ≤ each group's `maxSize`
	NodesPerGroup int `json:"nodesPerGroup"`
}

// ZoneConfig is `eduai:dns`: the public Route 53 zone of the stack's hosts
// (mesh.hosts). Every host gets a record in it, and cert-manager answers
// Let's Encrypt's DNS-01 challenges there.
type ZoneConfig struct {
	// The zone's domain, e.g. eduai.com or staging.eduai.com: every host gets a record in it, and cert-manager
	// answers Let's Encrypt's DNS-01 challenges there. Required with `mesh.hosts` and a Let's Encrypt issuer; every
	// host must be in it.
	// Type: DNS name
	ZoneName string `json:"zoneName"`
	// An existing public hosted zone; empty: the program creates the zone and exports its name servers
	// (`dnsNameServers`), which the parent domain must delegate to ("DNS").
	// Type: Route 53 zone ID
	ZoneID string `json:"zoneId"`
}

// DNSConfig is `eduai:dr.dns`: Route 53 failover between the regions'
// ingresses, in the zone of eduai:dns.
type DNSConfig struct {
	// The failover name (a service's ingress host); needs `mesh.enabled` and both regions in the NLB zone table.
	// Required.
	// Type: a name in the zone
	RecordName string `json:"recordName"`
	// Answers the health checks' `/health`.
	// Type: a key of `eduai:services`
	// Default: the first service (by name) with ingress host `recordName`
	HealthService string `json:"healthService"`
}

// DefaultDR is the DR section's defaults.
func DefaultDR() DRConfig {
	n := DefaultNetwork()
	n.CIDR, n.NATStrategy, n.InterfaceEndpoints = "10.130.0.0/16", "single", []string{}
	return DRConfig{Region: "us-east-1", ActiveRegion: PrimaryRegion, DatabaseReaders: 1, Network: n,
		Standby: StandbyConfig{NodesPerGroup: 1}}
}

// ServiceConfig is one entry of `eduai:services`; the key is the service's
// name (and its stable identity: renaming a key replaces the service).
type ServiceConfig struct {
	// The image to run.
	Image ImageConfig `json:"image"`
	// How a new version reaches users.
	Strategy service.Strategy `json:"strategy"`
	// The container's port for HTTP, probes and `/metrics`.
	// Type: 1–65535
	Port int `json:"port"`
	// Pods when autoscaling is off.
	// Type: 1–100
	Replicas int `json:"replicas"`
	// The HPA, by CPU and memory.
	Autoscaling AutoscalingConfig `json:"autoscaling"`
	// The container's requests and limits.
	Resources ResourcesConfig `json:"resources"`
	// Environment: plain values in the service's ConfigMap; a `secure:` value (`pulumi config set --secret --path
	// services.<name>.env.<VAR>`) in the service's own Secret, never the ConfigMap.
	Env map[string]string `json:"env"`
	// Existing Secrets whose keys become environment.
	// Type: list of Secret names
	SecretEnvFrom []string `json:"secretEnvFrom"`
	// A public path of a host; with the mesh the host must be in `eduai:mesh.hosts`.
	// Default: none
	Ingress *IngressConfig `json:"ingress"`
	// Who may call it in the mesh.
	// Type: list of `namespace/serviceAccount`
	Callers []string `json:"callers"`
	// Store endpoints in the ConfigMap, read access to their secrets.
	// Type: list of `database`, `cache`, `queue`
	Connections []string `json:"connections"`
	// Buckets it reads and writes (`BUCKET_<NAME>` in the ConfigMap).
	// Type: list of `eduai:storage.buckets` keys
	Buckets []string `json:"buckets"`
	// The seed's probes on /startup, /health, /ready (the pack blocks a service without).
	Probes bool `json:"probes"`
	// A canary's analysis against its stable pods (needs `observability.mode: full`; the pack requires it in prod).
	Analysis bool `json:"analysis"`
	// The blue-green switch (strategy blueGreen).
	BlueGreen BlueGreenConfig `json:"blueGreen"`
	// The expand/contract migration Jobs.
	// Default: none
	Migrations *MigrationsConfig `json:"migrations"`
	// follows: a standby tier's copy, which takes each version after the
	// active tier has released it (set by standby, never by config).
	follows bool
}

// ImageConfig is a service's image.
type ImageConfig struct {
	// The image repository. Required.
	Repository string `json:"repository"`
	// The image tag; the pack wants a pinned tag outside dev.
	Tag string `json:"tag"`
}

// AutoscalingConfig is a service's HPA.
type AutoscalingConfig struct {
	// Scale with an HPA; off, the service runs `replicas` pods.
	Enabled bool `json:"enabled"`
	// The fewest pods.
	// Type: 1–100
	Min int `json:"min"`
	// The most pods, at least `min`.
	// Type: 1–100
	Max int `json:"max"`
	// Target CPU utilization of the requests.
	// Type: 1–100
	CPUPercent int `json:"cpuPercent"`
	// Target memory utilization of the requests.
	// Type: 1–100
	MemoryPercent int `json:"memoryPercent"`
}

// ResourcesConfig is a container's requests and limits.
type ResourcesConfig struct {
	// What the scheduler reserves.
	Requests QuantitiesConfig `json:"requests"`
	// The most the container may use; at least the requests.
	Limits QuantitiesConfig `json:"limits"`
}

// QuantitiesConfig is CPU and memory.
type QuantitiesConfig struct {
	// CPU, a Kubernetes quantity (`500m`, `1`).
	CPU string `json:"cpu"`
	// Memory, a Kubernetes quantity (`1Gi`).
	Memory string `json:"memory"`
}

// IngressConfig publishes a service.
type IngressConfig struct {
	// The public host name.
	Host string `json:"host"`
	// The path prefix the service serves.
	Path string `json:"path"`
	// Requests per second per client address (the seed's ingress annotation).
	// Type: ≥ 1
	RateLimitRPS int `json:"rateLimitRps"`
}

// BlueGreenConfig is the switch of a blue-green service.
type BlueGreenConfig struct {
	// The color that serves.
	ActiveColor service.Color `json:"activeColor"`
	// The blue color's image tag.
	// Default: `image.tag`
	BlueTag string `json:"blueTag"`
	// The green color's image tag.
	// Default: `image.tag`
	GreenTag string `json:"greenTag"`
	// After this time the idle color scales to zero; empty: keep it.
	// Type: RFC 3339 time (quoted)
	KeepIdleUntil string `json:"keepIdleUntil"`
}

// MigrationsConfig is a service's expand/contract migration Jobs.
type MigrationsConfig struct {
	// The migration Job's command, run in the new image with the service's environment before each version.
	// Required.
	Command []string `json:"command"`
	// The contract Job's command, run once the new version serves alone (after the Rollout is Healthy, the
	// Deployment rolled out, or the idle blue-green color scaled to zero); empty is an error.
	Contract []string `json:"contract"`
}

// RolloutsConfig is `eduai:rollouts`: the Argo Rollouts controller, installed when a service is a canary.
type RolloutsConfig struct {
	// The argo-rollouts chart (Argo Rollouts v1.9.1, the CRDs the tests use).
	// Type: exact version
	Version string `json:"version"`
	// Replicas of the controller.
	// Type: 1–5
	Replicas int `json:"replicas"`
}

// Connection kinds a service may ask for.
var Connections = []string{"database", "cache", "queue"}

// ObservabilityConfig is `eduai:observability`: logs, metrics, alerts, traces.
type ObservabilityConfig struct {
	// Logs only (Fluent Bit to CloudWatch Logs), or logs plus metrics, alerts, dashboards, traces (dev: logs).
	Mode observability.Mode `json:"mode"`
	// Retention of `/aws/eks/<cluster>/containers`.
	// Type: a CloudWatch retention
	LogRetentionDays int `json:"logRetentionDays"`
	// Overrides one chart's version (aws-for-fluent-bit, kube-prometheus-stack, jaeger); the others keep theirs.
	// Type: map of chart → exact version
	// Default: none: the versions of `DefaultObservabilityCharts`
	Charts map[string]string `json:"charts"`
	// Prometheus sizing (full mode).
	Prometheus PrometheusConfig `json:"prometheus"`
	// Share of requests the mesh traces.
	// Type: 0–100
	TracingSamplingPercent int `json:"tracingSamplingPercent"`
	// Receivers and the routes of critical and warning alerts.
	Alerting AlertingConfig `json:"alerting"`
}

// PrometheusConfig is `eduai:observability.prometheus`.
type PrometheusConfig struct {
	// How long samples are kept.
	// Type: duration (`15d`, `12h`, `2w`, `1y`)
	Retention string `json:"retention"`
	// Each Prometheus replica's encrypted gp3 volume.
	// Type: 10–16384
	StorageGiB int `json:"storageGiB"`
	// Prometheus and Alertmanager replicas.
	// Type: 1–5
	Replicas int `json:"replicas"`
}

// AlertingConfig is `eduai:observability.alerting`.
type AlertingConfig struct {
	// Alertmanager receivers by name.
	Receivers map[string]ReceiverConfig `json:"receivers"`
	// The receiver of critical alerts; none: not notified.
	// Type: receiver name
	Critical string `json:"critical"`
	// The receiver of warning alerts; none: not notified.
	// Type: receiver name
	Warning string `json:"warning"`
}

// ReceiverConfig is one Alertmanager receiver.
type ReceiverConfig struct {
	// The receiver's kind.
	Type observability.ReceiverType `json:"type"`
	// The Slack channel (`#…`); required for slack.
	Channel string `json:"channel"`
	// The Slack webhook URL, PagerDuty routing key or webhook URL; secret config only: `pulumi config set --secret
	// --path 'observability.alerting.receivers.<name>.credential' <value>`.
	// Type: secret string
	Credential string `json:"credential"`
}

// DefaultObservabilityCharts are the observability chart versions.
func DefaultObservabilityCharts() map[string]string {
	return map[string]string{"aws-for-fluent-bit": "0.1.35", "kube-prometheus-stack": "79.10.0", "jaeger": "4.1.5"}
}

// observabilityCharts are the defaults with the configured overrides.
func (c *Config) observabilityCharts() map[string]string {
	out := DefaultObservabilityCharts()
	for k, v := range c.Observability.Charts {
		out[k] = v
	}
	return out
}

// MeshConfig is `eduai:mesh`: Istio.
type MeshConfig struct {
	// Install Istio (dev turns it off).
	Enabled bool `json:"enabled"`
	// Istio chart version (matches the CRDs the tests use).
	// Type: exact version
	Version string `json:"version"`
	// Mesh-wide mTLS; the pack requires STRICT in prod.
	MTLS mesh.MTLSMode `json:"mtls"`
	// Allow-nothing policy plus per-service allows.
	DefaultDeny bool `json:"defaultDeny"`
	// istiod's minimum replicas (the chart autoscales istiod: this is the HPA's minimum).
	// Type: ≥ 1
	IstiodReplicas int `json:"istiodReplicas"`
	// istiod's autoscaler maximum.
	// Type: `istiodReplicas`..50
	// Default: 5, or `istiodReplicas` when more
	IstiodMaxReplicas int `json:"istiodMaxReplicas"`
	// Hosts the TLS Gateway serves, each with a cert-manager certificate.
	// Type: list of DNS names
	Hosts []string `json:"hosts"`
}

// QueueConfig is `eduai:queue`: the message queue.
type QueueConfig struct {
	// Amazon MSK or one Amazon MQ broker.
	Engine queue.Engine `json:"engine"`
	// Kafka broker count.
	// Type: multiple of the zones (Kafka)
	// Default: one per zone
	Brokers int `json:"brokers"`
	// Broker size.
	// Type: instance type
	// Default: `kafka.m5.large` (Kafka), `mq.t3.micro` (RabbitMQ)
	InstanceType string `json:"instanceType"`
	// Kafka or RabbitMQ version.
	// Type: version
	// Default: `3.8.x` (Kafka), `3.13` (RabbitMQ)
	EngineVersion string `json:"engineVersion"`
	// Storage per Kafka broker.
	// Type: 1–16384
	VolumeSizeGiB int `json:"volumeSizeGiB"`
}

// queueDefaults are the per-engine defaults of instance type and version.
var queueDefaults = map[queue.Engine][2]string{queue.Kafka: {"kafka.m5.large", "3.8.x"}, queue.RabbitMQ: {"mq.t3.micro", "3.13"}}

// CacheConfig is `eduai:cache`: the Redis replication group.
type CacheConfig struct {
	// Every node's type.
	// Type: node type
	NodeType string `json:"nodeType"`
	// Shard the keyspace; needs at least 2 nodes.
	ClusterMode bool `json:"clusterMode"`
	// Node groups in cluster mode.
	// Type: 1–500
	Shards int `json:"shards"`
	// Replicas per shard (failover and Multi-AZ need one).
	// Type: 0–5
	ReplicasPerShard int `json:"replicasPerShard"`
	// The Redis version; the parameter group family follows its major.
	// Type: `major.minor`
	EngineVersion string `json:"engineVersion"`
	// Daily snapshots kept.
	// Type: 0–35
	SnapshotRetentionDays int `json:"snapshotRetentionDays"`
}

// DefaultCache returns the documented cache defaults.
func DefaultCache() CacheConfig {
	return CacheConfig{NodeType: "cache.r6g.large", ClusterMode: true, Shards: 1, ReplicasPerShard: 2,
		EngineVersion: "7.1", SnapshotRetentionDays: 1}
}

// DatabaseConfig is `eduai:database`: the Aurora PostgreSQL cluster.
type DatabaseConfig struct {
	// The exact engine version: instances take no automatic minor upgrades (they would drift and the next up would
	// try a downgrade RDS refuses); raise it by config, `docs/runbooks/database-upgrade.md`; the parameter group
	// family follows its major.
	// Type: Aurora PostgreSQL version, 16 or newer
	EngineVersion string `json:"engineVersion"`
	// One writer plus readers.
	// Type: ≥ 1
	Instances int `json:"instances"`
	// Every instance's class.
	// Type: DB instance class
	InstanceClass string `json:"instanceClass"`
	// Backup retention; the pack wants 7 in staging and 30 in prod.
	// Type: 1–35
	BackupRetentionDays int `json:"backupRetentionDays"`
	// Daily backup window.
	// Type: `HH:MM-HH:MM` UTC
	BackupWindow string `json:"backupWindow"`
	// The initial database.
	// Type: lowercase identifier
	DatabaseName string `json:"databaseName"`
	// The master user (its password is generated and kept in Secrets Manager).
	// Type: lowercase identifier
	MasterUsername string `json:"masterUsername"`
	// Scale readers on CPU, target 70 %.
	// Default: off
	ReaderScaling *ReaderScalingConfig `json:"readerScaling"`
}

// ReaderScalingConfig is `eduai:database.readerScaling`.
type ReaderScalingConfig struct {
	// The fewest readers: `0 <= minReaders <= maxReaders`.
	MinReaders int `json:"minReaders"`
	// The most readers.
	// Type: ≤ 15
	MaxReaders int `json:"maxReaders"`
}

// DefaultDatabase returns the documented database defaults.
func DefaultDatabase() DatabaseConfig {
	return DatabaseConfig{EngineVersion: "16.6", Instances: 2, InstanceClass: "db.r6g.large", BackupRetentionDays: 7,
		BackupWindow: "03:00-04:00", DatabaseName: "eduai", MasterUsername: "eduai_admin"}
}

// StorageConfig is `eduai:storage`: the application buckets.
type StorageConfig struct {
	// Application buckets; the key is a bucket's stable name (3–32 lowercase letters, digits, dashes).
	Buckets map[string]BucketConfig `json:"buckets"`
	// S3 server access logs to a log bucket (dev turns it off).
	AccessLogs bool `json:"accessLogs"`
}

// BucketConfig is one entry of `eduai:storage.buckets`.
type BucketConfig struct {
	// How long replaced or deleted versions are kept.
	// Type: days
	NoncurrentDays int `json:"noncurrentDays"`
}

// AddonsConfig is `eduai:addons`: the Helm-installed cluster add-ons.
type AddonsConfig struct {
	// Helm chart versions; setting the key replaces the map, so list all five.
	// Type: map of chart → exact version
	Charts map[string]string `json:"charts"`
	// cert-manager's ClusterIssuer.
	Issuer IssuerConfig `json:"issuer"`
}

// IssuerConfig is `eduai:addons.issuer`.
type IssuerConfig struct {
	// The ClusterIssuer (`selfsigned`, `letsencrypt-staging`, `letsencrypt-prod`).
	Kind addons.IssuerKind `json:"kind"`
	// Let's Encrypt account and expiry notices; required for the Let's Encrypt kinds.
	// Type: e-mail address
	Email string `json:"email"`
}

// DefaultIssuerEmail is the platform team's address at the seed's domain (eduai.com).
const DefaultIssuerEmail = "platform@eduai.com"

// DefaultCharts are chart versions for Kubernetes 1.35 (cert-manager
// matches the CRDs the tests validate against). cluster-autoscaler must run
// the cluster's minor version: chart 9.55.1 is the first whose default image
// is v1.35.0 (kubernetes/autoscaler 3dd933cf, "CA: use 1.35.0 by default in
// helm chart"; 9.53.0 ran v1.34.2).
func DefaultCharts() map[string]string {
	return map[string]string{
		"metrics-server":               "3.13.0",
		"cluster-autoscaler":           "9.55.1",
		"aws-load-balancer-controller": "1.14.0",
		"ingress-nginx":                "4.13.3",
		"cert-manager":                 "v1.21.1",
	}
}

// defaultIssuers is the ClusterIssuer kind per environment (the seed's TLS row).
var defaultIssuers = map[Environment]addons.IssuerKind{Dev: addons.SelfSigned, Staging: addons.LetsEncryptStaging,
	Prod: addons.LetsEncryptProduction}

// ClusterConfig is `eduai:cluster`. Every field is optional; the default is in its comment.
type ClusterConfig struct {
	// The EKS Kubernetes minor version; see "Version support costs money".
	// Type: Kubernetes minor version
	Version string `json:"version"`
	// Open the API endpoint to `publicAccessCidrs` (the pack forbids it in staging and prod).
	PublicEndpoint bool `json:"publicEndpoint"`
	// Who may reach the public endpoint; required when it is on.
	// Type: list of CIDRs
	PublicAccessCIDRs []string `json:"publicAccessCidrs"`
	// Control-plane logs sent to CloudWatch.
	// Type: list of `api`, `audit`, `authenticator`, `controllerManager`, `scheduler`
	LogTypes []string `json:"logTypes"`
	// Retention of `/aws/eks/<name>/cluster`.
	// Type: a CloudWatch retention
	LogRetentionDays int `json:"logRetentionDays"`
	// Roles given cluster-admin access entries.
	// Type: list of IAM role ARNs
	AdminRoleARNs []string `json:"adminRoleArns"`
	// The CI deploy role, given a cluster-admin access entry.
	// Type: IAM role ARN
	DeployRoleARN string `json:"deployRoleArn"`
	// Managed node groups; the key is a group's stable name. Setting the key replaces the default group.
	NodeGroups map[string]NodeGroupConfig `json:"nodeGroups"`
	// EKS managed add-on versions; setting the key replaces the map, so list all five.
	// Type: map of add-on → version
	Addons map[string]string `json:"addons"`
}

// DefaultAddons are add-on versions for Kubernetes 1.35. No AWS account is
// reachable here, so each comes from a public record of
// `aws eks describe-addon-versions --kubernetes-version 1.35`: vpc-cni,
// coredns and aws-ebs-csi-driver from wandb/terraform-aws-wandb#380
// (2026-05-12, its 1.35 add-on table), kube-proxy from
// zalando-incubator/kubernetes-on-aws#11668 (2026-07-15, "latest version").
// eks-pod-identity-agent keeps the 1.34 pin, v1.3.10-eksbuild.2: no record
// for 1.35 was found; check it with that command before the first up
// (docs/runbooks/cluster-upgrade.md).
func DefaultAddons() map[string]string {
	return map[string]string{
		"vpc-cni":                "v1.21.1-eksbuild.1",
		"kube-proxy":             "v1.35.3-eksbuild.13",
		"eks-pod-identity-agent": "v1.3.10-eksbuild.2",
		"coredns":                "v1.13.2-eksbuild.4",
		"aws-ebs-csi-driver":     "v1.59.0-eksbuild.1",
	}
}

// NodeGroupConfig is one entry of `eduai:cluster.nodeGroups`.
type NodeGroupConfig struct {
	// Instance types of the group. Required.
	InstanceTypes []string `json:"instanceTypes"`
	// The group's minimum size: `0 <= minSize <= desiredSize <= maxSize`. Required.
	MinSize int `json:"minSize"`
	// The group's maximum size, at least 1. Required.
	MaxSize int `json:"maxSize"`
	// The group's starting size (the autoscaler moves it). Required.
	DesiredSize int `json:"desiredSize"`
	// The encrypted gp3 root volume of each node.
	// Type: 20–16384
	DiskSizeGiB int `json:"diskSizeGiB"`
	// Node labels.
	Labels map[string]string `json:"labels"`
	// Node taints.
	Taints []TaintConfig `json:"taints"`
	// Nodes replaced at once in an update.
	// Type: 1–100
	MaxUnavailablePercentage int `json:"maxUnavailablePercentage"`
}

// TaintConfig is one node taint; effect is NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE.
type TaintConfig struct {
	// The taint's key.
	Key string `json:"key"`
	// The taint's value.
	Value string `json:"value"`
	// The taint's effect.
	// Type: `NO_SCHEDULE` \| `NO_EXECUTE` \| `PREFER_NO_SCHEDULE`
	Effect string `json:"effect"`
}

// DefaultClusterVersion is a Kubernetes version in EKS standard support.
const DefaultClusterVersion = cluster.DefaultVersion

// DefaultCluster returns the documented cluster defaults.
func DefaultCluster() ClusterConfig {
	return ClusterConfig{
		Version:          DefaultClusterVersion,
		LogTypes:         []string{"api", "audit", "authenticator"},
		LogRetentionDays: 90,
		NodeGroups:       map[string]NodeGroupConfig{"general": DefaultNodeGroup()},
		Addons:           DefaultAddons(),
	}
}

// DefaultNodeGroup is the group a stack gets when it names none.
func DefaultNodeGroup() NodeGroupConfig {
	g := defaultNodeGroupFields()
	g.InstanceTypes, g.MinSize, g.MaxSize, g.DesiredSize = []string{"m5.large"}, 2, 4, 2
	return g
}

// NetworkConfig is `eduai:network`. Every field is optional; the default is in its comment.
type NetworkConfig struct {
	// The VPC block; must be canonical (no host bits).
	// Type: IPv4 CIDR, /16–/22
	CIDR string `json:"cidr"`
	// Use the region's first N zones (`<region>a`, `b`, …; in a region where MSK refuses a zone, us-east-1, the
	// first N zone IDs without it: `use1-az1`, `az2`, `az4`); conflicts with a differently sized zone list.
	// Type: 2–6
	// Default: 3
	AZCount int `json:"azCount"`
	// Explicit zones, all in the network's region, letters a–f, no repeats.
	// Type: list of zone names
	// Default: derived from `azCount`
	AvailabilityZones []string `json:"availabilityZones"`
	// Explicit zones by zone ID (`use1-az1`, az1–az6), the same zones in every account, where names map differently
	// per account; subnets are placed by zone ID; conflicts with `availabilityZones`. With Kafka, MSK's refused
	// zones (`use1-az3`) are an error, and so are zone names in a region that has one; prod's DR network lists
	// `[use1-az1, use1-az2, use1-az4]`.
	// Type: list of zone IDs
	AvailabilityZoneIDs []string `json:"availabilityZoneIds"`
	// NAT gateways: none, one shared in the first zone, or one per zone.
	NATStrategy network.NATStrategy `json:"natStrategy"`
	// VPC flow logs.
	FlowLogs FlowLogsConfig `json:"flowLogs"`
	// Interface endpoints in the private subnets; `[]` for none; no repeats.
	// Type: list of AWS service names
	InterfaceEndpoints []string `json:"interfaceEndpoints"`

	// zonesDerived: AvailabilityZones was computed from AZCount, not given.
	zonesDerived bool
	// zonesByID: AvailabilityZones holds AvailabilityZoneIDs.
	zonesByID bool
}

// zonesKey is the key the zones were given at (for errors).
func (n *NetworkConfig) zonesKey() string {
	if n.zonesByID {
		return "availabilityZoneIds"
	}
	return "availabilityZones"
}

// FlowLogsConfig is `eduai:network.flowLogs`.
type FlowLogsConfig struct {
	// VPC flow logs to CloudWatch Logs (the pack requires them outside dev).
	Enabled bool `json:"enabled"`
	// Retention of the flow-log group.
	// Type: a CloudWatch retention (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
	RetentionDays int `json:"retentionDays"`
	// Which records to keep.
	TrafficType network.TrafficType `json:"trafficType"`
}

// DefaultAZCount is the number of zones when neither azCount nor availabilityZones is set.
const DefaultAZCount = 3

// DefaultNetwork returns the documented network defaults.
func DefaultNetwork() NetworkConfig {
	return NetworkConfig{
		CIDR:               "10.0.0.0/16",
		NATStrategy:        "perAz",
		FlowLogs:           FlowLogsConfig{Enabled: true, RetentionDays: 365, TrafficType: network.TrafficAll},
		InterfaceEndpoints: []string{"ecr.api", "ecr.dkr", "sts", "logs", "ec2", "kms"},
	}
}

// DefaultTags returns the standard tags before `eduai:tags` is applied.
// CostCenter has no default: each stack file names its own.
func DefaultTags(env Environment) map[string]string {
	return map[string]string{
		"Environment": string(env),
		"Project":     "multimodal-education",
		"ManagedBy":   "pulumi",
	}
}

// section is one object-valued `eduai:` key and the struct it decodes into.
type section struct {
	key string
	dst any
}

// sections lists the object keys in the order errors name them.
func (c *Config) sections() []section {
	return []section{{"network", &c.Network}, {"cluster", &c.Cluster}, {"addons", &c.Addons},
		{"storage", &c.Storage}, {"database", &c.Database}, {"cache", &c.Cache}, {"queue", &c.Queue}, {"mesh", &c.Mesh},
		{"dns", &c.DNS}, {"observability", &c.Observability}, {"services", &c.Services}, {"rollouts", &c.Rollouts}, {"dr", &c.DR},
		{"backup", &c.Backup}, {"gitops", &c.GitOps}, {"runner", &c.Runner}, {"bootstrap", &c.Bootstrap}}
}

// configKeys are the `eduai:` config keys the program reads.
func configKeys() []string {
	keys := []string{"environment", "tags"}
	for _, sec := range (&Config{}).sections() {
		keys = append(keys, sec.key)
	}
	return keys
}

// ConfigSource is where the config comes from: a key lookup (the Pulumi
// context in a run) and, when it can be had, the list of all keys set for the
// stack, so that a misspelt top-level key is an error instead of being ignored.
type ConfigSource struct {
	Stack string
	Get   func(key string) (string, bool)
	// Keys lists every config key set for the stack ("eduai:network", "aws:region", …);
	// nil when the runtime does not say.
	Keys []string
	// SecretKeys lists the keys whose value is (or holds) a secret; nil when
	// the runtime does not say.
	SecretKeys []string
	// SecretPaths lists the paths inside those keys that are secret
	// ("eduai:observability.alerting.receivers.oncall.credential"); nil when
	// unknown. The engine only says which keys hold a secret; the stack file
	// says where (SourceFromContext reads it).
	SecretPaths []string
}

// secretPathsFromFile reads the secret paths of a stack file, and keeps them
// only when they agree with the keys the engine says are secret (a stack
// whose config lives elsewhere, or a stale file, falls back to keys).
func secretPathsFromFile(file string, secretKeys []string) []string {
	paths, err := stackfile.SecretPaths(file, Project)
	if err != nil {
		return nil
	}
	keys := map[string]bool{}
	for _, p := range paths {
		key, _, _ := strings.Cut(p, ".")
		key, _, _ = strings.Cut(key, "[")
		keys[key] = true
	}
	if len(keys) != len(secretKeys) {
		return nil
	}
	for _, k := range secretKeys {
		if !keys[k] {
			return nil
		}
	}
	if paths == nil {
		paths = []string{}
	}
	return paths
}

// SourceFromContext reads config from a Pulumi context. The Go language host
// hands the program its config in PULUMI_CONFIG as well, which is where the
// full key list comes from; the offline preview sets it the same way.
func SourceFromContext(ctx *pulumi.Context) ConfigSource {
	src := ConfigSource{Stack: ctx.Stack(), Get: ctx.GetConfig}
	if raw := os.Getenv(pulumi.EnvConfig); raw != "" {
		var all map[string]string
		if json.Unmarshal([]byte(raw), &all) == nil {
			for k := range all {
				src.Keys = append(src.Keys, k)
			}
			sort.Strings(src.Keys)
			src.SecretKeys = []string{}
			if rawSecret := os.Getenv(pulumi.EnvConfigSecretKeys); rawSecret != "" {
				_ = json.Unmarshal([]byte(rawSecret), &src.SecretKeys)
			}
			file := os.Getenv(stackfile.PathEnv)
			if file == "" {
				file = "Pulumi." + ctx.Stack() + ".yaml"
			}
			src.SecretPaths = secretPathsFromFile(file, src.SecretKeys)
		}
	}
	return src
}

// LoadConfig decodes and validates the stack config. It reports every problem
// at once as Errors, each naming its key path and the bad value.
func LoadConfig(src ConfigSource) (*Config, error) {
	var errs Errors
	for _, k := range src.Keys {
		ns, key, ok := strings.Cut(k, ":")
		if ok && ns == Project && !slices.Contains(configKeys(), key) {
			errs = append(errs, FieldError{Path: k, Unknown: true,
				Msg: "unknown key (known: eduai:" + strings.Join(configKeys(), ", eduai:") + ")"})
		}
	}

	env := Environment(src.Stack)
	if v, ok := src.Get(Project + ":environment"); ok && v != "" {
		env = Environment(v)
	}
	cfg := Defaults(src.Stack, env)
	if src.SecretKeys != nil {
		cfg.plainKeys = map[string]bool{}
		for _, k := range src.Keys {
			cfg.plainKeys[k] = !slices.Contains(src.SecretKeys, k)
		}
	}
	if src.SecretPaths != nil {
		cfg.secretPaths = map[string]bool{}
		for _, p := range src.SecretPaths {
			cfg.secretPaths[p] = true
		}
	}
	cfg.Region, _ = src.Get("aws:region")
	if v, ok := src.Get(Project + ":tags"); ok {
		var tags map[string]string
		decodeStrict("tags", v, &tags, &errs)
		for k, val := range tags {
			cfg.Tags[k] = val
		}
	}
	for _, sec := range cfg.sections() {
		if v, ok := src.Get(Project + ":" + sec.key); ok {
			decodeStrict(sec.key, v, sec.dst, &errs)
		}
	}
	// Cross-field validation runs even when some values did not decode (they
	// keep their defaults), so one run reports every problem; a key that did
	// not decode is not reported a second time.
	cfg.resolve()
	decodeErrs := slices.Clone(errs)
	if err := cfg.validate(); err != nil {
		for _, e := range err.(Errors) {
			if !reported(decodeErrs, e.Path) {
				errs = append(errs, e)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// SourceFromValues is a ConfigSource over a plain map, as the engine would pass it.
func SourceFromValues(stack string, values map[string]string) ConfigSource {
	src := ConfigSource{Stack: stack, Get: func(k string) (string, bool) { v, ok := values[k]; return v, ok }}
	for k := range values {
		src.Keys = append(src.Keys, k)
	}
	sort.Strings(src.Keys)
	return src
}

// reported tells whether a value that did not decode, at path or at a key
// above or below it, already explains an error at path. An unknown key
// explains nothing else: the keys beside it decoded.
func reported(errs Errors, path string) bool {
	for _, e := range errs {
		if e.Unknown {
			continue
		}
		if e.Path == path || strings.HasPrefix(path, e.Path+".") || strings.HasPrefix(path, e.Path+"[") ||
			strings.HasPrefix(e.Path, path+".") || strings.HasPrefix(e.Path, path+"[") {
			return true
		}
	}
	return false
}

// resolve fills values derived from others: the zone list from azCount, when
// the region and the count are valid (otherwise validate reports those).
func (c *Config) resolve() {
	if d, ok := queueDefaults[c.Queue.Engine]; ok {
		if c.Queue.InstanceType == "" {
			c.Queue.InstanceType = d[0]
		}
		if c.Queue.EngineVersion == "" {
			c.Queue.EngineVersion = d[1]
		}
	}
	c.Network.deriveZones(c.Region)
	if c.DR.Enabled {
		c.DR.Network.deriveZones(c.DR.Region)
	}
	if d := c.DR.DNS; d != nil && d.HealthService == "" {
		for _, name := range slices.Sorted(maps.Keys(c.Services)) {
			if in := c.Services[name].Ingress; in != nil && in.Host == d.RecordName {
				d.HealthService = name
				break
			}
		}
	}
}

// deriveZones fills the zones from azCount when none are listed.
func (n *NetworkConfig) deriveZones(region string) {
	if len(n.AvailabilityZones) > 0 {
		return
	}
	if len(n.AvailabilityZoneIDs) > 0 {
		n.AvailabilityZones, n.zonesByID = slices.Clone(n.AvailabilityZoneIDs), true
		return
	}
	count := n.AZCount
	if count == 0 {
		count = DefaultAZCount
	}
	if count < 2 || count > network.MaxZones || !regionPattern.MatchString(region) {
		return
	}
	// Where MSK refuses a zone, names would land on it in some accounts:
	// derive zone IDs that leave it out instead.
	if refused := queue.RefusedZoneIDs[region]; len(refused) > 0 {
		if ids := network.ZoneIDs(region, count, refused); len(ids) == count {
			n.AvailabilityZones, n.zonesDerived, n.zonesByID = ids, true, true
			return
		}
	}
	for i := 0; i < count; i++ {
		n.AvailabilityZones = append(n.AvailabilityZones, region+string(rune('a'+i)))
	}
	n.zonesDerived = true
}

// brokerCount is the configured Kafka broker count, or one per zone.
func (c *Config) brokerCount() int {
	if c.Queue.Brokers != 0 {
		return c.Queue.Brokers
	}
	return len(c.Network.AvailabilityZones)
}

// secretAt tells whether the config value at path (in the project's
// namespace, "observability.alerting.receivers.oncall.credential") is a
// secret, and whether that is sure: with the stack file's secret paths it
// is; with only the engine's secret keys, a value in a secret key may be one
// (secret true, sure false) and a value in a plain key is not (sure).
func (c *Config) secretAt(path string) (secret, sure bool) {
	if c.secretPaths != nil {
		return c.secretPaths[Project+":"+path], true
	}
	if c.plainKeys == nil {
		return false, false
	}
	key, _, _ := strings.Cut(path, ".")
	key, _, _ = strings.Cut(key, "[")
	if c.plainKeys[Project+":"+key] {
		return false, true
	}
	return true, false
}
