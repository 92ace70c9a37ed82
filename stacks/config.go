package stacks

import (
	"encoding/json"
	"github.com/eduai/infra/components/addons"
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
	// Stack is the Pulumi stack name.
	Stack string
	// Environment comes from `eduai:environment`; default: the stack name.
	Environment Environment
	// Region comes from `aws:region`. Required.
	Region string
	// Tags come from `eduai:tags`, over the defaults in DefaultTags.
	Tags map[string]string
	// Network comes from `eduai:network`.
	Network NetworkConfig
	// Cluster comes from `eduai:cluster`.
	Cluster ClusterConfig
	// Addons comes from `eduai:addons`.
	Addons AddonsConfig
	// Storage comes from `eduai:storage`.
	Storage StorageConfig
	// Database comes from `eduai:database`.
	Database DatabaseConfig
	// Cache comes from `eduai:cache`.
	Cache CacheConfig
	// Queue comes from `eduai:queue`.
	Queue QueueConfig
	// Mesh comes from `eduai:mesh`.
	Mesh MeshConfig
	// DNS comes from `eduai:dns`: the public zone of the hosts.
	DNS ZoneConfig
	// Observability comes from `eduai:observability`.
	Observability ObservabilityConfig
	// DR comes from `eduai:dr`: the secondary region.
	DR DRConfig
	// Backup comes from `eduai:backup`: AWS Backup.
	Backup BackupConfig
	// Services comes from `eduai:services`: the platform services by name.
	Services map[string]ServiceConfig
	// Rollouts comes from `eduai:rollouts`: the Argo Rollouts controller.
	Rollouts RolloutsConfig
	// GitOps comes from `eduai:gitops`: Argo CD and the teams' Applications.
	GitOps GitOpsConfig
	// Runner comes from `eduai:runner`: the GitLab Runner inside the VPC.
	Runner RunnerConfig
	// Bootstrap comes from `eduai:bootstrap`: the first phase of a new environment.
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
	// Enabled installs Argo CD. Default true.
	Enabled *bool `json:"enabled"`
	// ChartVersion of the argo-cd chart, exact. Default 9.5.17.
	ChartVersion string `json:"chartVersion"`
	// Repos Argo CD may deliver from. Default the seed's k8s-manifests and helm-charts repositories.
	Repos []string `json:"repos"`
	// AutoSync applies every commit. Default: on in dev, off (a person syncs) in staging and prod.
	AutoSync *bool `json:"autoSync"`
	// Applications by name.
	Applications map[string]GitOpsApp `json:"applications"`
}

// GitOpsApp is one Application: a path in a Git repository or a chart in a Helm repository.
type GitOpsApp struct {
	RepoURL        string `json:"repoURL"`
	Path           string `json:"path"`
	Chart          string `json:"chart"`
	TargetRevision string `json:"targetRevision"`
	Namespace      string `json:"namespace"`
}

// RunnerConfig is `eduai:runner`: the GitLab Runner that deploys the stack
// from inside its VPC (the API endpoint is private), tagged eduai-<stack>.
type RunnerConfig struct {
	// Enabled runs the runner. Default true.
	Enabled *bool `json:"enabled"`
	// InstanceType of its instances. Default m7i.large.
	InstanceType string `json:"instanceType"`
	// Instances in its Auto Scaling group, 1..10. Default 1.
	Instances int `json:"instances"`
	// DiskSizeGiB of each instance's encrypted root volume, 30..16384. Default 100.
	DiskSizeGiB int `json:"diskSizeGiB"`
	// Version of GitLab Runner, exact. Default 18.11.2.
	Version string `json:"version"`
	// GitLabURL is the GitLab instance. Default https://gitlab.com.
	GitLabURL string `json:"gitlabUrl"`
	// Concurrent jobs per instance, 1..16. Default 2.
	Concurrent int `json:"concurrent"`
	// Token is the runner authentication token (glrt-…); secret config only.
	// Default none: the runbook puts it into the token secret with the AWS CLI.
	Token string `json:"token"`
}

// runnerOn tells whether the stack runs its in-VPC runner.
func (c *Config) runnerOn() bool { return on(c.Runner.Enabled, true) }

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
	// Foundation: create only the networks, the peering, the runners, the
	// clusters' API security groups and the EKS clusters. Default false.
	Foundation bool `json:"foundation"`
}

