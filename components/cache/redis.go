// Package cache provisions the platform's ElastiCache Redis replication
// group: TLS in transit, at-rest encryption with its own KMS key, an AUTH
// token from pulumi-random kept in Secrets Manager, automatic failover and
// Multi-AZ whenever there is a replica, cluster mode where configured, and
// slow-log delivery to CloudWatch Logs.
package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/eduai/infra/components/internal/secure"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// RedisArgs configures the replication group.
type RedisArgs struct {
	// Name is the replication group id, e.g. "eduai-prod". Required.
	Name string
	// NodeType, e.g. cache.r6g.xlarge. Required.
	NodeType string
	// ClusterMode shards the keyspace over Shards node groups; off, there is one.
	ClusterMode bool
	// Shards (cluster mode only) and ReplicasPerShard (0..5) give the size:
	// Shards × (1 + ReplicasPerShard) nodes.
	Shards, ReplicasPerShard int
	// EngineVersion, e.g. "7.1"; the parameter group family follows it. Required.
	EngineVersion string
	// SubnetGroupName places the nodes (database tier). Required.
	SubnetGroupName pulumi.StringInput
	// VpcID and ClientCIDRs: 6379 is admitted from these blocks only. Required.
	VpcID       pulumi.StringInput
	ClientCIDRs []string
	// SnapshotRetentionDays keeps daily snapshots; 0 takes none.
	SnapshotRetentionDays int
	// LogRetentionDays of the slow-log group. Default 30.
	LogRetentionDays int
	// Protect guards the group, its key and its secret (staging, prod).
	Protect bool
	// InGlobalDatastore: the group is (or will be) the primary of a Global
	// Datastore (NewGlobal); engine version, node type and shards then change
	// through the global group, so the group itself ignores them.
	InGlobalDatastore bool
}

// Nodes is the number of cache nodes the arguments describe.
func (a *RedisArgs) Nodes() int {
	shards := 1
	if a.ClusterMode {
		shards = a.Shards
	}
	return shards * (1 + a.ReplicasPerShard)
}

func (a *RedisArgs) validate() error {
	var errs []error
	if a.Name == "" || a.NodeType == "" || a.EngineVersion == "" || a.SubnetGroupName == nil || a.VpcID == nil {
		errs = append(errs, errors.New("Name, NodeType, EngineVersion, SubnetGroupName and VpcID are required"))
	}
	if a.ReplicasPerShard < 0 || a.ReplicasPerShard > 5 {
		errs = append(errs, fmt.Errorf("ReplicasPerShard: 0..5 (got %d)", a.ReplicasPerShard))
	}
	if a.ClusterMode && (a.Shards < 1 || a.Shards > 500) {
		errs = append(errs, fmt.Errorf("Shards: 1..500 in cluster mode (got %d)", a.Shards))
	}
	if a.ClusterMode && a.Nodes() < 2 {
		errs = append(errs, fmt.Errorf("cluster mode with %d node: give it a replica or a second shard, or turn cluster mode off", a.Nodes()))
	}
	if a.SnapshotRetentionDays < 0 || a.SnapshotRetentionDays > 35 {
		errs = append(errs, fmt.Errorf("SnapshotRetentionDays: 0..35 (got %d)", a.SnapshotRetentionDays))
	}
	if len(a.ClientCIDRs) == 0 {
		errs = append(errs, errors.New("ClientCIDRs: at least one"))
	}
	return errors.Join(errs...)
}

// Redis is the cache component.
type Redis struct {
	pulumi.ResourceState

	// Endpoint is the configuration endpoint (cluster mode) or the primary endpoint.
	Endpoint pulumi.StringOutput
	// SecretARN holds the endpoint and the AUTH token.
	SecretARN pulumi.StringOutput
	// GroupID is the replication group's id (a Global Datastore adopts it).
	GroupID pulumi.StringOutput

	args      RedisArgs
	authToken pulumi.StringOutput
	group     *elasticache.ReplicationGroup
}

