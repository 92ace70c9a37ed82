package cache

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/eduai/infra/components/internal/secure"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// globalFamilies are the node families ElastiCache Global Datastore runs on
// (ElastiCache user guide, "Global Datastore prerequisites and limitations":
// M5, M6g, M7g, R5, R6g, R6gd, R7g and newer general-purpose and memory
// families; never the burstable T family).
var globalFamilies = map[string]bool{"m5": true, "m6g": true, "m7g": true, "r5": true, "r6g": true, "r6gd": true, "r7g": true}

// GlobalDatastoreError tells why a node type and engine version cannot form a
// Global Datastore (nil when they can).
func GlobalDatastoreError(nodeType, engineVersion string) error {
	var errs []error
	parts := strings.Split(nodeType, ".")
	if len(parts) != 3 || parts[0] != "cache" || !globalFamilies[parts[1]] {
		errs = append(errs, fmt.Errorf("node type %q cannot join a Global Datastore (it needs an M5, M6g, M7g, R5, R6g, "+
			"R6gd or R7g node type; burstable T nodes are not supported)", nodeType))
	}
	major, minor, _ := strings.Cut(engineVersion, ".")
	maj, err1 := strconv.Atoi(major)
	mi, _ := strconv.Atoi(strings.Split(minor, ".")[0])
	if err1 != nil || maj < 5 || (maj == 5 && mi == 0 && !strings.HasPrefix(engineVersion, "5.0.6")) {
		errs = append(errs, fmt.Errorf("engine version %q cannot join a Global Datastore (Redis 5.0.6 or later)", engineVersion))
	}
	return errors.Join(errs...)
}

// GlobalArgs turns the primary Redis group into the primary of an
// ElastiCache Global Datastore and adds a read-only secondary group in
// another region, which a manual promotion (runbook) makes the writer.
type GlobalArgs struct {
	// Name of the secondary group and suffix of the global group's id. Required.
	Name string
	// Primary is the primary region's Redis component, built with InGlobalDatastore. Required.
	Primary *Redis
	// Provider of the secondary region. Required.
	Provider pulumi.ProviderResource
	// SubnetGroupName, VpcID and ClientCIDRs of the secondary region's network. Required.
	SubnetGroupName pulumi.StringInput
	VpcID           pulumi.StringInput
	ClientCIDRs     []string
	// Protect the secondary, its key and its secret.
	Protect bool
	// LagAlarmSeconds raises an alarm when the secondary lags longer. Default 30.
	LagAlarmSeconds int // AlarmTopic is the SNS topic (in the secondary's region) the lag alarm notifies. Required.
	AlarmTopic      pulumi.StringInput
	// HomeAlarmTopic is the topic in the primary's region, for the lag the
	// primary group reports once it is the secondary (after a failover). Required.
	HomeAlarmTopic pulumi.StringInput
	// SecondaryActive: the secondary group was promoted (dr.activeRegion
	// secondary), so the primary group is the one that must report lag.
	SecondaryActive bool
}

// Global is the Global Datastore and its secondary group.
type Global struct {
	pulumi.ResourceState
	// GlobalID is the global replication group's id.
	GlobalID pulumi.StringOutput
	// Endpoint of the secondary (configuration endpoint in cluster mode).
	Endpoint pulumi.StringOutput
	// SecretARN is the secondary region's secret: its endpoint and the (shared) AUTH token.
	SecretARN pulumi.StringOutput
}

// SecondaryPrefix starts the names of the resources in the secondary region.
const SecondaryPrefix = "dr-"