// bootstrapping tells whether this run is the foundation phase.
func (c *Config) bootstrapping() bool { return c.Bootstrap.Foundation }

// DefaultGitOpsRepos are the seed's GitOps repositories.
var DefaultGitOpsRepos = []string{"https://gitlab.com/eduai/k8s-manifests.git", "https://gitlab.com/eduai/helm-charts.git"}

// BackupConfig is `eduai:backup`: AWS Backup of the database and the buckets.
type BackupConfig struct {
	// Enabled. Default: on outside dev (the seed: dev has no backups).
	Enabled *bool `json:"enabled"`
	// DatabaseDays of continuous backup (point-in-time recovery), 1..35. Default 30.
	DatabaseDays int `json:"databaseDays"`
	// DataDays the hourly bucket backups are kept. Default 7.
	DataDays int `json:"dataDays"`
	// LockDays: recovery points cannot be deleted before this many days (vault lock). Default 0 (no lock).
	LockDays int `json:"lockDays"`
	// RestoreTests: a monthly restore-testing plan. Default true.
	RestoreTests *bool `json:"restoreTests"`
	// AdminRoleARNs may delete recovery points in prod, where a vault policy
	// denies it to everyone else. Default none: nobody may.
	AdminRoleARNs []string `json:"adminRoleArns"`
}

// backupOn tells whether AWS Backup runs for the stack.
func (c *Config) backupOn() bool { return on(c.Backup.Enabled, c.Environment != Dev) }

// DRConfig is `eduai:dr`: disaster recovery in a secondary region.
type DRConfig struct {
	// Enabled builds the secondary region. Default: on in prod, off elsewhere.
	Enabled bool `json:"enabled"`
	// Region of the standby. Default us-east-1 (the seed's).
	Region string `json:"region"`
	// ActiveRegion is primary or secondary: which side writes after a failover. Default primary.
	ActiveRegion RegionRole `json:"activeRegion"`
	// DatabaseReaders in the DR region's Aurora secondary: 0 keeps it headless. Default 1.
	DatabaseReaders int `json:"databaseReaders"`
	// Network of the DR region; its CIDR must not overlap the primary's.
	// Default 10.130.0.0/16, 3 zones, one NAT gateway, flow logs, no interface endpoints.
	Network NetworkConfig `json:"network"`
	// Standby sizes the region that is not active (pilot light).
	Standby StandbyConfig `json:"standby"`
	// DNS is the Route 53 failover of the public name; nil: no failover records.
	DNS *DNSConfig `json:"dns"`
	// AlarmEmails subscribe to the DR region's alarm topic (replication lag). Default none.
	AlarmEmails []string `json:"alarmEmails"`
}

// StandbyConfig sizes the standby application tier: the same cluster, node
// groups, platform and services as the active region, kept small until a
// failover makes it the active region (eduai:dr.activeRegion).
type StandbyConfig struct {
	// NodesPerGroup: each node group's minimum and desired size (its maximum
	// stays). Default 1.
	NodesPerGroup int `json:"nodesPerGroup"`
}

// ZoneConfig is `eduai:dns`: the public Route 53 zone of the stack's hosts
// (mesh.hosts). Every host gets a record in it, and cert-manager answers
// Let's Encrypt's DNS-01 challenges there.
type ZoneConfig struct {
	// ZoneName is the zone's domain, e.g. eduai.com or staging.eduai.com.
	// Required with mesh.hosts and a Let's Encrypt issuer; every host must be in it.
	ZoneName string `json:"zoneName"`
	// ZoneID of an existing public hosted zone; empty: the program creates
	// the zone and exports its name servers (dnsNameServers), which the
	// parent domain must delegate to (README "DNS").
	ZoneID string `json:"zoneId"`
}

