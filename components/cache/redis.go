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
	"regexp"
	"strings"

	"github.com/eduai/infra/components/field"
	"github.com/eduai/infra/components/internal/secure"
	"github.com/eduai/infra/components/replication"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elasticache"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Role is a group's place in a global cluster or datastore; Replica is what a secondary
// needs (replication.Role, replication.Replica).
type (
	Role    = replication.Role
	Replica = replication.Replica[*Redis]
)

// The roles (replication.Roles).
const (
	Standalone = replication.Standalone
	Primary    = replication.Primary
	Secondary  = replication.Secondary
)

// RedisArgs configures the replication group.
type RedisArgs struct {
	// Role in a Global Datastore; default Standalone.
	Role Role
	// Replica: required for a Secondary, nil otherwise.
	Replica *Replica
	// Name is the replication group id, e.g. "eduai-prod" (a secondary's,
	// e.g. "eduai-prod-dr"). Required.
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
}

// Nodes is the number of cache nodes the arguments describe.
func (a *RedisArgs) Nodes() int {
	shards := 1
	if a.ClusterMode {
		shards = a.Shards
	}
	return shards * (1 + a.ReplicasPerShard)
}

func (a *RedisArgs) role() Role { return a.Role.Or() }

// engineVersionPattern is a Redis major.minor version like 7.1.
var engineVersionPattern = regexp.MustCompile(`^[0-9]+\.[0-9]+$`)

// Validate checks the arguments' values (not the wiring: subnets, VPC,
// replica) and names each wrong field (field.List); stacks/ reports them at
// their config keys.
func (a *RedisArgs) Validate() error {
	var errs field.List
	if !strings.HasPrefix(a.NodeType, "cache.") {
		errs.Add(field.Format, "NodeType", a.NodeType, "must be a node type like cache.r6g.large")
	}
	if !engineVersionPattern.MatchString(a.EngineVersion) {
		errs.Add(field.Format, "EngineVersion", a.EngineVersion, "must be a Redis version like 7.1")
	}
	if a.ReplicasPerShard < 0 || a.ReplicasPerShard > 5 {
		errs.Add(field.Range, "ReplicasPerShard", a.ReplicasPerShard, "must be 0..5")
	}
	if a.ClusterMode && (a.Shards < 1 || a.Shards > 500) {
		errs.Add(field.Range, "Shards", a.Shards, "must be 1..500 in cluster mode")
	}
	if a.ClusterMode && a.Shards >= 1 && a.Nodes() < 2 {
		errs.Add(field.Conflict, "ClusterMode", nil, "cluster mode needs at least 2 nodes (got %d: %d shard x %d+1); "+
			"add a replica or turn clusterMode off", a.Nodes(), a.Shards, a.ReplicasPerShard)
	}
	if a.SnapshotRetentionDays < 0 || a.SnapshotRetentionDays > 35 {
		errs.Add(field.Range, "SnapshotRetentionDays", a.SnapshotRetentionDays, "must be 0..35")
	}
	if a.role() == Primary && strings.HasPrefix(a.NodeType, "cache.") {
		if err := GlobalDatastoreError(a.NodeType, a.EngineVersion); err != nil {
			errs.Add(field.Conflict, "NodeType", nil, "the DR region needs an ElastiCache Global Datastore, and %v", err)
		}
	}
	return errs.Err()
}

// validate is Validate and the wiring: what the stack passes in, and a
// secondary's replica.
func (a *RedisArgs) validate() error {
	errs := []error{a.Validate()}
	if a.Name == "" || a.SubnetGroupName == nil || a.VpcID == nil {
		errs = append(errs, errors.New("Name, SubnetGroupName and VpcID are required"))
	}
	if len(a.ClientCIDRs) == 0 {
		errs = append(errs, errors.New("ClientCIDRs: at least one"))
	}
	switch err := replication.CheckRole(a.Role, a.Replica != nil); {
	case err != nil:
		errs = append(errs, err)
	case a.role() == Secondary:
		errs = append(errs, a.validateReplica())
	}
	return errors.Join(errs...)
}