// NewGlobal creates the global replication group around the primary and the secondary group.
func NewGlobal(ctx *pulumi.Context, name string, args *GlobalArgs, opts ...pulumi.ResourceOption) (*Global, error) {
	if args == nil {
		args = &GlobalArgs{}
	}
	var errs []error
	if args.Name == "" || args.Primary == nil || args.Provider == nil || args.SubnetGroupName == nil || args.VpcID == nil ||
		args.AlarmTopic == nil || args.HomeAlarmTopic == nil {
		errs = append(errs, errors.New("Name, Primary, Provider, SubnetGroupName, VpcID, AlarmTopic and HomeAlarmTopic are required"))
	} else {
		p := args.Primary.args
		if !p.InGlobalDatastore {
			errs = append(errs, errors.New("Primary: build it with InGlobalDatastore, so it leaves engine and size to the global group"))
		}
		if err := GlobalDatastoreError(p.NodeType, p.EngineVersion); err != nil {
			errs = append(errs, err)
		}
	}
	if len(args.ClientCIDRs) == 0 {
		errs = append(errs, errors.New("ClientCIDRs: at least one"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("cache global datastore %q: %w", name, err)
	}
	lag := args.LagAlarmSeconds
	if lag == 0 {
		lag = 30
	}
	p := args.Primary.args
	g := &Global{}
	if err := ctx.RegisterComponentResource("eduai:data:RedisGlobal", name, g, opts...); err != nil {
		return nil, err
	}
	parent, keep, there := pulumi.Parent(g), pulumi.Protect(args.Protect), pulumi.Provider(args.Provider)

	// The global group adopts the primary; from now on it carries engine, size and shards.
	global := &elasticache.GlobalReplicationGroupArgs{
		GlobalReplicationGroupIdSuffix:    pulumi.String(p.Name),
		GlobalReplicationGroupDescription: pulumi.String("EduAI cache " + p.Name + " across regions"),
		PrimaryReplicationGroupId:         args.Primary.GroupID,
		EngineVersion:                     pulumi.String(p.EngineVersion),
		CacheNodeType:                     pulumi.String(p.NodeType),
		AutomaticFailoverEnabled:          pulumi.Bool(p.Nodes() > 1),
	}
	if p.ClusterMode {
		global.NumNodeGroups = pulumi.Int(p.Shards)
	}
	// It waits for the primary group through primaryReplicationGroupId (the group's output).
	// After a failover AWS answers the other member as the primary, and the
	// attribute is Required + ForceNew (terraform-provider-aws
	// global_replication_group.go): without ignoring it, the next refresh
	// would plan to replace the datastore (issue #19).
	grg, err := elasticache.NewGlobalReplicationGroup(ctx, name, global, parent, keep,
		pulumi.IgnoreChanges([]string{"primaryReplicationGroupId"}))
	if err != nil {
		return nil, err
	}
	g.GlobalID = grg.GlobalReplicationGroupId

	dr := SecondaryPrefix + name
	key, err := secure.NewKey(ctx, dr, "ElastiCache global secondary "+args.Name+": data at rest and its secret", nil,
		parent, keep, there)
	if err != nil {
		return nil, err
	}
	sg, err := redisSecurityGroup(ctx, dr, args.Name, args.VpcID, args.ClientCIDRs, parent, there)
	if err != nil {
		return nil, err
	}
	replicated := p.Nodes() > 1
	// The secondary inherits engine, node type, shards, TLS, at-rest
	// encryption and AUTH from the global group; it brings its own key,
	// network and replica count. The provider refuses those settings next to
	// globalReplicationGroupId (terraform-provider-aws
	// internal/service/elasticache/replication_group.go, ConflictsWith;
	// hashicorp/terraform-provider-aws#19053).
	secondary := &elasticache.ReplicationGroupArgs{
		ReplicationGroupId:       pulumi.String(args.Name),
		Description:              pulumi.String("EduAI cache " + p.Name + ": Global Datastore secondary"),
		GlobalReplicationGroupId: grg.GlobalReplicationGroupId,
		SubnetGroupName:          args.SubnetGroupName,
		SecurityGroupIds:         pulumi.StringArray{sg.ID()},
		KmsKeyId:                 key.Arn,
		AutomaticFailoverEnabled: pulumi.Bool(replicated),
		MultiAzEnabled:           pulumi.Bool(replicated),
		SnapshotRetentionLimit:   pulumi.Int(p.SnapshotRetentionDays),
		MaintenanceWindow:        pulumi.String("sun:06:00-sun:07:00"),
	}
	if p.ClusterMode {
		secondary.ReplicasPerNodeGroup = pulumi.Int(p.ReplicasPerShard)
	} else {
		secondary.NumCacheClusters = pulumi.Int(1 + p.ReplicasPerShard)
	}
	rg, err := elasticache.NewReplicationGroup(ctx, dr, secondary, parent, keep, there,
		// A promotion (runbook) moves the roles; the program does not fight it.
		pulumi.IgnoreChanges([]string{"engineVersion", "nodeType", "parameterGroupName", "globalReplicationGroupId"}))
	if err != nil {
		return nil, err
	}
	g.Endpoint = rg.PrimaryEndpointAddress
	if p.ClusterMode {
		g.Endpoint = rg.ConfigurationEndpointAddress
	}
	secret, err := authSecret(ctx, dr, args.Name, p.ClusterMode, g.Endpoint, args.Primary.authToken, key.Arn,
		[]pulumi.ResourceOption{parent, keep, there}, parent, there)
	if err != nil {
		return nil, err
	}
	g.SecretARN = secret.Arn
	// Replication lag, in both directions: ElastiCache reports
	// GlobalDatastoreReplicationLag for the secondary group (ElastiCache User
	// Guide, "Metrics for Global Datastore"), the DR group until a failover
	// and the primary group after one. The expected secondary's alarm treats
	// missing data as breaching (no metric, no replication); the other's not.
	for _, w := range []struct {
		name    string
		group   pulumi.StringInput
		topic   pulumi.StringInput
		replica bool
		opts    []pulumi.ResourceOption
	}{
		{dr + "-replication-lag", rg.ID().ToStringOutput(), args.AlarmTopic, !args.SecondaryActive, []pulumi.ResourceOption{parent, there}},
		{name + "-replication-lag", args.Primary.GroupID, args.HomeAlarmTopic, args.SecondaryActive, []pulumi.ResourceOption{parent}},
	} {
		missing := "notBreaching"
		if w.replica {
			missing = "breaching"
		}
		if _, err := cloudwatch.NewMetricAlarm(ctx, w.name, &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.Sprintf("Global Datastore replication of %s into %s lags more than %d s, or is not reported",
				p.Name, w.group, lag),
			Namespace:  pulumi.String("AWS/ElastiCache"),
			MetricName: pulumi.String("GlobalDatastoreReplicationLag"),
			Dimensions: pulumi.StringMap{"ReplicationGroupId": w.group},
			Statistic:  pulumi.String("Maximum"), Period: pulumi.Int(60), EvaluationPeriods: pulumi.Int(3),
			Threshold:          pulumi.Float64(float64(lag)), // the metric is in seconds
			ComparisonOperator: pulumi.String("GreaterThanThreshold"),
			TreatMissingData:   pulumi.String(missing),
			AlarmActions:       pulumi.Array{w.topic},
			OkActions:          pulumi.Array{w.topic},
		}, w.opts...); err != nil {
			return nil, err
		}
	}
	return g, ctx.RegisterResourceOutputs(g, pulumi.Map{"globalId": g.GlobalID, "endpoint": g.Endpoint, "secretArn": g.SecretARN})
}