// DNSConfig is `eduai:dr.dns`: Route 53 failover between the regions'
// ingresses, in the zone of eduai:dns.
type DNSConfig struct {
	// RecordName is the failover name, e.g. api.eduai.com; a service's ingress host. Required.
	RecordName string `json:"recordName"`
	// HealthService answers the health checks on /health. Default: the first
	// service (by name) whose ingress host is RecordName.
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
	// Image to run. Required: repository; tag pinned outside dev (the pack checks).
	Image ImageConfig `json:"image"`
	// Strategy is rolling, blueGreen or canary. Default rolling.
	Strategy service.Strategy `json:"strategy"`
	// Port the container serves HTTP, probes and /metrics on. Default 8080.
	Port int `json:"port"`
	// Replicas when autoscaling is off. Default 3.
	Replicas int `json:"replicas"`
	// Autoscaling by CPU and memory. Default on, 3-20 pods, CPU 70 %, memory 80 %.
	Autoscaling AutoscalingConfig `json:"autoscaling"`
	// Resources of the container. Default requests 500m/1Gi, limits 1/2Gi.
	Resources ResourcesConfig `json:"resources"`
	// Env goes into the service's ConfigMap; a `secure:` value goes into its own Secret instead.
	Env map[string]string `json:"env"`
	// SecretEnvFrom names existing Secrets whose keys become environment variables.
	SecretEnvFrom []string `json:"secretEnvFrom"`
	// Ingress publishes a path of a host. Default none.
	Ingress *IngressConfig `json:"ingress"`
	// Callers may call the service in the mesh: "namespace/serviceAccount".
	Callers []string `json:"callers"`
	// Connections to the data stores: database, cache, queue. Their endpoints
	// go into the ConfigMap, and the service may read their secrets.
	Connections []string `json:"connections"`
	// Buckets (keys of eduai:storage.buckets) the service reads and writes;
	// their names go into the ConfigMap as BUCKET_<NAME>.
	Buckets []string `json:"buckets"`
	// Probes on /startup, /health, /ready. Default true; the pack requires them.
	Probes *bool `json:"probes"`
	// Analysis of a canary against its stable pods (needs full observability). Default true.
	Analysis *bool `json:"analysis"`
	// BlueGreen: the colors (strategy blueGreen).
	BlueGreen BlueGreenConfig `json:"blueGreen"`
	// Migrations run before each new version. Default none.
	Migrations *MigrationsConfig `json:"migrations"`
	// follows: a standby tier's copy, which takes each version after the
	// active tier has released it (set by standby, never by config).
	follows bool
}

// ImageConfig is a service's image.
type ImageConfig struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
}

// AutoscalingConfig is a service's HPA.
type AutoscalingConfig struct {
	Enabled       *bool `json:"enabled"`
	Min           int   `json:"min"`
	Max           int   `json:"max"`
	CPUPercent    int   `json:"cpuPercent"`
	MemoryPercent int   `json:"memoryPercent"`
}

// ResourcesConfig is a container's requests and limits.
type ResourcesConfig struct {
	Requests QuantitiesConfig `json:"requests"`
	Limits   QuantitiesConfig `json:"limits"`
}

// QuantitiesConfig is CPU and memory.
type QuantitiesConfig struct {
	CPU    string `json:"cpu"`
	Memory string `json:"memory"`
}

// IngressConfig publishes a service.
type IngressConfig struct {
	Host string `json:"host"`
	Path string `json:"path"`
	// RateLimitRPS per client address. Default 1000 (the seed's annotation value).
	RateLimitRPS int `json:"rateLimitRps"`
}

// BlueGreenConfig is the switch of a blue-green service.
type BlueGreenConfig struct {
	// ActiveColor serves: blue or green. Default blue.
	ActiveColor service.Color `json:"activeColor"`
	// BlueTag and GreenTag: each color's image tag. Default image.tag.
	BlueTag  string `json:"blueTag"`
	GreenTag string `json:"greenTag"`
	// KeepIdleUntil: RFC 3339 time (quoted); after it the idle color scales to zero. Default: keep it.
	KeepIdleUntil string `json:"keepIdleUntil"`
}

// MigrationsConfig is a service's expand/contract migration Jobs.
type MigrationsConfig struct {
	// Command (expand) runs in the new image with the service's environment
	// before the new version.
	Command []string `json:"command"`
	// Contract runs in the new image once the new version serves alone. Default none.
	Contract []string `json:"contract"`
}

// RolloutsConfig is `eduai:rollouts`: the Argo Rollouts controller, installed when a service is a canary.
type RolloutsConfig struct {
	// Version of the argo-rollouts chart. Default 2.41.1 (Argo Rollouts v1.9.1, the CRDs the tests use).
	Version string `json:"version"`
	// Replicas of the controller. Default 2.
	Replicas int `json:"replicas"`
}