// validateReplica: a secondary has a primary, built as one, and the shape
// the global group gives every member.
func (a *RedisArgs) validateReplica() error {
	r := a.Replica
	if r.Primary == nil {
		return errors.New("Replica: a secondary needs the Primary it replicates")
	}
	p := r.Primary.args
	err := replication.CheckSecondary(&r.Link, p.Name, p.Role, ", so it leaves engine and size to the global group",
		" (the global group sets it)",
		replication.Same{Field: "NodeType", Mine: a.NodeType, Primary: p.NodeType},
		replication.Same{Field: "EngineVersion", Mine: a.EngineVersion, Primary: p.EngineVersion},
		replication.Same{Field: "ClusterMode", Mine: a.ClusterMode, Primary: p.ClusterMode},
		replication.Same{Field: "Shards", Mine: a.Shards, Primary: p.Shards})
	if a.Name == p.Name {
		err = errors.Join(err, fmt.Errorf("Name: %q is the primary's; a secondary group needs its own id", a.Name))
	}
	return err
}

// Redis is the cache component.
type Redis struct {
	pulumi.ResourceState

	// Endpoint is the configuration endpoint (cluster mode) or the primary endpoint.
	Endpoint pulumi.StringOutput
	// SecretARN holds the endpoint and the AUTH token.
	SecretARN pulumi.StringOutput
	// GroupID is the replication group's id (a Global Datastore adopts a primary's).
	GroupID pulumi.StringOutput
	// GlobalID is the global replication group's id (a secondary's only).
	GlobalID pulumi.StringOutput

	args      RedisArgs
	authToken pulumi.StringOutput
}

// redisGlobalType is the type the secondary had as its own component
// before issue #21; its resources keep their URNs through an alias.
const redisGlobalType = "eduai:data:RedisGlobal"

