package stacks

import (
	"github.com/eduai/infra/components/addons"
	"reflect"
	"slices"

	"github.com/eduai/infra/components/mesh"
	"github.com/eduai/infra/components/observability"
	"github.com/eduai/infra/components/queue"
	"github.com/eduai/infra/components/runner"
	"github.com/eduai/infra/components/service"
)

// Defaults is the whole config of a stack before its stack file: every
// section's default value, in one place (issue #21). The stack file's keys
// overwrite it; values derived from other keys (the zones from azCount, the
// queue's instance type by engine, a DNS health service) are filled after
// decoding (resolve), and the config reference (reference.go) reads its
// default column from here for each environment.
func Defaults(stack string, env Environment) *Config {
	return &Config{Stack: stack, Environment: env,
		Tags:    DefaultTags(env),
		Network: DefaultNetwork(),
		Cluster: DefaultCluster(),
		Addons:  AddonsConfig{Charts: DefaultCharts(), Issuer: IssuerConfig{Kind: defaultIssuer(env), Email: DefaultIssuerEmail}},
		Storage: StorageConfig{AccessLogs: true,
			Buckets: map[string]BucketConfig{"content": defaultBucket(), "media": defaultBucket()}},
		Database: DefaultDatabase(),
		Cache:    DefaultCache(),
		Queue:    QueueConfig{Engine: queue.Kafka, VolumeSizeGiB: 100},
		Mesh:     MeshConfig{Enabled: true, Version: "1.29.6", MTLS: mesh.Strict, DefaultDeny: true, IstiodReplicas: 2},
		Observability: ObservabilityConfig{Mode: observability.Full, LogRetentionDays: 30, TracingSamplingPercent: 10,
			Prometheus: PrometheusConfig{Retention: "15d", StorageGiB: 50, Replicas: 1}},
		Rollouts: RolloutsConfig{Version: "2.41.1", Replicas: 2},
		// Disaster recovery is on by default in prod only (the seed).
		DR: defaultDR(env == Prod),
		// The seed: dev has no backups.
		Backup: BackupConfig{Enabled: env != Dev, DatabaseDays: 30, DataDays: 7, RestoreTests: true},
		// A person syncs staging and prod; dev follows every commit.
		GitOps: GitOpsConfig{Enabled: true, ChartVersion: "9.5.17", Repos: slices.Clone(DefaultGitOpsRepos), AutoSync: env == Dev},
		Runner: RunnerConfig{Enabled: true, InstanceType: runner.DefaultInstanceType, Instances: 1,
			DiskSizeGiB: runner.DefaultDiskSizeGiB, Version: runner.DefaultVersion, GitLabURL: runner.DefaultGitLabURL,
			Concurrent: runner.DefaultConcurrent}}
}

// defaultIssuer is the environment's ClusterIssuer kind; an environment
// that is not one of Environments (reported on its own) gets the
// self-signed one, so no second error follows from the first.
func defaultIssuer(env Environment) addons.IssuerKind {
	if kind, ok := defaultIssuers[env]; ok {
		return kind
	}
	return addons.SelfSigned
}

func defaultDR(enabled bool) DRConfig {
	d := DefaultDR()
	d.Enabled = enabled
	return d
}

// elementDefaults are the defaults of the values a stack file adds by name
// (a service, a node group, a bucket) or turns on (an ingress): the strict
// decoder starts each from its template here, so a key the entry leaves
// out keeps the default and a key it sets, even to zero, keeps its value.
// The config reference reads them from here too.
var elementDefaults = map[reflect.Type]any{
	reflect.TypeFor[ServiceConfig]():   defaultService(),
	reflect.TypeFor[IngressConfig]():   defaultIngress(),
	reflect.TypeFor[NodeGroupConfig](): defaultNodeGroupFields(),
	reflect.TypeFor[BucketConfig]():    defaultBucket(),
}

// newElement is a new value of type t: its template's copy, or zero.
func newElement(t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	if d, ok := elementDefaults[t]; ok {
		v.Set(reflect.ValueOf(d))
	}
	return v
}

// defaultService is a service's defaults (the seed's).
func defaultService() ServiceConfig {
	return ServiceConfig{Strategy: service.Rolling, Port: 8080, Replicas: 3,
		Autoscaling: AutoscalingConfig{Enabled: true, Min: 3, Max: 20, CPUPercent: 70, MemoryPercent: 80},
		Resources: ResourcesConfig{Requests: QuantitiesConfig{CPU: "500m", Memory: "1Gi"},
			Limits: QuantitiesConfig{CPU: "1", Memory: "2Gi"}},
		Probes: true, Analysis: true,
		BlueGreen: BlueGreenConfig{ActiveColor: service.Blue}}
}

// defaultIngress is an ingress's defaults: the seed's rate-limit annotation value.
func defaultIngress() IngressConfig { return IngressConfig{RateLimitRPS: 1000} }

// defaultNodeGroupFields are what a named node group need not say: its
// root volume and the share of nodes an update replaces at once (EKS's
// own default is one node; a third keeps updates of large groups short).
func defaultNodeGroupFields() NodeGroupConfig {
	return NodeGroupConfig{DiskSizeGiB: 100, MaxUnavailablePercentage: 33}
}

// defaultBucket keeps replaced or deleted versions 90 days.
func defaultBucket() BucketConfig { return BucketConfig{NoncurrentDays: 90} }