// Service defaults (the seed's).
var (
	DefaultServiceResources = ResourcesConfig{Requests: QuantitiesConfig{CPU: "500m", Memory: "1Gi"},
		Limits: QuantitiesConfig{CPU: "1", Memory: "2Gi"}}
	DefaultAutoscaling = AutoscalingConfig{Min: 3, Max: 20, CPUPercent: 70, MemoryPercent: 80}
)

// Connection kinds a service may ask for.
var Connections = []string{"database", "cache", "queue"}

// resolveServices fills each service's defaults.
func (c *Config) resolveServices() {
	for name, s := range c.Services {
		if s.Strategy == "" {
			s.Strategy = service.Rolling
		}
		if s.Port == 0 {
			s.Port = 8080
		}
		if s.Replicas == 0 {
			s.Replicas = 3
		}
		a := &s.Autoscaling
		if a.Min == 0 {
			a.Min = DefaultAutoscaling.Min
		}
		if a.Max == 0 {
			a.Max = DefaultAutoscaling.Max
		}
		if a.CPUPercent == 0 {
			a.CPUPercent = DefaultAutoscaling.CPUPercent
		}
		if a.MemoryPercent == 0 {
			a.MemoryPercent = DefaultAutoscaling.MemoryPercent
		}
		r, d := &s.Resources, DefaultServiceResources
		for _, q := range []struct {
			v   *string
			def string
		}{{&r.Requests.CPU, d.Requests.CPU},
			{&r.Requests.Memory, d.Requests.Memory}, {&r.Limits.CPU, d.Limits.CPU}, {&r.Limits.Memory, d.Limits.Memory}} {
			if *q.v == "" {
				*q.v = q.def
			}
		}
		if s.Ingress != nil && s.Ingress.RateLimitRPS == 0 {
			s.Ingress.RateLimitRPS = 1000
		}
		if s.BlueGreen.ActiveColor == "" {
			s.BlueGreen.ActiveColor = service.Blue
		}
		c.Services[name] = s
	}
}