// NewRedis creates the replication group and what it needs. A secondary also
// creates the global group, which adopts its primary, and the replication
// lag alarms.
func NewRedis(ctx *pulumi.Context, name string, args *RedisArgs, opts ...pulumi.ResourceOption) (*Redis, error) {
	if args == nil {
		args = &RedisArgs{}
	}
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("cache %q: %w", name, err)
	}
	role := args.role()
	if role == Secondary {
		opts = append(opts, pulumi.Aliases([]pulumi.Alias{{Type: pulumi.String(redisGlobalType)}}))
	}
	c := &Redis{}
	if err := ctx.RegisterComponentResource("eduai:data:Redis", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	keep := pulumi.Protect(args.Protect)
	here := []pulumi.ResourceOption{parent}
	prefix, keyWhat := name, "ElastiCache "+args.Name+": data at rest and its secret"
	var group *elasticache.ReplicationGroupArgs
	var groupOpts []pulumi.ResourceOption
	if role == Secondary {
		global, err := globalGroup(ctx, name, args.Replica.Primary, parent, keep)
		if err != nil {
			return nil, err
		}
		c.GlobalID, c.authToken = global.GlobalReplicationGroupId, args.Replica.Primary.authToken
		here = append(here, pulumi.Provider(args.Replica.Provider))
		// Names the former RedisGlobal component gave them (the key's
		// description is the secondary's, the rest follows the group id).
		prefix, keyWhat = replication.SecondaryPrefix+name, "ElastiCache global secondary "+args.Name+": data at rest and its secret"
		group = &elasticache.ReplicationGroupArgs{
			Description:              pulumi.String("EduAI cache " + args.Replica.Primary.args.Name + ": Global Datastore secondary"),
			GlobalReplicationGroupId: global.GlobalReplicationGroupId,
		}
		// A promotion (runbook) moves the roles; the program does not fight it.
		groupOpts = []pulumi.ResourceOption{pulumi.IgnoreChanges([]string{"engineVersion", "nodeType", "parameterGroupName",
			"globalReplicationGroupId"})}
	}
	keepHere := append([]pulumi.ResourceOption{keep}, here...)

	key, err := secure.NewKey(ctx, prefix, keyWhat, nil, keepHere...)
	if err != nil {
		return nil, err
	}
	sg, err := redisSecurityGroup(ctx, prefix, args.Name, args.VpcID, args.ClientCIDRs, here...)
	if err != nil {
		return nil, err
	}
	if role != Secondary {
		if group, c.authToken, err = primaryGroup(ctx, name, args, key.Arn, parent); err != nil {
			return nil, err
		}
		if role == Primary {
			// The global group carries engine version, node type and shards from now on.
			groupOpts = []pulumi.ResourceOption{pulumi.IgnoreChanges([]string{"engineVersion", "nodeType", "numNodeGroups",
				"parameterGroupName", "globalReplicationGroupId"})}
		}
	}
	// What every member brings of its own: its id, network, key, replica
	// count, failover, snapshots and maintenance window.
	replicated := args.Nodes() > 1
	group.ReplicationGroupId = pulumi.String(args.Name)
	group.SubnetGroupName = args.SubnetGroupName
	group.SecurityGroupIds = pulumi.StringArray{sg.ID()}
	group.KmsKeyId = key.Arn
	group.AutomaticFailoverEnabled = pulumi.Bool(replicated)
	group.MultiAzEnabled = pulumi.Bool(replicated)
	group.SnapshotRetentionLimit = pulumi.Int(args.SnapshotRetentionDays)
	group.MaintenanceWindow = pulumi.String("sun:06:00-sun:07:00")
	if args.ClusterMode {
		group.ReplicasPerNodeGroup = pulumi.Int(args.ReplicasPerShard)
	} else {
		group.NumCacheClusters = pulumi.Int(1 + args.ReplicasPerShard)
	}
	rg, err := elasticache.NewReplicationGroup(ctx, prefix, group, append(keepHere, groupOpts...)...)
	if err != nil {
		return nil, err
	}

	c.args, c.GroupID = *args, rg.ID().ToStringOutput()
	c.Endpoint = rg.PrimaryEndpointAddress
	if args.ClusterMode {
		c.Endpoint = rg.ConfigurationEndpointAddress
	}
	secret, err := authSecret(ctx, prefix, args.Name, args.ClusterMode, c.Endpoint, c.authToken, key.Arn, keepHere, here...)
	if err != nil {
		return nil, err
	}
	c.SecretARN = secret.Arn
	if role == Secondary {
		// ElastiCache reports GlobalDatastoreReplicationLag for the secondary
		// group (ElastiCache User Guide, "Metrics for Global Datastore").
		if err := replication.NewLagAlarms(ctx, replication.Metric{What: "Global Datastore replication",
			Namespace: "AWS/ElastiCache", Name: "GlobalDatastoreReplicationLag", Dimension: "ReplicationGroupId", PerSecond: 1},
			&args.Replica.Link, args.Replica.Primary.args.Name,
			replication.Member{Alarm: prefix + "-replication-lag", ID: c.GroupID, Topic: args.Replica.AlarmTopic, Opts: here},
			replication.Member{Alarm: name + "-replication-lag", ID: args.Replica.Primary.GroupID,
				Topic: args.Replica.HomeAlarmTopic, Opts: []pulumi.ResourceOption{parent}}); err != nil {
			return nil, err
		}
	}
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{"endpoint": c.Endpoint, "secretArn": c.SecretARN})
}

