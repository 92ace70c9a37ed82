// Package stacks is the composition root: it decodes and validates the stack
// config, creates the providers, composes the components, and exports the
// stack outputs, in that order. Nothing is registered until the whole config
// has been validated.
package stacks

import (
	"github.com/eduai/infra/components/partition"
	"maps"
	"slices"

	"github.com/eduai/infra/components/addons"
	"github.com/eduai/infra/components/alarms"
	"github.com/eduai/infra/components/backup"
	"github.com/eduai/infra/components/cache"
	"github.com/eduai/infra/components/cluster"
	"github.com/eduai/infra/components/database"
	"github.com/eduai/infra/components/dns"
	"github.com/eduai/infra/components/mesh"
	"github.com/eduai/infra/components/network"
	"github.com/eduai/infra/components/observability"
	"github.com/eduai/infra/components/queue"
	"github.com/eduai/infra/components/replication"
	"github.com/eduai/infra/components/runner"
	"github.com/eduai/infra/components/service"
	"github.com/eduai/infra/components/storage"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Run is the Pulumi program: main.go passes it to pulumi.Run.
func Run(ctx *pulumi.Context) error {
	cfg, err := LoadConfig(SourceFromContext(ctx))
	if err != nil {
		return err
	}
	return Deploy(ctx, cfg)
}

// Deploy registers the platform for an already validated config.
func Deploy(ctx *pulumi.Context, cfg *Config) error {
	providers, err := newProviders(ctx, cfg)
	if err != nil {
		return err
	}
	withProviders := providers.Options()
	dr := providers.DR != nil

	net, err := network.NewVpc(ctx, "network", cfg.networkArgs(), withProviders)
	if err != nil {
		return err
	}
	var drNet *network.Vpc
	if dr {
		// The secondary region: the same components, the DR provider.
		if drNet, err = network.NewVpc(ctx, "dr-network", cfg.drNetworkArgs(), providers.DROptions()); err != nil {
			return err
		}
	}

	// The deploy runners, in each region's workload subnets, and the peering
	// that lets a runner in either region reach both clusters' private endpoints.
	runners, err := deployRunners(ctx, cfg, providers, net, drNet)
	if err != nil {
		return err
	}
	if cfg.bootstrapping() {
		// The foundation phase: the clusters too (AWS APIs only), so that the
		// engine has read pulumi-eks' API security group once before any
		// saved plan (cluster.APIAccess); nothing else is needed before the
		// runner can run the rest.
		home := &tier{cfg: cfg.tierConfig(PrimaryRegion), aws: providers.AWS, net: net, apiAccess: runners.home}
		eks, err := home.cluster(ctx, providers)
		if err != nil {
			return err
		}
		ctx.Export("clusterName", pulumi.String(eks.Name))
		if dr {
			standby := &tier{prefix: "dr-", cfg: cfg.tierConfig(SecondaryRegion), aws: providers.DR, net: drNet,
				apiAccess: runners.standby}
			if _, err := standby.cluster(ctx, providers); err != nil {
				return err
			}
		}
		ctx.Export("bootstrapPhase", pulumi.String("foundation"))
		ctx.Export("environment", pulumi.String(string(cfg.Environment)))
		ctx.Export("region", pulumi.String(cfg.Region))
		ctx.Export("vpcId", net.VpcID)
		ctx.Export("privateSubnetIds", net.PrivateSubnetIDs)
		return nil
	}

	storageArgs := cfg.storageArgs()
	if dr {
		// Every application bucket replicates to the DR region.
		storageArgs.Replication = &storage.Replication{Provider: providers.DR, NamePrefix: cfg.namePrefix() + "-dr"}
	}
	buckets, err := storage.NewBuckets(ctx, "storage", storageArgs, withProviders)
	if err != nil {
		return err
	}
	home := dataStores{bucketNames: buckets.Names, bucketARNs: buckets.ARNs}
	standby := dataStores{bucketNames: buckets.ReplicaNames, bucketARNs: buckets.ReplicaARNs}

	dbRole, cacheRole := database.Standalone, cache.Standalone
	if dr {
		dbRole, cacheRole = database.Primary, cache.Primary
	}
	db, err := database.NewAurora(ctx, "database", cfg.databaseArgs(net, dbRole), withProviders)
	if err != nil {
		return err
	}
	home.db = endpointsOf(db.WriterEndpoint, db.ReaderEndpoint, db.SecretARN)
	var link *replication.Link
	if dr {
		link = &replication.Link{Provider: providers.DR, SecondaryActive: cfg.DR.ActiveRegion == SecondaryRegion}
		// The DR region's alarms (replication lag) notify this topic, in their region.
		drTopic := cfg.topicArgs("-dr-alarms")
		drTopic.AccountARN = db.ClusterARN
		drAlarms, err := alarms.NewTopic(ctx, "dr-alarms", drTopic, providers.DROptions())
		if err != nil {
			return err
		}
		// The primary region's: the lag its stores report once they are the replicas (after a failover).
		homeTopic := cfg.topicArgs("-replication-alarms")
		homeTopic.AccountARN = db.ClusterARN
		homeAlarms, err := alarms.NewTopic(ctx, "replication-alarms", homeTopic, withProviders)
		if err != nil {
			return err
		}
		link.AlarmTopic, link.HomeAlarmTopic = drAlarms.ARN, homeAlarms.ARN

		// Aurora Global Database: the primary here, a secondary in the DR
		// region (its component keeps the name of the former AuroraGlobal
		// component, so its resources keep their URNs).
		drArgs := cfg.databaseArgs(drNet, database.Secondary)
		drArgs.Instances, drArgs.Replica = cfg.drDatabaseReaders(), &database.Replica{Primary: db, Link: *link}
		secondary, err := database.NewAurora(ctx, "database-global", drArgs, withProviders)
		if err != nil {
			return err
		}
		standby.db = endpointsOf(secondary.WriterEndpoint, secondary.ReaderEndpoint, secondary.SecretARN)
	}

	redis, err := cache.NewRedis(ctx, "cache", cfg.cacheArgs(net, cacheRole), withProviders)
	if err != nil {
		return err
	}
	home.redis = endpointsOf(redis.Endpoint, redis.Endpoint, redis.SecretARN)
	if dr {
		// ElastiCache Global Datastore: a read-only secondary group in the DR region.
		drArgs := cfg.cacheArgs(drNet, cache.Secondary)
		drArgs.Name, drArgs.Replica = cfg.namePrefix()+"-dr", &cache.Replica{Primary: redis, Link: *link}
		secondary, err := cache.NewRedis(ctx, "cache-global", drArgs, withProviders)
		if err != nil {
			return err
		}
		standby.redis = endpointsOf(secondary.Endpoint, secondary.Endpoint, secondary.SecretARN)
	}

	messages, err := queue.New(ctx, "queue", cfg.queueArgs(net, cfg.Network, cfg.brokerCount()), withProviders)
	if err != nil {
		return err
	}
	home.queue = endpointsOf(messages.Endpoint, messages.Endpoint, messages.SecretARN)
	if dr {
		// Messages are not replicated across regions: the DR region keeps its own broker (runbook).
		drQueueArgs := cfg.queueArgs(drNet, cfg.DR.Network, cfg.drBrokerCount())
		drQueueArgs.Name = cfg.namePrefix() + "-dr"
		drQueue, err := queue.New(ctx, "dr-queue", drQueueArgs, providers.DROptions())
		if err != nil {
			return err
		}
		standby.queue = endpointsOf(drQueue.Endpoint, drQueue.Endpoint, drQueue.SecretARN)
	}

	if cfg.backupOn() {
		if err := deployBackup(ctx, cfg, providers); err != nil {
			return err
		}
	}

	// The hosts' public zone: their records, and the DNS-01 challenges.
	var zone *dns.Zone
	if z := cfg.DNS; z.ZoneName != "" {
		if zone, err = dns.NewZone(ctx, "dns", cfg.zoneArgs(), pulumi.Providers(providers.AWS)); err != nil {
			return err
		}
		ctx.Export("dnsZoneId", zone.ZoneID)
		ctx.Export("dnsNameServers", zone.NameServers)
	}

	primary := &tier{cfg: cfg.tierConfig(PrimaryRegion), aws: providers.AWS, net: net, stores: home,
		zone: zone, apiAccess: runners.home}
	var secondary *tier
	if dr {
		secondary = &tier{prefix: "dr-", cfg: cfg.tierConfig(SecondaryRegion), aws: providers.DR, net: drNet,
			stores: standby, zone: zone, apiAccess: runners.standby}
	}
	primaryTier, secondaryTier, err := deployTiers(ctx, providers, primary, secondary, cfg.DR.ActiveRegion == SecondaryRegion)
	if err != nil {
		return err
	}
	failover := false
	if dr {
		if d := cfg.DR.DNS; d != nil && zone != nil {
			// Every other host fails over with the record name.
			var others []string
			for _, h := range cfg.Mesh.Hosts {
				if h != d.RecordName {
					others = append(others, h)
				}
			}
			if _, err := dns.NewFailover(ctx, "dns", &dns.FailoverArgs{
				ZoneName: zone.Name, ZoneID: zone.ZoneID, RecordName: d.RecordName, Hosts: others,
				Home:          dns.Endpoint{Region: cfg.Region, Hostname: primaryTier.mesh.IngressHostname},
				Standby:       dns.Endpoint{Region: cfg.DR.Region, Hostname: secondaryTier.mesh.IngressHostname},
				StandbyActive: cfg.DR.ActiveRegion == SecondaryRegion,
				Protect:       cfg.protectStateful(),
			}, pulumi.Providers(providers.AWS)); err != nil {
				return err
			}
			failover = true
		}
		ctx.Export("drClusterName", pulumi.String(secondaryTier.eks.Name))
		ctx.Export("drKubeconfig", pulumi.ToSecret(secondaryTier.eks.KubeconfigJSON))
		ctx.Export("activeRegion", pulumi.String(cfg.activeRegionName()))
	}
	if zone != nil && !failover && primaryTier.mesh != nil && len(cfg.Mesh.Hosts) > 0 {
		// One region serves the hosts: an alias record each to its ingress.
		if err := dns.NewHosts(ctx, "dns-hosts", dns.HostsArgs{ZoneID: zone.ZoneID, Hosts: cfg.Mesh.Hosts,
			Ingress: dns.Endpoint{Region: cfg.Region, Hostname: primaryTier.mesh.IngressHostname}},
			pulumi.Providers(providers.AWS)); err != nil {
			return err
		}
	}
	eks, platform, watch := primaryTier.eks, primaryTier.platform, primaryTier.watch

	ctx.Export("environment", pulumi.String(string(cfg.Environment)))
	ctx.Export("region", pulumi.String(cfg.Region))
	ctx.Export("vpcId", net.VpcID)
	ctx.Export("publicSubnetIds", net.PublicSubnetIDs)
	ctx.Export("privateSubnetIds", net.PrivateSubnetIDs)
	ctx.Export("databaseSubnetIds", net.DatabaseSubnetIDs)
	ctx.Export("dbSubnetGroupName", net.DBSubnetGroupName)
	ctx.Export("cacheSubnetGroupName", net.CacheSubnetGroupName)
	ctx.Export("clusterName", pulumi.String(eks.Name))
	ctx.Export("kubeconfig", pulumi.ToSecret(eks.KubeconfigJSON))
	ctx.Export("clusterIssuer", pulumi.String(platform.IssuerName))
	ctx.Export("containerLogGroup", watch.LogGroupName)
	if primaryTier.cfg.Observability.Mode == observability.Full {
		ctx.Export("grafanaAdminPassword", watch.GrafanaAdminPassword)
	}
	bucketNames := pulumi.StringMap{}
	for name, v := range buckets.Names {
		bucketNames[name] = v
	}
	ctx.Export("buckets", bucketNames)
	ctx.Export("databaseWriterEndpoint", db.WriterEndpoint)
	ctx.Export("databaseReaderEndpoint", db.ReaderEndpoint)
	ctx.Export("databaseSecretArn", db.SecretARN)
	ctx.Export("redisEndpoint", redis.Endpoint)
	ctx.Export("redisSecretArn", redis.SecretARN)
	ctx.Export("queueEngine", pulumi.String(cfg.Queue.Engine))
	ctx.Export("queueEndpoint", messages.Endpoint)
	ctx.Export("queueSecretArn", messages.SecretARN)
	return nil
}

// apiAccess is each region's cluster API endpoint security group: it
// admits the runner of the same region by security group and the other
// region's workload subnets (its runner, through the peering) by CIDR.
type apiAccess struct {
	home, standby *cluster.APIAccess
}

// deployRunners creates the in-VPC GitLab Runner of each region (tag
// eduai-<stack>, and eduai-<stack>-dr in the DR region, which runs the
// failover when the primary region is down), with DR the peering of the two
// networks, and each region's cluster API security group that admits them
// (cluster.APIAccess: created here, in the foundation phase, so that every
// later preview knows it). It exports the token secrets the runbook fills.
func deployRunners(ctx *pulumi.Context, cfg *Config, providers *Providers, net, drNet *network.Vpc) (apiAccess, error) {
	var access apiAccess
	if drNet != nil {
		if _, err := network.NewPeering(ctx, "peering", network.PeeringArgs{
			Name: cfg.namePrefix() + "-dr", Requester: net, Accepter: drNet, AccepterPrefix: "dr-",
			RequesterCIDR: cfg.Network.CIDR, AccepterCIDR: cfg.DR.Network.CIDR,
			AccepterRegion: cfg.DR.Region, AccepterProvider: providers.DR,
		}, providers.Options()); err != nil {
			return access, err
		}
	}
	home := cluster.APIAccessArgs{Name: cfg.namePrefix(), VpcID: net.VpcID.ToStringOutput(), Clients: map[string]pulumi.IDOutput{}}
	standby := cluster.APIAccessArgs{Name: cfg.namePrefix() + "-dr", Clients: map[string]pulumi.IDOutput{}}
	if drNet != nil {
		standby.VpcID = drNet.VpcID.ToStringOutput()
	}
	if cfg.runnerOn() {
		r, err := runner.New(ctx, "ci-runner", cfg.runnerArgs(net, ""), providers.Options())
		if err != nil {
			return access, err
		}
		home.Clients[runner.Role] = r.SecurityGroupID
		ctx.Export("runnerTag", pulumi.String(RunnerTag(cfg.Stack)))
		ctx.Export("runnerTokenSecretArn", r.TokenSecretARN)
		if drNet != nil {
			dr, err := runner.New(ctx, "dr-ci-runner", cfg.runnerArgs(drNet, "-dr"), providers.DROptions())
			if err != nil {
				return access, err
			}
			standby.Clients[runner.Role] = dr.SecurityGroupID
			home.ClientCIDRs, standby.ClientCIDRs = drNet.PrivateSubnetCIDRs, net.PrivateSubnetCIDRs
			ctx.Export("drRunnerTag", pulumi.String(RunnerTag(cfg.Stack)+"-dr"))
			ctx.Export("drRunnerTokenSecretArn", dr.TokenSecretARN)
		}
	}
	var err error
	if access.home, err = cluster.NewAPIAccess(ctx, "cluster-api", home, providers.Options()); err != nil {
		return access, err
	}
	if drNet != nil {
		if access.standby, err = cluster.NewAPIAccess(ctx, "dr-cluster-api", standby, providers.DROptions()); err != nil {
			return access, err
		}
	}
	return access, nil
}

// runnerArgs converts eduai:runner for the runner in net; suffix "-dr" is the DR region's.
func (c *Config) runnerArgs(net *network.Vpc, suffix string) runner.Args {
	args := runner.Args{Partition: partition.Of(c.Region), Name: c.namePrefix() + suffix, Tag: RunnerTag(c.Stack) + suffix,
		DeployRoleARN: c.Cluster.DeployRoleARN, Protect: c.protectStateful()}
	runnerBindings.bind(&args, &c.Runner)
	if net != nil {
		args.VpcID, args.SubnetIDs = net.VpcID.ToStringOutput(), net.PrivateSubnetIDs
	}
	// The DR runner is a separate runner in GitLab: its token is put by hand (runbook).
	if r := c.Runner; r.Token != "" && suffix == "" {
		args.Token = pulumi.ToSecret(pulumi.String(r.Token)).(pulumi.StringOutput)
	}
	return args
}

// runnerBindings build the runner's arguments from eduai:runner (the token,
// a secret, by hand).
var runnerBindings = bindings{{arg: "InstanceType", key: "instanceType"}, {arg: "Instances", key: "instances"},
	{arg: "DiskSizeGiB", key: "diskSizeGiB"}, {arg: "Version", key: "version"}, {arg: "GitLabURL", key: "gitlabUrl"},
	{arg: "Concurrent", key: "concurrent"}, {arg: "Token", key: "token", manual: true}}

// namePrefix starts physical names and Name tags: "eduai-prod".
// The secondary region's tier adds "-dr" ("eduai-prod-dr").
func (c *Config) namePrefix() string { return Project + "-" + c.Stack + c.regionSuffix }

func (c *Config) networkArgs() *network.VpcArgs {
	return vpcArgs(c.Network, c.namePrefix(), c.protectStateful())
}

// drNetworkArgs is the DR region's network: the same component, its own plan.
func (c *Config) drNetworkArgs() *network.VpcArgs {
	return vpcArgs(c.DR.Network, c.namePrefix()+"-dr", c.protectStateful())
}

func vpcArgs(n NetworkConfig, prefix string, protect bool) *network.VpcArgs {
	args := &network.VpcArgs{NamePrefix: prefix}
	networkBindings.bind(args, &n)
	if n.FlowLogs.Enabled {
		args.FlowLogs = &network.FlowLogArgs{Protect: protect}
		flowLogBindings.bind(args.FlowLogs, &n.FlowLogs)
	}
	return args
}

// networkBindings build a network's arguments from eduai:network (and
// eduai:dr.network); the zones are the resolved list, the flow logs an
// object only when enabled.
var (
	networkBindings = bindings{{arg: "CIDR", key: "cidr"}, {arg: "NATStrategy", key: "natStrategy"},
		{arg: "InterfaceEndpoints", key: "interfaceEndpoints"}, {arg: "AvailabilityZones", key: "availabilityZones"},
		{arg: "FlowLogs", key: "flowLogs", manual: true, elem: flowLogBindings}}
	flowLogBindings = bindings{{arg: "RetentionDays", key: "retentionDays"}, {arg: "TrafficType", key: "trafficType"}}
)

// topicArgs is a replication alarm topic (named by suffix) from eduai:dr.
func (c *Config) topicArgs(suffix string) alarms.TopicArgs {
	args := alarms.TopicArgs{Name: c.namePrefix() + suffix, Protect: c.protectStateful()}
	topicBindings.bind(&args, &c.DR)
	return args
}

// topicBindings build the alarm topics' subscriptions from eduai:dr.
var topicBindings = bindings{{arg: "Emails", key: "alarmEmails"}}

// zoneArgs is the public zone's arguments from eduai:dns.
func (c *Config) zoneArgs() dns.ZoneArgs {
	args := dns.ZoneArgs{Partition: partition.Of(c.Region), Protect: c.protectStateful()}
	zoneBindings.bind(&args, &c.DNS)
	return args
}

// zoneBindings build the zone's arguments from eduai:dns.
var zoneBindings = bindings{{arg: "ZoneName", key: "zoneName"}, {arg: "ZoneID", key: "zoneId"}}

// protectStateful: staging and prod guard stateful resources (keys, data) against deletion and replacement.
func (c *Config) protectStateful() bool { return c.Environment != Dev }

func (c *Config) clusterArgs(net *network.Vpc) *cluster.ClusterArgs {
	args := &cluster.ClusterArgs{Partition: partition.Of(c.Region), Name: c.namePrefix(), Protect: c.protectStateful()}
	clusterBindings.bind(args, &c.Cluster)
	if net != nil {
		args.VpcID, args.PrivateSubnetIDs = net.VpcID.ToStringOutput(), net.PrivateSubnetIDs
	}
	for _, name := range slices.Sorted(maps.Keys(c.Cluster.NodeGroups)) {
		args.NodeGroups = append(args.NodeGroups, c.nodeGroupArgs(name))
	}
	return args
}

// clusterBindings build the cluster's arguments from eduai:cluster (node
// groups entry by entry, nodeGroupArgs) and name the keys of its errors.
var clusterBindings = bindings{{arg: "Version", key: "version"}, {arg: "PublicEndpoint", key: "publicEndpoint"},
	{arg: "PublicAccessCIDRs", key: "publicAccessCidrs"}, {arg: "LogTypes", key: "logTypes"},
	{arg: "LogRetentionDays", key: "logRetentionDays"}, {arg: "AdminRoleARNs", key: "adminRoleArns"},
	{arg: "DeployRoleARN", key: "deployRoleArn"}, {arg: "Addons", key: "addons"},
	{arg: "NodeGroups", key: "nodeGroups", elem: nodeGroupBindings}}

// nodeGroupBindings build a node group's arguments from its entry.
var nodeGroupBindings = bindings{{arg: "Name", key: ""}, {arg: "InstanceTypes", key: "instanceTypes"},
	{arg: "MinSize", key: "minSize"}, {arg: "MaxSize", key: "maxSize"}, {arg: "DesiredSize", key: "desiredSize"},
	{arg: "DiskSizeGiB", key: "diskSizeGiB"}, {arg: "Labels", key: "labels"},
	{arg: "MaxUnavailablePercentage", key: "maxUnavailablePercentage"}, {arg: "Taints", key: "taints"}}

// nodeGroupArgs converts one configured node group.
func (c *Config) nodeGroupArgs(name string) cluster.NodeGroupArgs {
	g := c.Cluster.NodeGroups[name]
	args := cluster.NodeGroupArgs{Name: name}
	nodeGroupBindings.bind(&args, &g)
	return args
}

func (c *Config) addonsArgs(eks *cluster.Cluster, net *network.Vpc, zone *dns.Zone) *addons.Args {
	args := &addons.Args{Region: c.Region, ChartVersions: map[addons.Chart]string{}}
	addonsBindings.bind(args, &c.Addons)
	args.Issuer.Region = c.Region
	if zone != nil && args.Issuer.Kind != addons.SelfSigned {
		// DNS-01 in the stack's zone, from each region on its own: the
		// standby's cert-manager holds valid certificates before a failover.
		args.Issuer.DNSZone, args.DNSZoneARN = zone.Name, zone.ARN
	}
	for name, v := range c.Addons.Charts {
		args.ChartVersions[addons.Chart(name)] = v
	}
	if eks != nil && net != nil {
		args.ClusterName, args.Cluster, args.VpcID = eks.Name, eks.ClusterName, net.VpcID.ToStringOutput()
		// Pods need nodes: the releases wait for every node group.
		args.DependsOn = eks.Nodes()
	}
	return args
}

// addonsBindings build the add-ons' arguments from eduai:addons.
var addonsBindings = bindings{{arg: "ChartVersions", key: "charts", manual: true},
	{arg: "Issuer", key: "issuer", elem: bindings{{arg: "Kind", key: "kind"}, {arg: "Email", key: "email"}}}}

func (c *Config) storageArgs() *storage.BucketsArgs {
	args := &storage.BucketsArgs{NamePrefix: c.namePrefix(), Protect: c.protectStateful()}
	storageBindings.bind(args, &c.Storage)
	for _, name := range slices.Sorted(maps.Keys(c.Storage.Buckets)) {
		b, cfg := storage.BucketArgs{Name: name}, c.Storage.Buckets[name]
		bucketBindings.bind(&b, &cfg)
		args.Buckets = append(args.Buckets, b)
	}
	return args
}

// storageBindings build the buckets' arguments from eduai:storage (the
// buckets entry by entry, through bucketBindings).
var (
	storageBindings = bindings{{arg: "AccessLogs", key: "accessLogs"}, {arg: "Buckets", key: "buckets", elem: bucketBindings}}
	bucketBindings  = bindings{{arg: "Name", key: ""}, {arg: "NoncurrentDays", key: "noncurrentDays"}}
)

func (c *Config) databaseArgs(net *network.Vpc, role database.Role) *database.AuroraArgs {
	args := &database.AuroraArgs{Role: role, Partition: partition.Of(c.Region), Name: c.namePrefix(),
		Hardened: c.protectStateful()}
	databaseBindings.bind(args, &c.Database)
	if role == database.Secondary {
		args.ReaderScaling = nil // a secondary's readers are dr.databaseReaders
	}
	if net != nil {
		args.SubnetGroupName, args.VpcID, args.ClientCIDRs = net.DBSubnetGroupName, net.VpcID.ToStringOutput(), net.PrivateSubnetCIDRs
	}
	return args
}

// databaseBindings build the database's arguments from eduai:database.
var databaseBindings = bindings{{arg: "EngineVersion", key: "engineVersion"}, {arg: "Instances", key: "instances"},
	{arg: "InstanceClass", key: "instanceClass"}, {arg: "BackupRetentionDays", key: "backupRetentionDays"},
	{arg: "BackupWindow", key: "backupWindow"}, {arg: "DatabaseName", key: "databaseName"},
	{arg: "MasterUsername", key: "masterUsername"}, {arg: "ReaderScaling", key: "readerScaling"}}

// cacheArgs converts the cache config; with net nil it serves validation.
func (c *Config) cacheArgs(net *network.Vpc, role cache.Role) *cache.RedisArgs {
	args := &cache.RedisArgs{Role: role, Name: c.namePrefix(), Protect: c.protectStateful()}
	cacheBindings.bind(args, &c.Cache)
	if net != nil {
		args.SubnetGroupName, args.VpcID, args.ClientCIDRs = net.CacheSubnetGroupName, net.VpcID.ToStringOutput(), net.PrivateSubnetCIDRs
	}
	return args
}

// cacheBindings build the cache's arguments from eduai:cache.
var cacheBindings = bindings{{arg: "NodeType", key: "nodeType"}, {arg: "ClusterMode", key: "clusterMode"},
	{arg: "Shards", key: "shards"}, {arg: "ReplicasPerShard", key: "replicasPerShard"},
	{arg: "EngineVersion", key: "engineVersion"}, {arg: "SnapshotRetentionDays", key: "snapshotRetentionDays"}}

// queueArgs builds the broker in net (planned by n) with the given Kafka
// broker count; with net nil it serves validation.
func (c *Config) queueArgs(net *network.Vpc, n NetworkConfig, brokers int) *queue.QueueArgs {
	args := &queue.QueueArgs{Name: c.namePrefix(), SubnetCount: len(n.AvailabilityZones), Protect: c.protectStateful()}
	queueBindings.bind(args, &c.Queue)
	if args.Engine == queue.Kafka {
		args.Brokers = brokers // the configured count, or one per zone (brokerCount)
	}
	if net != nil {
		args.SubnetIDs, args.VpcID, args.ClientCIDRs = net.DatabaseSubnetIDs, net.VpcID.ToStringOutput(), net.PrivateSubnetCIDRs
	}
	return args
}

// queueBindings build the queue's arguments from eduai:queue.
var queueBindings = bindings{{arg: "Engine", key: "engine"}, {arg: "Brokers", key: "brokers"},
	{arg: "InstanceType", key: "instanceType"}, {arg: "EngineVersion", key: "engineVersion"},
	{arg: "VolumeSizeGiB", key: "volumeSizeGiB"}}

// ServicesNamespace is where the platform services run (sidecar injection on with the mesh).
const ServicesNamespace = "eduai"

func (c *Config) meshArgs(eks *cluster.Cluster, platform *addons.ClusterAddons) *mesh.MeshArgs {
	args := &mesh.MeshArgs{ServicesNamespace: ServicesNamespace,
		// Each service's declared callers become its ALLOW policy.
		Callers: map[string][]string{},
	}
	meshBindings.bind(args, &c.Mesh)
	for name, s := range c.Services {
		callers := slices.Clone(s.Callers)
		// A blue-green service's smoke test calls it from inside the mesh before each switch.
		if s.Strategy == service.BlueGreen {
			callers = append(callers, service.SmokeCaller(ServicesNamespace, name))
		}
		if len(callers) > 0 {
			args.Callers[name] = callers
		}
	}
	// The region's own name, which the DNS health check calls, is served too.
	if regional := c.regionalName(); regional != "" {
		args.Hosts = append(slices.Clone(args.Hosts), regional)
	}
	// The proxies send spans to Jaeger when the full observability stack runs.
	if c.Observability.Mode == observability.Full {
		args.Tracing = &mesh.Tracing{Service: observability.TracingService, Port: observability.TracingPort,
			SamplingPercent: c.Observability.TracingSamplingPercent}
	}
	// Pods need nodes; the gateway's NLB needs the load balancer controller; the Certificate needs cert-manager.
	if eks != nil && platform != nil {
		args.DependsOn, args.Issuer = eks.Nodes(), platform.IssuerName
		args.LoadBalancerController = platform.Releases[addons.AWSLoadBalancerController]
		args.CertManager = platform.Releases[addons.CertManager]
	}
	return args
}

// meshBindings build the mesh's arguments from eduai:mesh.
var meshBindings = bindings{{arg: "Version", key: "version"}, {arg: "MTLS", key: "mtls"},
	{arg: "DefaultDeny", key: "defaultDeny"}, {arg: "IstiodReplicas", key: "istiodReplicas"},
	{arg: "IstiodMaxReplicas", key: "istiodMaxReplicas"}, {arg: "Hosts", key: "hosts"}}

func (c *Config) observabilityArgs(eks *cluster.Cluster) *observability.Args {
	o := c.Observability
	args := &observability.Args{Region: c.Region, ChartVersions: map[observability.Chart]string{},
		ServicesNamespace: ServicesNamespace,
		// The canary analysis queries Prometheus from Argo Rollouts' namespace.
		QueryNamespaces: []string{service.RolloutsNamespace},
		ScrapeIstio:     c.Mesh.Enabled,
		Protect:         c.protectStateful(),
	}
	observabilityBindings.bind(args, &c.Observability)
	if eks != nil {
		args.ClusterName, args.Cluster, args.RegionalARN = eks.Name, eks.ClusterName, eks.SecretsKeyARN
		// Pods need nodes; the monitoring volumes need the EBS CSI driver.
		args.DependsOn = eks.Nodes()
	}
	for name, v := range c.observabilityCharts() {
		args.ChartVersions[observability.Chart(name)] = v
	}
	for _, name := range slices.Sorted(maps.Keys(o.Alerting.Receivers)) {
		r := o.Alerting.Receivers[name]
		args.Alerting.Receivers = append(args.Alerting.Receivers, observability.Receiver{Name: name,
			Type: r.Type, Channel: r.Channel, Credential: r.Credential})
	}
	return args
}

// observabilityBindings build the observability arguments from
// eduai:observability (charts and receivers entry by entry).
var observabilityBindings = bindings{{arg: "Mode", key: "mode"}, {arg: "LogRetentionDays", key: "logRetentionDays"},
	{arg: "Prometheus", key: "prometheus"}, {arg: "ChartVersions", key: "charts", manual: true},
	{arg: "Alerting", key: "alerting", elem: bindings{{arg: "Critical", key: "critical"}, {arg: "Warning", key: "warning"},
		{arg: "Receivers", key: "receivers", elem: bindings{{arg: "Name", key: ""}, {arg: "Type", key: "type"},
			{arg: "Channel", key: "channel"}, {arg: "Credential", key: "credential"}}}}}}

// deployBackup: a vault in each region; the plan runs in the active region
// (AWS Backup plans are regional), selects by tag what the components mark
// (the database, the buckets or their replicas) and copies every recovery
// point to the other region's vault.
func deployBackup(ctx *pulumi.Context, cfg *Config, providers *Providers) error {
	vault, err := backup.NewVault(ctx, "backup", cfg.vaultArgs(""), providers.Options())
	if err != nil {
		return err
	}
	args := cfg.planArgs(vault)
	if providers.DR == nil {
		_, err = backup.NewPlan(ctx, "backup", args, providers.Options())
		return err
	}
	drVault, err := backup.NewVault(ctx, "dr-backup", cfg.vaultArgs("-dr"), providers.DROptions())
	if err != nil {
		return err
	}
	if cfg.DR.ActiveRegion == SecondaryRegion {
		args.Name, args.Vault, args.CopyTo = cfg.namePrefix()+"-dr", drVault, vault
		_, err = backup.NewPlan(ctx, "dr-backup", args, providers.DROptions())
		return err
	}
	args.CopyTo = drVault
	_, err = backup.NewPlan(ctx, "backup", args, providers.Options())
	return err
}

// vaultArgs is a region's vault; suffix "-dr" is the DR region's. In prod
// nobody but the backup admins may delete a recovery point.
func (c *Config) vaultArgs(suffix string) backup.VaultArgs {
	args := backup.VaultArgs{Name: c.namePrefix() + suffix, Protect: c.protectStateful(), DenyDeletion: c.Environment == Prod}
	vaultBindings.bind(&args, &c.Backup)
	return args
}

// planArgs is the plan writing to vault (nil: validation).
func (c *Config) planArgs(vault *backup.Vault) *backup.PlanArgs {
	args := &backup.PlanArgs{Partition: partition.Of(c.Region), Name: c.namePrefix(), Vault: vault, Databases: true, Data: true}
	planBindings.bind(args, &c.Backup)
	return args
}

// vaultBindings and planBindings build AWS Backup's arguments from eduai:backup.
var (
	vaultBindings = bindings{{arg: "LockMinDays", key: "lockDays"}, {arg: "AdminRoleARNs", key: "adminRoleArns"}}
	planBindings  = bindings{{arg: "DatabaseDays", key: "databaseDays"}, {arg: "DataDays", key: "dataDays"},
		{arg: "RestoreTests", key: "restoreTests"}}
)

// activeRegionName is the region that takes writes.
func (c *Config) activeRegionName() string {
	if c.DR.Enabled && c.DR.ActiveRegion == SecondaryRegion {
		return c.DR.Region
	}
	return c.Region
}

// drDatabaseReaders: the secondary's instances; once it is the active
// region it runs as many as the primary (one becomes the writer).
func (c *Config) drDatabaseReaders() int {
	if c.DR.ActiveRegion == SecondaryRegion {
		return c.Database.Instances
	}
	return c.DR.DatabaseReaders
}

// drBrokerCount: the DR broker is as large as the primary's once active,
// otherwise the smallest the DR network allows (one per zone).
func (c *Config) drBrokerCount() int {
	if c.DR.ActiveRegion == SecondaryRegion {
		return c.brokerCount()
	}
	return len(c.DR.Network.AvailabilityZones)
}

// deployTiers deploys the active region's tier first and then the standby's,
// whose services wait for the active tier's (tier.after); secondary is nil
// without DR.
func deployTiers(ctx *pulumi.Context, p *Providers, primary, secondary *tier, secondaryActive bool) (*tierResult, *tierResult, error) {
	if secondary == nil {
		r, err := primary.deploy(ctx, p)
		return r, nil, err
	}
	active, standby := primary, secondary
	if secondaryActive {
		active, standby = secondary, primary
	}
	activeResult, err := active.deploy(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	standby.after = activeResult.services
	standbyResult, err := standby.deploy(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	if secondaryActive {
		return standbyResult, activeResult, nil
	}
	return activeResult, standbyResult, nil
}