// on reads an optional bool with its default.
func on(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// ObservabilityConfig is `eduai:observability`: logs, metrics, alerts, traces.
type ObservabilityConfig struct {
	// Mode is logs (Fluent Bit to CloudWatch Logs only) or full (plus
	// kube-prometheus-stack, Jaeger, alerts, dashboards). Default full; dev: logs.
	Mode observability.Mode `json:"mode"`
	// LogRetentionDays of the container log group. Default 30.
	LogRetentionDays int `json:"logRetentionDays"`
	// Charts overrides chart versions of DefaultObservabilityCharts, per chart.
	Charts map[string]string `json:"charts"`
	// Prometheus sizing (full mode).
	Prometheus PrometheusConfig `json:"prometheus"`
	// TracingSamplingPercent of requests the mesh traces, 0..100. Default 10.
	TracingSamplingPercent int `json:"tracingSamplingPercent"`
	// Alerting: receivers and the routes of critical and warning alerts.
	Alerting AlertingConfig `json:"alerting"`
}

// PrometheusConfig is `eduai:observability.prometheus`.
type PrometheusConfig struct {
	// Retention like 15d. Default 15d.
	Retention string `json:"retention"`
	// StorageGiB per replica on encrypted gp3. Default 50.
	StorageGiB int `json:"storageGiB"`
	// Replicas of Prometheus and Alertmanager. Default 1.
	Replicas int `json:"replicas"`
}

// AlertingConfig is `eduai:observability.alerting`.
type AlertingConfig struct {
	// Receivers by name.
	Receivers map[string]ReceiverConfig `json:"receivers"`
	// Critical and Warning name the receiver of each severity. Default none (not notified).
	Critical string `json:"critical"`
	Warning  string `json:"warning"`
}

// ReceiverConfig is one Alertmanager receiver.
type ReceiverConfig struct {
	// Type is slack, pagerduty or webhook.
	Type observability.ReceiverType `json:"type"`
	// Channel (slack).
	Channel string `json:"channel"`
	// Credential: the Slack webhook URL, PagerDuty routing key or webhook URL.
	// A secret: set it with `pulumi config set --secret --path
	// 'observability.alerting.receivers.<name>.credential' <value>`.
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
	// Enabled installs Istio. Default true; dev turns it off (the seed).
	Enabled bool `json:"enabled"`
	// Version of the Istio charts. Default 1.29.6 (the CRDs the tests validate against).
	Version string `json:"version"`
	// MTLS is STRICT or PERMISSIVE. Default STRICT; the pack requires STRICT in prod.
	MTLS mesh.MTLSMode `json:"mtls"`
	// DefaultDeny installs allow-nothing plus per-service allow policies. Default true.
	DefaultDeny bool `json:"defaultDeny"`
	// IstiodReplicas is istiod's minimum replica count (its autoscaler's
	// minimum: the chart autoscales istiod). Default 2.
	IstiodReplicas int `json:"istiodReplicas"`
	// IstiodMaxReplicas is the autoscaler's maximum, at least
	// istiodReplicas. Default 5, or istiodReplicas when that is more.
	IstiodMaxReplicas int `json:"istiodMaxReplicas"`
	// Hosts served by the ingress Gateway with a cert-manager certificate. Default none.
	Hosts []string `json:"hosts"`
}

// QueueConfig is `eduai:queue`: the message queue.
type QueueConfig struct {
	// Engine is kafka (Amazon MSK) or rabbitmq (Amazon MQ, one broker). Default kafka.
	Engine queue.Engine `json:"engine"`
	// Brokers (Kafka) must be a multiple of the zones. Default one per zone.
	Brokers int `json:"brokers"`
	// InstanceType. Default kafka.m5.large (Kafka) or mq.t3.micro (RabbitMQ).
	InstanceType string `json:"instanceType"`
	// EngineVersion. Default 3.8.x (Kafka) or 3.13 (RabbitMQ).
	EngineVersion string `json:"engineVersion"`
	// VolumeSizeGiB per Kafka broker. Default 100.
	VolumeSizeGiB int `json:"volumeSizeGiB"`
}

// queueDefaults are the per-engine defaults of instance type and version.
var queueDefaults = map[queue.Engine][2]string{queue.Kafka: {"kafka.m5.large", "3.8.x"}, queue.RabbitMQ: {"mq.t3.micro", "3.13"}}

// CacheConfig is `eduai:cache`: the Redis replication group.
type CacheConfig struct {
	// NodeType. Default cache.r6g.large.
	NodeType string `json:"nodeType"`
	// ClusterMode shards the keyspace. Default true.
	ClusterMode bool `json:"clusterMode"`
	// Shards (cluster mode) and ReplicasPerShard (0..5). Defaults 1 and 2.
	Shards           int `json:"shards"`
	ReplicasPerShard int `json:"replicasPerShard"`
	// EngineVersion of Redis. Default "7.1".
	EngineVersion string `json:"engineVersion"`
	// SnapshotRetentionDays keeps daily snapshots (0 none). Default 1.
	SnapshotRetentionDays int `json:"snapshotRetentionDays"`
}

// DefaultCache returns the documented cache defaults.
func DefaultCache() CacheConfig {
	return CacheConfig{NodeType: "cache.r6g.large", ClusterMode: true, Shards: 1, ReplicasPerShard: 2,
		EngineVersion: "7.1", SnapshotRetentionDays: 1}
}

// DatabaseConfig is `eduai:database`: the Aurora PostgreSQL cluster.
type DatabaseConfig struct {
	// EngineVersion of Aurora PostgreSQL, 16 or newer. Default "16.6".
	EngineVersion string `json:"engineVersion"`
	// Instances: one writer plus readers, at least 1. Default 2.
	Instances int `json:"instances"`
	// InstanceClass. Default db.r6g.large.
	InstanceClass string `json:"instanceClass"`
	// BackupRetentionDays 1..35. Default 7; the pack wants 7 outside dev and 30 in prod.
	BackupRetentionDays int `json:"backupRetentionDays"`
	// BackupWindow in UTC. Default 03:00-04:00.
	BackupWindow string `json:"backupWindow"`
	// DatabaseName and MasterUsername. Defaults eduai and eduai_admin.
	DatabaseName   string `json:"databaseName"`
	MasterUsername string `json:"masterUsername"`
	// ReaderScaling scales readers on CPU (target 70 %) between its bounds. Default off.
	ReaderScaling *ReaderScalingConfig `json:"readerScaling"`
}

// ReaderScalingConfig is `eduai:database.readerScaling`.
type ReaderScalingConfig struct {
	MinReaders int `json:"minReaders"`
	MaxReaders int `json:"maxReaders"`
}

// DefaultDatabase returns the documented database defaults.
func DefaultDatabase() DatabaseConfig {
	return DatabaseConfig{EngineVersion: "16.6", Instances: 2, InstanceClass: "db.r6g.large", BackupRetentionDays: 7,
		BackupWindow: "03:00-04:00", DatabaseName: "eduai", MasterUsername: "eduai_admin"}
}

// StorageConfig is `eduai:storage`: the application buckets.
type StorageConfig struct {
	// Buckets by name. Default content and media, keeping noncurrent versions 90 days.
	Buckets map[string]BucketConfig `json:"buckets"`
	// AccessLogs sends S3 server access logs to a log bucket. Default true.
	AccessLogs bool `json:"accessLogs"`
}

// BucketConfig is one entry of `eduai:storage.buckets`.
type BucketConfig struct {
	// NoncurrentDays keeps replaced or deleted versions this long. Default 90.
	NoncurrentDays int `json:"noncurrentDays"`
}

// AddonsConfig is `eduai:addons`: the Helm-installed cluster add-ons.
type AddonsConfig struct {
	// Charts pins each chart's exact version. Default DefaultCharts; setting
	// the key replaces the whole map, so list all five.
	Charts map[string]string `json:"charts"`
	// Issuer is cert-manager's ClusterIssuer.
	Issuer IssuerConfig `json:"issuer"`
}

// IssuerConfig is `eduai:addons.issuer`.
type IssuerConfig struct {
	// Kind is selfSigned, letsEncryptStaging or letsEncryptProduction.
	// Default by environment: dev selfSigned, staging letsEncryptStaging, prod letsEncryptProduction.
	Kind addons.IssuerKind `json:"kind"`
	// Email receives Let's Encrypt notices; required for the Let's Encrypt kinds.
	// Default DefaultIssuerEmail.
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
	// Version is the Kubernetes minor version. Default "1.35" (in EKS standard
	// support until 2027-03-27; 1.34 left it on 2026-12-02).
	Version string `json:"version"`
	// PublicEndpoint opens the API endpoint to PublicAccessCIDRs (required then).
	// Default false. The policy pack forbids it in prod.
	PublicEndpoint    bool     `json:"publicEndpoint"`
	PublicAccessCIDRs []string `json:"publicAccessCidrs"`
	// LogTypes of the control plane. Default [api, audit, authenticator].
	LogTypes []string `json:"logTypes"`
	// LogRetentionDays of /aws/eks/<name>/cluster. Default 90.
	LogRetentionDays int `json:"logRetentionDays"`
	// AdminRoleARNs and DeployRoleARN get cluster-admin access entries. Default none.
	AdminRoleARNs []string `json:"adminRoleArns"`
	DeployRoleARN string   `json:"deployRoleArn"`
	// NodeGroups by name. Default one group "general" (see DefaultNodeGroup).
	NodeGroups map[string]NodeGroupConfig `json:"nodeGroups"`
	// Addons pins each EKS managed add-on's version. Default DefaultAddons;
	// setting the key replaces the whole map, so list all five.
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
	// InstanceTypes, at least one.
	InstanceTypes []string `json:"instanceTypes"`
	// MinSize <= DesiredSize <= MaxSize; the desired size is only the start.
	MinSize     int `json:"minSize"`
	MaxSize     int `json:"maxSize"`
	DesiredSize int `json:"desiredSize"`
	// DiskSizeGiB of the encrypted gp3 root volume, 20..16384. Default 100.
	DiskSizeGiB int `json:"diskSizeGiB"`
	// Labels and Taints of the nodes. Default none.
	Labels map[string]string `json:"labels"`
	Taints []TaintConfig     `json:"taints"`
	// MaxUnavailablePercentage during rolling updates. Default 33.
	MaxUnavailablePercentage int `json:"maxUnavailablePercentage"`
}

// TaintConfig is one node taint; effect is NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE.
type TaintConfig struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Effect string `json:"effect"`
}

