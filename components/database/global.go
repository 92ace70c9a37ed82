package database

import (
	"errors"
	"fmt"

	"github.com/eduai/infra/components/internal/secure"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// GlobalArgs turns the primary Aurora cluster into the primary of an Aurora
// Global Database and adds a secondary cluster in another region.
type GlobalArgs struct {
	// Name of the global cluster and prefix of the secondary's resources. Required.
	Name string
	// Primary is the primary region's Aurora component (built with InGlobalCluster). Required.
	Primary *Aurora
	// Provider of the secondary region. Required.
	Provider pulumi.ProviderResource
	// SubnetGroupName, VpcID and ClientCIDRs of the secondary region's network. Required.
	SubnetGroupName pulumi.StringInput
	VpcID           pulumi.StringInput
	ClientCIDRs     []string
	// Readers in the secondary region: 0 keeps it headless (storage only, the cheapest standby).
	Readers       int
	InstanceClass string
	// Protect: deletion protection and protect on every stateful resource.
	Protect bool
	// LagAlarmSeconds raises an alarm when replication lags longer. Default 30 (the seed's threshold).
	LagAlarmSeconds int // AlarmTopic is the SNS topic (in the secondary's region) the lag alarm notifies. Required.
	AlarmTopic      pulumi.StringInput
	// HomeAlarmTopic is the topic in the primary's region, for the lag the
	// primary cluster reports once it is the replica (after a failover). Required.
	HomeAlarmTopic pulumi.StringInput
	// SecondaryActive: the secondary is the writer (dr.activeRegion
	// secondary), so the primary cluster is the replica whose lag must exist.
	SecondaryActive bool
}

// Global is the global database: the global cluster and its secondary.
type Global struct {
	pulumi.ResourceState
	// GlobalClusterID is the global cluster's identifier.
	GlobalClusterID pulumi.StringOutput
	// SecondaryARN is the secondary cluster's ARN.
	SecondaryARN pulumi.StringOutput
	// WriterEndpoint and ReaderEndpoint are the secondary's endpoints (its
	// cluster endpoint takes writes once a failover promotes it).
	WriterEndpoint, ReaderEndpoint pulumi.StringOutput
	// SecretARN is the secondary region's secret: its endpoints and the master credentials.
	SecretARN pulumi.StringOutput
}

// SecondaryPrefix starts the names of the resources in the secondary region.
const SecondaryPrefix = "dr-"

// NewGlobal creates the global cluster around the primary and the secondary cluster.
func NewGlobal(ctx *pulumi.Context, name string, args *GlobalArgs, opts ...pulumi.ResourceOption) (*Global, error) {
	if args == nil {
		args = &GlobalArgs{}
	}
	var errs []error
	if args.Name == "" || args.Primary == nil || args.Provider == nil || args.SubnetGroupName == nil || args.VpcID == nil ||
		args.AlarmTopic == nil || args.HomeAlarmTopic == nil {
		errs = append(errs, errors.New("Name, Primary, Provider, SubnetGroupName, VpcID, AlarmTopic and HomeAlarmTopic are required"))
	}
	if args.Readers < 0 || args.Readers > 15 || (args.Readers > 0 && args.InstanceClass == "") {
		errs = append(errs, fmt.Errorf("Readers: %d (0..15, with an InstanceClass)", args.Readers))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("global database %q: %w", name, err)
	}
	// The secondary is the primary's copy: engine, backups, windows and
	// logs come from the primary's own arguments (sharedClusterArgs).
	p := args.Primary.args
	major := engineVersionPattern.FindStringSubmatch(p.EngineVersion)[1]
	lag := args.LagAlarmSeconds
	if lag == 0 {
		lag = 30
	}
	g := &Global{}
	if err := ctx.RegisterComponentResource("eduai:data:AuroraGlobal", name, g, opts...); err != nil {
		return nil, err
	}
	parent, keep := pulumi.Parent(g), pulumi.Protect(args.Protect)
	there := pulumi.Provider(args.Provider)

	// The global cluster adopts the existing primary, so joining never replaces it.
	global, err := rds.NewGlobalCluster(ctx, name, &rds.GlobalClusterArgs{
		GlobalClusterIdentifier:   pulumi.String(args.Name),
		SourceDbClusterIdentifier: args.Primary.ClusterARN,
		ForceDestroy:              pulumi.Bool(false),
		DeletionProtection:        pulumi.Bool(args.Protect),
	}, parent, keep)
	if err != nil {
		return nil, err
	}
	g.GlobalClusterID = global.ID().ToStringOutput()

	dr := SecondaryPrefix + name
	key, err := secure.NewKey(ctx, dr, "Aurora global secondary "+args.Name, nil, parent, keep, there)
	if err != nil {
		return nil, err
	}
	sg, err := postgresSecurityGroup(ctx, dr, args.VpcID, args.ClientCIDRs, "the Aurora secondary "+args.Name,
		args.Name+"-aurora-secondary", parent, there)
	if err != nil {
		return nil, err
	}
	params, err := rds.NewClusterParameterGroup(ctx, dr, &rds.ClusterParameterGroupArgs{
		Family:      pulumi.String("aurora-postgresql" + major),
		Description: pulumi.String("SSL only, slow statements logged: " + args.Name + " secondary"),
		Parameters:  clusterParameters(),
	}, parent, there)
	if err != nil {
		return nil, err
	}
	secondaryArgs := sharedClusterArgs(&p, args.Name+"-secondary", args.SubnetGroupName, sg.ID(), params.Name, key.Arn, args.Protect)
	secondaryArgs.GlobalClusterIdentifier = global.ID()
	secondaryArgs.SkipFinalSnapshot = pulumi.Bool(true) // a secondary's data lives in the global cluster
	secondary, err := rds.NewCluster(ctx, dr, secondaryArgs,
		parent, keep, there,
		// A secondary replicates from the primary's writer instance: it is created
		// after the primary's instances (the provider's own aws_rds_global_cluster
		// example: depends_on the primary instance), while the global cluster
		// itself needs only the primary cluster. The instances themselves, not
		// the Aurora component: the Go SDK turns a dependency on a component
		// into its children registered so far (sdk/go/pulumi/rpc.go,
		// addDependency), which races with their registration.
		pulumi.DependsOn(args.Primary.instances),
		// After a failover or switchover (runbook) AWS moves the roles; the program does not fight it.
		pulumi.IgnoreChanges([]string{"replicationSourceIdentifier", "globalClusterIdentifier"}))
	if err != nil {
		return nil, err
	}
	g.SecondaryARN, g.WriterEndpoint, g.ReaderEndpoint = secondary.Arn, secondary.Endpoint, secondary.ReaderEndpoint
	secret, err := masterSecret(ctx, dr, args.Name+"-secondary", p.DatabaseName, p.MasterUsername, secondary.Endpoint,
		secondary.ReaderEndpoint, args.Primary.password, key.Arn, []pulumi.ResourceOption{parent, keep, there}, parent, there)
	if err != nil {
		return nil, err
	}
	g.SecretARN = secret.Arn
	for i := 0; i < args.Readers; i++ {
		// Monitored like the primary's instances: one of them is the writer after a failover.
		inst := instanceArgs(secondary.ID(), fmt.Sprintf("%s-secondary-%d", args.Name, i+1), p.EngineVersion,
			args.InstanceClass, i, args.Primary.monitoringRole, key.Arn)
		if _, err := rds.NewClusterInstance(ctx, fmt.Sprintf("%s-reader-%d", dr, i+1), inst, parent, keep, there); err != nil {
			return nil, err
		}
	}
	// Replication lag, in both directions. Aurora reports
	// AuroraGlobalDBReplicationLag from the secondary cluster (Aurora User
	// Guide, "Monitoring Aurora Global Database": the metric of a secondary
	// DB cluster), so the DR cluster reports it until a failover and the
	// primary cluster after one. The expected replica's alarm treats missing
	// data as breaching: no metric means no replication, the worst lag there
	// is. The other alarm treats it as not breaching (a writer reports none).
	for _, w := range []struct {
		name, cluster string
		topic         pulumi.StringInput
		replica       bool
		opts          []pulumi.ResourceOption
	}{
		{dr + "-replication-lag", "", args.AlarmTopic, !args.SecondaryActive, []pulumi.ResourceOption{parent, there}},
		{name + "-replication-lag", args.Name, args.HomeAlarmTopic, args.SecondaryActive, []pulumi.ResourceOption{parent}},
	} {
		cluster := pulumi.StringInput(secondary.ClusterIdentifier)
		if w.cluster != "" {
			cluster = pulumi.String(w.cluster)
		}
		if _, err := cloudwatch.NewMetricAlarm(ctx, w.name, &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.Sprintf("Aurora global replication of %s into %s lags more than %d s, or is not reported (the seed's threshold)",
				args.Name, cluster, lag),
			Namespace:          pulumi.String("AWS/RDS"),
			MetricName:         pulumi.String("AuroraGlobalDBReplicationLag"),
			Dimensions:         pulumi.StringMap{"DBClusterIdentifier": cluster},
			Statistic:          pulumi.String("Maximum"),
			Period:             pulumi.Int(60),
			EvaluationPeriods:  pulumi.Int(3),
			Threshold:          pulumi.Float64(float64(lag * 1000)), // the metric is in milliseconds
			ComparisonOperator: pulumi.String("GreaterThanThreshold"),
			TreatMissingData:   pulumi.String(missingLag(w.replica)),
			AlarmActions:       pulumi.Array{w.topic},
			OkActions:          pulumi.Array{w.topic},
		}, w.opts...); err != nil {
			return nil, err
		}
	}
	return g, ctx.RegisterResourceOutputs(g, pulumi.Map{"globalClusterId": g.GlobalClusterID, "secondaryArn": g.SecondaryARN,
		"writerEndpoint": g.WriterEndpoint, "secretArn": g.SecretARN})
}

// missingLag is how a lag alarm reads a minute without the metric: the
// replica's is breaching, the writer's (which reports none) not.
func missingLag(replica bool) string {
	if replica {
		return "breaching"
	}
	return "notBreaching"
}