// NewRedis creates the replication group and what it needs.
func NewRedis(ctx *pulumi.Context, name string, args *RedisArgs, opts ...pulumi.ResourceOption) (*Redis, error) {
	if args == nil {
		args = &RedisArgs{}
	}
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("cache %q: %w", name, err)
	}
	c := &Redis{}
	if err := ctx.RegisterComponentResource("eduai:data:Redis", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	keep := pulumi.Protect(args.Protect)
	replicated := args.Nodes() > 1

	key, err := secure.NewKey(ctx, name, "ElastiCache "+args.Name+": data at rest and its secret", nil, parent, keep)
	if err != nil {
		return nil, err
	}
	token, err := random.NewRandomPassword(ctx, name+"-auth", &random.RandomPasswordArgs{
		Length: pulumi.Int(64),
		// Redis AUTH tokens take printable characters except / " @; letters and digits suffice.
		Special: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, err
	}
	sg, err := redisSecurityGroup(ctx, name, args.Name, args.VpcID, args.ClientCIDRs, parent)
	if err != nil {
		return nil, err
	}
	major, _, _ := strings.Cut(args.EngineVersion, ".")
	family := "redis" + major
	clusterEnabled := "no"
	if args.ClusterMode {
		clusterEnabled = "yes"
	}
	params, err := elasticache.NewParameterGroup(ctx, name, &elasticache.ParameterGroupArgs{
		Family:      pulumi.String(family),
		Description: pulumi.String("Redis " + args.Name + " (cluster mode " + clusterEnabled + ")"),
		Parameters: elasticache.ParameterGroupParameterArray{
			elasticache.ParameterGroupParameterArgs{Name: pulumi.String("cluster-enabled"), Value: pulumi.String(clusterEnabled)},
		},
	}, parent)
	if err != nil {
		return nil, err
	}
	retention := args.LogRetentionDays
	if retention == 0 {
		retention = 30
	}
	slowLog, err := secure.NewLogGroup(ctx, name+"-slow-log", secure.LogGroupArgs{
		Name:          "/eduai/elasticache/" + args.Name + "/slow-log",
		RetentionDays: retention,
		RegionalARN:   key.Arn,
		Protect:       args.Protect,
	}, parent)
	if err != nil {
		return nil, err
	}

	group := &elasticache.ReplicationGroupArgs{
		ReplicationGroupId:       pulumi.String(args.Name),
		Description:              pulumi.String("EduAI cache " + args.Name),
		Engine:                   pulumi.String("redis"),
		EngineVersion:            pulumi.String(args.EngineVersion),
		NodeType:                 pulumi.String(args.NodeType),
		Port:                     pulumi.Int(6379),
		ParameterGroupName:       params.Name,
		SubnetGroupName:          args.SubnetGroupName,
		SecurityGroupIds:         pulumi.StringArray{sg.ID()},
		AtRestEncryptionEnabled:  pulumi.Bool(true),
		KmsKeyId:                 key.Arn,
		TransitEncryptionEnabled: pulumi.Bool(true),
		AuthToken:                token.Result,
		AutomaticFailoverEnabled: pulumi.Bool(replicated),
		MultiAzEnabled:           pulumi.Bool(replicated),
		AutoMinorVersionUpgrade:  pulumi.Bool(true),
		SnapshotRetentionLimit:   pulumi.Int(args.SnapshotRetentionDays),
		MaintenanceWindow:        pulumi.String("sun:06:00-sun:07:00"),
		LogDeliveryConfigurations: elasticache.ReplicationGroupLogDeliveryConfigurationArray{
			elasticache.ReplicationGroupLogDeliveryConfigurationArgs{
				Destination: slowLog.Name, DestinationType: pulumi.String("cloudwatch-logs"),
				LogFormat: pulumi.String("json"), LogType: pulumi.String("slow-log"),
			}},
	}
	if args.SnapshotRetentionDays > 0 {
		group.SnapshotWindow = pulumi.String("04:00-05:00")
	}
	if args.ClusterMode {
		group.ClusterMode = pulumi.String("enabled")
		group.NumNodeGroups = pulumi.Int(args.Shards)
		group.ReplicasPerNodeGroup = pulumi.Int(args.ReplicasPerShard)
	} else {
		group.NumCacheClusters = pulumi.Int(1 + args.ReplicasPerShard)
	}
	groupOpts := []pulumi.ResourceOption{parent, keep}
	if args.InGlobalDatastore {
		groupOpts = append(groupOpts, pulumi.IgnoreChanges([]string{"engineVersion", "nodeType", "numNodeGroups",
			"parameterGroupName", "globalReplicationGroupId"}))
	}
	rg, err := elasticache.NewReplicationGroup(ctx, name, group, groupOpts...)
	if err != nil {
		return nil, err
	}

	c.args, c.authToken, c.group, c.GroupID = *args, token.Result, rg, rg.ID().ToStringOutput()
	c.Endpoint = rg.PrimaryEndpointAddress
	if args.ClusterMode {
		c.Endpoint = rg.ConfigurationEndpointAddress
	}
	secret, err := authSecret(ctx, name, args.Name, args.ClusterMode, c.Endpoint, token.Result, key.Arn,
		[]pulumi.ResourceOption{parent, keep}, parent)
	if err != nil {
		return nil, err
	}
	c.SecretARN = secret.Arn
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"endpoint": c.Endpoint, "secretArn": c.SecretARN})
}

// redisSecurityGroup admits Redis (TLS) from the workload subnets only.
func redisSecurityGroup(ctx *pulumi.Context, name, group string, vpc pulumi.StringInput, clients []string,
	opts ...pulumi.ResourceOption) (*ec2.SecurityGroup, error) {
	return ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
		VpcId:       vpc,
		Description: pulumi.String("Redis from the workload subnets to " + group),
		Ingress: ec2.SecurityGroupIngressArray{ec2.SecurityGroupIngressArgs{
			Description: pulumi.String("Redis (TLS) from the workload subnets"),
			Protocol:    pulumi.String("tcp"),
			FromPort:    pulumi.Int(6379),
			ToPort:      pulumi.Int(6379),
			CidrBlocks:  pulumi.ToStringArray(clients),
		}},
		Tags: pulumi.StringMap{"Name": pulumi.String(group + "-redis")},
	}, opts...)
}

// authSecret keeps a group's endpoint and AUTH token in Secrets Manager,
// encrypted with the group's key (the options carry the region's provider).
func authSecret(ctx *pulumi.Context, name, group string, clusterMode bool, endpoint, token pulumi.StringOutput,
	key pulumi.StringInput, secretOpts []pulumi.ResourceOption, versionOpts ...pulumi.ResourceOption) (*secretsmanager.Secret, error) {
	value := pulumi.All(endpoint, token).ApplyT(func(v []any) (string, error) {
		b, err := json.Marshal(map[string]any{"host": v[0], "port": 6379, "tls": true, "authToken": v[1],
			"clusterMode": clusterMode})
		return string(b), err
	}).(pulumi.StringOutput)
	return secure.NewJSONSecret(ctx, name, secure.SecretArgs{
		NamePrefix: group + "/redis-auth-", Description: "Endpoint and AUTH token of Redis " + group, KeyARN: key, Value: value,
	}, secretOpts, versionOpts...)
}