// DefaultClusterVersion is a Kubernetes version in EKS standard support.
const DefaultClusterVersion = "1.35"

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
	return NodeGroupConfig{InstanceTypes: []string{"m5.large"}, MinSize: 2, MaxSize: 4, DesiredSize: 2, DiskSizeGiB: 100}
}

// NetworkConfig is `eduai:network`. Every field is optional; the default is in its comment.
type NetworkConfig struct {
	// CIDR of the VPC, /16../22. Default "10.0.0.0/16".
	CIDR string `json:"cidr"`
	// AZCount picks the region's first zones (a, b, c, …) when AvailabilityZones
	// is empty. 2..6, default 3. Conflicts with a different-length AvailabilityZones.
	AZCount int `json:"azCount"`
	// AvailabilityZones lists the zones explicitly, e.g. [us-west-2a, us-west-2c].
	// Default: derived from AZCount. Every zone must be in `aws:region`.
	AvailabilityZones []string `json:"availabilityZones"`
	// AvailabilityZoneIDs lists the zones by zone ID, e.g. [use1-az1, use1-az2,
	// use1-az4]: the same zones in every account, where names map differently
	// per account. Subnets are then placed by zone ID. Conflicts with
	// AvailabilityZones. Needed where a service refuses some zones (MSK and use1-az3).
	AvailabilityZoneIDs []string `json:"availabilityZoneIds"`
	// NATStrategy is none, single or perAz. Default perAz.
	NATStrategy network.NATStrategy `json:"natStrategy"`
	// FlowLogs configures VPC flow logs.
	FlowLogs FlowLogsConfig `json:"flowLogs"`
	// InterfaceEndpoints are AWS services given an interface endpoint.
	// Default [ecr.api, ecr.dkr, sts, logs, ec2, kms]; [] for none.
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
	// Enabled sends flow logs to CloudWatch Logs. Default true. The policy pack
	// requires it outside dev.
	Enabled bool `json:"enabled"`
	// RetentionDays of the log group; a CloudWatch retention value. Default 365.
	RetentionDays int `json:"retentionDays"`
	// TrafficType is ALL, ACCEPT or REJECT. Default ALL.
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
			errs.add(k, "unknown key (known: %s)", "eduai:"+strings.Join(configKeys(), ", eduai:"))
		}
	}

	cfg := &Config{Stack: src.Stack, Environment: Environment(src.Stack), Network: DefaultNetwork(),
		Cluster:  DefaultCluster(),
		Addons:   AddonsConfig{Charts: DefaultCharts(), Issuer: IssuerConfig{Email: DefaultIssuerEmail}},
		Storage:  StorageConfig{AccessLogs: true, Buckets: map[string]BucketConfig{"content": {}, "media": {}}},
		Database: DefaultDatabase(),
		Cache:    DefaultCache(),
		Queue:    QueueConfig{Engine: queue.Kafka, VolumeSizeGiB: 100},
		Mesh:     MeshConfig{Enabled: true, Version: "1.29.6", MTLS: mesh.Strict, DefaultDeny: true, IstiodReplicas: 2},
		Observability: ObservabilityConfig{Mode: observability.Full, LogRetentionDays: 30, TracingSamplingPercent: 10,
			Prometheus: PrometheusConfig{Retention: "15d", StorageGiB: 50, Replicas: 1}},
		Rollouts: RolloutsConfig{Version: "2.41.1", Replicas: 2},
		DR:       DefaultDR(),
		Backup:   BackupConfig{DatabaseDays: 30, DataDays: 7},
		GitOps:   GitOpsConfig{ChartVersion: "9.5.17"}}
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
	if v, ok := src.Get(Project + ":environment"); ok && v != "" {
		cfg.Environment = Environment(v)
	}
	cfg.Region, _ = src.Get("aws:region")
	// Disaster recovery is on by default in prod only (the seed).
	cfg.DR.Enabled = cfg.Environment == Prod

	cfg.Tags = DefaultTags(cfg.Environment)
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
		if strings.HasPrefix(e.Msg, "unknown key") {
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
	c.resolveServices()
	if d, ok := queueDefaults[c.Queue.Engine]; ok {
		if c.Queue.InstanceType == "" {
			c.Queue.InstanceType = d[0]
		}
		if c.Queue.EngineVersion == "" {
			c.Queue.EngineVersion = d[1]
		}
	}
	if c.Addons.Issuer.Kind == "" {
		c.Addons.Issuer.Kind = defaultIssuers[c.Environment]
	}
	if c.GitOps.Repos == nil {
		c.GitOps.Repos = slices.Clone(DefaultGitOpsRepos)
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