// primaryGroup is what a writable group sets that a secondary inherits from
// the global group: engine, node type, parameters, shards, TLS, at-rest
// encryption, the AUTH token from pulumi-random and slow-log delivery. The
// provider refuses those next to globalReplicationGroupId
// (terraform-provider-aws internal/service/elasticache/replication_group.go,
// ConflictsWith; hashicorp/terraform-provider-aws#19053).
func primaryGroup(ctx *pulumi.Context, name string, args *RedisArgs, key pulumi.StringOutput,
	parent pulumi.ResourceOption) (*elasticache.ReplicationGroupArgs, pulumi.StringOutput, error) {
	token, err := random.NewRandomPassword(ctx, name+"-auth", &random.RandomPasswordArgs{
		Length: pulumi.Int(64),
		// Redis AUTH tokens take printable characters except / " @; letters and digits suffice.
		Special: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, pulumi.StringOutput{}, err
	}
	major, _, _ := strings.Cut(args.EngineVersion, ".")
	clusterEnabled := "no"
	if args.ClusterMode {
		clusterEnabled = "yes"
	}
	params, err := elasticache.NewParameterGroup(ctx, name, &elasticache.ParameterGroupArgs{
		Family:      pulumi.String("redis" + major),
		Description: pulumi.String("Redis " + args.Name + " (cluster mode " + clusterEnabled + ")"),
		Parameters: elasticache.ParameterGroupParameterArray{
			elasticache.ParameterGroupParameterArgs{Name: pulumi.String("cluster-enabled"), Value: pulumi.String(clusterEnabled)},
		},
	}, parent)
	if err != nil {
		return nil, pulumi.StringOutput{}, err
	}
	retention := args.LogRetentionDays
	if retention == 0 {
		retention = 30
	}
	slowLog, err := secure.NewLogGroup(ctx, name+"-slow-log", secure.LogGroupArgs{
		Name:          "/eduai/elasticache/" + args.Name + "/slow-log",
		RetentionDays: retention,
		RegionalARN:   key,
		Protect:       args.Protect,
	}, parent)
	if err != nil {
		return nil, pulumi.StringOutput{}, err
	}
	group := &elasticache.ReplicationGroupArgs{
		Description:              pulumi.String("EduAI cache " + args.Name),
		Engine:                   pulumi.String("redis"),
		EngineVersion:            pulumi.String(args.EngineVersion),
		NodeType:                 pulumi.String(args.NodeType),
		Port:                     pulumi.Int(6379),
		ParameterGroupName:       params.Name,
		AtRestEncryptionEnabled:  pulumi.Bool(true),
		TransitEncryptionEnabled: pulumi.Bool(true),
		AuthToken:                token.Result,
		AutoMinorVersionUpgrade:  pulumi.Bool(true),
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
	}
	return group, token.Result, nil
}

// globalGroup is the Global Datastore: it adopts the primary, and from then
// on carries engine, node type and shards. It waits for the primary group
// through primaryReplicationGroupId (the group's output). After a failover
// AWS answers the other member as the primary, and the attribute is Required
// + ForceNew (terraform-provider-aws global_replication_group.go): without
// ignoring it, the next refresh would plan to replace the datastore (issue #19).
func globalGroup(ctx *pulumi.Context, name string, primary *Redis, opts ...pulumi.ResourceOption) (*elasticache.GlobalReplicationGroup, error) {
	p := primary.args
	global := &elasticache.GlobalReplicationGroupArgs{
		GlobalReplicationGroupIdSuffix:    pulumi.String(p.Name),
		GlobalReplicationGroupDescription: pulumi.String("EduAI cache " + p.Name + " across regions"),
		PrimaryReplicationGroupId:         primary.GroupID,
		EngineVersion:                     pulumi.String(p.EngineVersion),
		CacheNodeType:                     pulumi.String(p.NodeType),
		AutomaticFailoverEnabled:          pulumi.Bool(p.Nodes() > 1),
	}
	if p.ClusterMode {
		global.NumNodeGroups = pulumi.Int(p.Shards)
	}
	return elasticache.NewGlobalReplicationGroup(ctx, name, global,
		append(opts, pulumi.IgnoreChanges([]string{"primaryReplicationGroupId"}))...)
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
