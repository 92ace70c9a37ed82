// Package database provisions the platform's Aurora PostgreSQL cluster: a
// writer and readers, storage and Performance Insights encrypted with the
// cluster's own KMS key, SSL forced, IAM authentication, backups in the
// 03:00-04:00 UTC window, deletion protection and a final snapshot outside
// dev, and a master password from pulumi-random kept in Secrets Manager.
package database

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/eduai/infra/components/field"
	"github.com/eduai/infra/components/internal/secure"
	"github.com/eduai/infra/components/partition"
	"github.com/eduai/infra/components/replication"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

var (
	engineVersionPattern = regexp.MustCompile(`^([0-9]{2})\.[0-9]+$`)
	windowPattern        = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$`)
	identifierPattern    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
)

// ValidEngineVersion tells whether v is an Aurora PostgreSQL version like 16.6.
func ValidEngineVersion(v string) bool { return engineVersionPattern.MatchString(v) }

// ValidWindow tells whether w is a daily UTC window like 03:00-04:00.
func ValidWindow(w string) bool { return windowPattern.MatchString(w) }

// ValidIdentifier tells whether s is a PostgreSQL database or user name we accept.
func ValidIdentifier(s string) bool { return identifierPattern.MatchString(s) }

// ReaderScaling adds and removes readers on CPU (target 70 %).
type ReaderScaling struct {
	MinReaders, MaxReaders int
}

// Role is a cluster's place in a global cluster or datastore; Replica is what a secondary
// needs (replication.Role, replication.Replica).
type (
	Role    = replication.Role
	Replica = replication.Replica[*Aurora]
)

// The roles (replication.Roles).
const (
	Standalone = replication.Standalone
	Primary    = replication.Primary
	Secondary  = replication.Secondary
)

// AuroraArgs configures the cluster.
type AuroraArgs struct {
	// Role in a global database; default Standalone.
	Role Role
	// Replica: required for a Secondary, nil otherwise.
	Replica *Replica
	// Partition of the cluster's region (partition.Of); default aws.
	Partition string
	// Name is the cluster identifier (physical), e.g. "eduai-prod"; a
	// secondary's is Name-secondary and Name is the global cluster's. Required.
	Name string
	// EngineVersion, e.g. "16.6" (major 16 or newer). Required.
	EngineVersion string
	// Instances is 1 writer + Instances-1 readers, >= 1; a secondary's are
	// readers, 0..15 (0 keeps it headless: storage only, the cheapest standby).
	Instances int
	// InstanceClass, e.g. db.r6g.xlarge. Required.
	InstanceClass string
	// DatabaseName and MasterUsername. Required.
	DatabaseName, MasterUsername string
	// BackupRetentionDays 1..35; BackupWindow like 03:00-04:00 (UTC).
	BackupRetentionDays int
	BackupWindow        string
	// SubnetGroupName places the cluster (database tier). Required.
	SubnetGroupName pulumi.StringInput
	// VpcID and ClientCIDRs: the security group admits 5432 from these blocks only
	// (the workload subnets). Required.
	VpcID       pulumi.StringInput
	ClientCIDRs []string
	// Hardened turns on deletion protection, a final snapshot, Performance
	// Insights and enhanced monitoring (60 s), and protects the stateful
	// resources against deletion and replacement. Staging and prod.
	Hardened bool
	// ReaderScaling, when non-nil, scales readers on CPU between its bounds (not a secondary's).
	ReaderScaling *ReaderScaling
}

func (a *AuroraArgs) role() Role { return a.Role.Or() }

// Validate checks the arguments' values (not the wiring: subnets, VPC,
// replica) and names each wrong field (field.List); stacks/ reports them at
// their config keys.
func (a *AuroraArgs) Validate() error {
	var errs field.List
	if m := engineVersionPattern.FindStringSubmatch(a.EngineVersion); m == nil || m[1] < "16" {
		errs.Add(field.Format, "EngineVersion", a.EngineVersion, "must be an Aurora PostgreSQL version 16 or newer like 16.6")
	}
	switch {
	case a.role() != Secondary && a.Instances < 1:
		errs.Add(field.Range, "Instances", a.Instances, "must be at least 1, the writer")
	case a.role() == Secondary && (a.Instances < 0 || a.Instances > 15):
		errs.Add(field.Range, "Instances", a.Instances, "must be 0..15 readers in a secondary")
	}
	if !strings.HasPrefix(a.InstanceClass, "db.") {
		errs.Add(field.Format, "InstanceClass", a.InstanceClass, "must be a DB instance class like db.r6g.large")
	}
	if a.BackupRetentionDays < 1 || a.BackupRetentionDays > 35 {
		errs.Add(field.Range, "BackupRetentionDays", a.BackupRetentionDays, "must be 1..35")
	}
	if !ValidWindow(a.BackupWindow) {
		errs.Add(field.Format, "BackupWindow", a.BackupWindow, "must be a UTC window like 03:00-04:00")
	}
	if !ValidIdentifier(a.DatabaseName) {
		errs.Add(field.Format, "DatabaseName", a.DatabaseName, "must be a lowercase identifier")
	}
	if !ValidIdentifier(a.MasterUsername) {
		errs.Add(field.Format, "MasterUsername", a.MasterUsername, "must be a lowercase identifier")
	}
	if s := a.ReaderScaling; s != nil && (s.MinReaders < 0 || s.MaxReaders < s.MinReaders || s.MaxReaders > 15) {
		errs.Add(field.Range, "ReaderScaling", nil, "needs 0 <= minReaders <= maxReaders <= 15 (got %d..%d)",
			s.MinReaders, s.MaxReaders)
	}
	if a.role() == Secondary && a.ReaderScaling != nil {
		errs.Add(field.Conflict, "ReaderScaling", nil, "a secondary's readers are its Instances")
	}
	return errs.Err()
}

// validate is Validate and the wiring: what the stack passes in, and a
// secondary's replica.
func (a *AuroraArgs) validate() error {
	errs := []error{a.Validate()}
	if a.Name == "" || a.SubnetGroupName == nil || a.VpcID == nil {
		errs = append(errs, errors.New("Name, SubnetGroupName and VpcID are required"))
	}
	if len(a.ClientCIDRs) == 0 {
		errs = append(errs, errors.New("ClientCIDRs: at least one"))
	}
	if err := replication.CheckRole(a.Role, a.Replica != nil); err != nil {
		return errors.Join(append(errs, err)...)
	}
	if a.role() == Secondary {
		errs = append(errs, a.validateReplica())
	}
	return errors.Join(errs...)
}

// validateReplica: a secondary has a primary, built as one, and is its copy:
// after a failover it is the primary, so it must back up, keep the engine
// and name the database and user the same way.
func (a *AuroraArgs) validateReplica() error {
	r := a.Replica
	if r.Primary == nil {
		return errors.New("Replica: a secondary needs the Primary it replicates")
	}
	p := r.Primary.args
	return replication.CheckSecondary(&r.Link, p.Name, p.Role, "", "",
		replication.Same{Field: "Name", Mine: a.Name, Primary: p.Name},
		replication.Same{Field: "EngineVersion", Mine: a.EngineVersion, Primary: p.EngineVersion},
		replication.Same{Field: "DatabaseName", Mine: a.DatabaseName, Primary: p.DatabaseName},
		replication.Same{Field: "MasterUsername", Mine: a.MasterUsername, Primary: p.MasterUsername},
		replication.Same{Field: "BackupRetentionDays", Mine: a.BackupRetentionDays, Primary: p.BackupRetentionDays},
		replication.Same{Field: "BackupWindow", Mine: a.BackupWindow, Primary: p.BackupWindow},
		replication.Same{Field: "Partition", Mine: a.Partition, Primary: p.Partition})
}

// names are a role's names: the primary's and a standalone cluster's by the
// component's name, a secondary's with the prefix and suffix the former
// AuroraGlobal component gave them, so that no resource is replaced
// (parameter group and security group descriptions are ForceNew in the
// provider: aws_rds_cluster_parameter_group, aws_security_group).
type names struct {
	prefix     string // of logical names
	identifier string // of the cluster (physical)
	keyWhat    string // the key's description
	sgWhat     string // "PostgreSQL from the workload subnets to <sgWhat>"
	sgTag      string // the security group's Name tag
	paramsWhat string // "SSL only, slow statements logged: <paramsWhat>"
}

func (a *AuroraArgs) names(name string) names {
	if a.role() == Secondary {
		return names{prefix: replication.SecondaryPrefix + name, identifier: a.Name + "-secondary",
			keyWhat: "Aurora global secondary " + a.Name, sgWhat: "the Aurora secondary " + a.Name,
			sgTag: a.Name + "-aurora-secondary", paramsWhat: a.Name + " secondary"}
	}
	return names{prefix: name, identifier: a.Name,
		keyWhat: "Aurora cluster " + a.Name + ": storage, Performance Insights, secret", sgWhat: "Aurora " + a.Name,
		sgTag: a.Name + "-aurora", paramsWhat: a.Name}
}

// instance names the i-th instance (from 0): logical name and identifier.
func (n names) instance(role Role, i int) (string, string) {
	if role == Secondary {
		return fmt.Sprintf("%s-reader-%d", n.prefix, i+1), fmt.Sprintf("%s-%d", n.identifier, i+1)
	}
	return fmt.Sprintf("%s-%d", n.prefix, i+1), fmt.Sprintf("%s-%d", n.identifier, i+1)
}

// Aurora is the database component.
type Aurora struct {
	pulumi.ResourceState

	// WriterEndpoint and ReaderEndpoint are the cluster's endpoints (a
	// secondary's cluster endpoint takes writes once a failover promotes it).
	WriterEndpoint, ReaderEndpoint pulumi.StringOutput
	// SecretARN is the Secrets Manager secret with the connection and master
	// credentials (a secondary's: its endpoints and the primary's credentials).
	SecretARN pulumi.StringOutput
	// SecurityGroupID guards port 5432.
	SecurityGroupID pulumi.StringOutput
	// ClusterARN is what AWS Backup selects.
	ClusterARN pulumi.StringOutput
	// GlobalClusterID is the global cluster's identifier (a secondary's only).
	GlobalClusterID pulumi.StringOutput

	args           AuroraArgs
	password       pulumi.StringOutput
	monitoringRole *iam.Role // enhanced monitoring (hardened only; IAM is global, the secondary shares it)
	// instances are the cluster's instances: what a global secondary waits for.
	instances []pulumi.Resource
}

// auroraGlobalType is the type the secondary had as its own component
// before issue #21; its resources keep their URNs through an alias.
const auroraGlobalType = "eduai:data:AuroraGlobal"

// NewAurora creates the cluster and everything it needs. A secondary also
// creates the global cluster, which adopts its primary (joining never
// replaces the primary), and the replication lag alarms.
func NewAurora(ctx *pulumi.Context, name string, args *AuroraArgs, opts ...pulumi.ResourceOption) (*Aurora, error) {
	if args == nil {
		args = &AuroraArgs{}
	}
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("database %q: %w", name, err)
	}
	role, n := args.role(), args.names(name)
	if role == Secondary {
		opts = append(opts, pulumi.Aliases([]pulumi.Alias{{Type: pulumi.String(auroraGlobalType)}}))
	}
	c := &Aurora{}
	if err := ctx.RegisterComponentResource("eduai:data:Aurora", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	keep := pulumi.Protect(args.Hardened)
	// here places a resource in the cluster's region: a secondary's in the
	// secondary region, while the global cluster and the primary's alarm stay
	// with the component's (the primary's) provider.
	here := []pulumi.ResourceOption{parent}
	var global *rds.GlobalCluster
	if role == Secondary {
		var err error
		if global, err = rds.NewGlobalCluster(ctx, name, &rds.GlobalClusterArgs{
			GlobalClusterIdentifier:   pulumi.String(args.Name),
			SourceDbClusterIdentifier: args.Replica.Primary.ClusterARN,
			ForceDestroy:              pulumi.Bool(false),
			DeletionProtection:        pulumi.Bool(args.Hardened),
		}, parent, keep); err != nil {
			return nil, err
		}
		here = append(here, pulumi.Provider(args.Replica.Provider))
		c.GlobalClusterID = global.ID().ToStringOutput()
	}
	keepHere := append([]pulumi.ResourceOption{keep}, here...)
	major := engineVersionPattern.FindStringSubmatch(args.EngineVersion)[1]

	key, err := secure.NewKey(ctx, n.prefix, n.keyWhat, nil, keepHere...)
	if err != nil {
		return nil, err
	}

	if role == Secondary {
		// The master password is the primary's: the data (and its users) replicate.
		c.password, c.monitoringRole = args.Replica.Primary.password, args.Replica.Primary.monitoringRole
	} else {
		password, err := random.NewRandomPassword(ctx, name+"-master", &random.RandomPasswordArgs{
			Length:  pulumi.Int(32),
			Special: pulumi.Bool(true),
			// RDS refuses / @ " and space in master passwords.
			OverrideSpecial: pulumi.String("!#$%&*()-_=+[]{}<>:?"),
		}, parent)
		if err != nil {
			return nil, err
		}
		c.password = password.Result
	}

	sg, err := postgresSecurityGroup(ctx, n.prefix, args.VpcID, args.ClientCIDRs, n.sgWhat, n.sgTag, here...)
	if err != nil {
		return nil, err
	}

	params, err := rds.NewClusterParameterGroup(ctx, n.prefix, &rds.ClusterParameterGroupArgs{
		Family:      pulumi.String("aurora-postgresql" + major),
		Description: pulumi.String("SSL only, slow statements logged: " + n.paramsWhat),
		Parameters:  clusterParameters(),
	}, here...)
	if err != nil {
		return nil, err
	}

	clusterArgs := sharedClusterArgs(args, n.identifier, args.SubnetGroupName, sg.ID(), params.Name, key.Arn, args.Hardened)
	clusterOpts := keepHere
	if role == Secondary {
		clusterArgs.GlobalClusterIdentifier = global.ID()
		clusterArgs.SkipFinalSnapshot = pulumi.Bool(true) // a secondary's data lives in the global cluster
		// A secondary replicates from the primary's writer instance: it is created
		// after the primary's instances (the provider's own aws_rds_global_cluster
		// example: depends_on the primary instance), while the global cluster
		// itself needs only the primary cluster. The instances themselves, not
		// the Aurora component: the Go SDK turns a dependency on a component
		// into its children registered so far (sdk/go/pulumi/rpc.go,
		// addDependency), which races with their registration.
		clusterOpts = append(clusterOpts, pulumi.DependsOn(args.Replica.Primary.instances))
	} else {
		clusterArgs.DatabaseName = pulumi.String(args.DatabaseName)
		clusterArgs.MasterUsername = pulumi.String(args.MasterUsername)
		clusterArgs.MasterPassword = c.password
		clusterArgs.SkipFinalSnapshot = pulumi.Bool(!args.Hardened)
		if args.Hardened {
			clusterArgs.FinalSnapshotIdentifier = pulumi.String(args.Name + "-final")
		}
	}
	if role != Standalone {
		// The global cluster adopts the primary (sourceDbClusterIdentifier);
		// a failover or switchover (runbook) then moves the roles. The program
		// leaves the membership alone.
		clusterOpts = append(clusterOpts, pulumi.IgnoreChanges([]string{"globalClusterIdentifier", "replicationSourceIdentifier"}))
	}
	cluster, err := rds.NewCluster(ctx, n.prefix, clusterArgs, clusterOpts...)
	if err != nil {
		return nil, err
	}

	if args.Hardened && role != Secondary {
		c.monitoringRole, err = iam.NewRole(ctx, name+"-monitoring", &iam.RoleArgs{
			Description: pulumi.String("Enhanced monitoring of Aurora " + args.Name),
			// Only RDS acting for this account (RDS user guide, Enhanced
			// Monitoring: "Protecting against the confused deputy problem").
			AssumeRolePolicy: pulumi.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`+
				`"Principal":{"Service":"monitoring.rds.amazonaws.com"},"Action":"sts:AssumeRole",`+
				`"Condition":{"StringEquals":{"aws:SourceAccount":"%s"}}}]}`, secure.AccountOf(key.Arn)),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := iam.NewRolePolicyAttachment(ctx, name+"-monitoring", &iam.RolePolicyAttachmentArgs{
			Role:      c.monitoringRole.Name,
			PolicyArn: pulumi.String(partition.ManagedPolicy(args.Partition, "service-role/AmazonRDSEnhancedMonitoringRole")),
		}, parent); err != nil {
			return nil, err
		}
	}

	for i := 0; i < args.Instances; i++ {
		// Instance names are by ordinal on purpose: instances are interchangeable
		// (failover moves the writer), and a count change adds or drops the last.
		// A secondary's are monitored like the primary's: one of them is the
		// writer after a failover.
		logical, identifier := n.instance(role, i)
		instArgs := instanceArgs(cluster.ID(), identifier, args.EngineVersion, args.InstanceClass, i, c.monitoringRole, key.Arn)
		inst, err := rds.NewClusterInstance(ctx, logical, instArgs, keepHere...)
		if err != nil {
			return nil, err
		}
		c.instances = append(c.instances, inst)
	}

	if s := args.ReaderScaling; s != nil {
		if err := scaleReaders(ctx, name, cluster, s, parent); err != nil {
			return nil, err
		}
	}

	secret, err := masterSecret(ctx, n.prefix, n.identifier, args.DatabaseName, args.MasterUsername, cluster.Endpoint,
		cluster.ReaderEndpoint, c.password, key.Arn, keepHere, here...)
	if err != nil {
		return nil, err
	}

	if role == Secondary {
		// Aurora reports AuroraGlobalDBReplicationLag from the secondary
		// cluster (Aurora User Guide, "Monitoring Aurora Global Database":
		// the metric of a secondary DB cluster).
		if err := replication.NewLagAlarms(ctx, replication.Metric{What: "Aurora global replication",
			Namespace: "AWS/RDS", Name: "AuroraGlobalDBReplicationLag", Dimension: "DBClusterIdentifier", PerSecond: 1000},
			&args.Replica.Link, args.Name,
			replication.Member{Alarm: n.prefix + "-replication-lag", ID: cluster.ClusterIdentifier,
				Topic: args.Replica.AlarmTopic, Opts: here},
			replication.Member{Alarm: name + "-replication-lag", ID: pulumi.String(args.Name),
				Topic: args.Replica.HomeAlarmTopic, Opts: []pulumi.ResourceOption{parent}}); err != nil {
			return nil, err
		}
	}

	c.args = *args
	c.WriterEndpoint = cluster.Endpoint
	c.ReaderEndpoint = cluster.ReaderEndpoint
	c.SecretARN = secret.Arn
	c.ClusterARN = cluster.Arn
	c.SecurityGroupID = sg.ID().ToStringOutput()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"writerEndpoint": c.WriterEndpoint, "readerEndpoint": c.ReaderEndpoint, "secretArn": c.SecretARN,
	})
}

// scaleReaders adds and removes readers on CPU between the bounds (target 70 %).
func scaleReaders(ctx *pulumi.Context, name string, cluster *rds.Cluster, s *ReaderScaling, opts ...pulumi.ResourceOption) error {
	target, err := appautoscaling.NewTarget(ctx, name+"-readers", &appautoscaling.TargetArgs{
		ServiceNamespace:  pulumi.String("rds"),
		ScalableDimension: pulumi.String("rds:cluster:ReadReplicaCount"),
		ResourceId:        pulumi.Sprintf("cluster:%s", cluster.ID()),
		MinCapacity:       pulumi.Int(s.MinReaders),
		MaxCapacity:       pulumi.Int(s.MaxReaders),
	}, opts...)
	if err != nil {
		return err
	}
	_, err = appautoscaling.NewPolicy(ctx, name+"-readers-cpu", &appautoscaling.PolicyArgs{
		PolicyType:        pulumi.String("TargetTrackingScaling"),
		ServiceNamespace:  target.ServiceNamespace,
		ScalableDimension: target.ScalableDimension,
		ResourceId:        target.ResourceId,
		TargetTrackingScalingPolicyConfiguration: appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
			TargetValue: pulumi.Float64(70),
			PredefinedMetricSpecification: appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
				PredefinedMetricType: pulumi.String("RDSReaderAverageCPUUtilization"),
			},
			ScaleInCooldown:  pulumi.Int(300),
			ScaleOutCooldown: pulumi.Int(300),
		},
	}, opts...)
	return err
}

// MaintenanceWindow is every Aurora cluster's weekly window (UTC), after the
// daily backup window.
const MaintenanceWindow = "sun:05:00-sun:06:00"

// sharedClusterArgs are the settings a primary cluster and its global
// secondary share, in one place: after a failover the secondary is the
// primary, so it must back up, take maintenance, log and encrypt the same way.
func sharedClusterArgs(a *AuroraArgs, identifier string, subnetGroup pulumi.StringInput, sg pulumi.IDOutput,
	params pulumi.StringOutput, key pulumi.StringOutput, deletionProtection bool) *rds.ClusterArgs {
	return &rds.ClusterArgs{
		ClusterIdentifier:                pulumi.String(identifier),
		Engine:                           pulumi.String("aurora-postgresql"),
		EngineVersion:                    pulumi.String(a.EngineVersion),
		DbSubnetGroupName:                subnetGroup,
		VpcSecurityGroupIds:              pulumi.StringArray{sg},
		DbClusterParameterGroupName:      params,
		StorageEncrypted:                 pulumi.Bool(true),
		KmsKeyId:                         key,
		IamDatabaseAuthenticationEnabled: pulumi.Bool(true),
		BackupRetentionPeriod:            pulumi.Int(a.BackupRetentionDays),
		PreferredBackupWindow:            pulumi.String(a.BackupWindow),
		PreferredMaintenanceWindow:       pulumi.String(MaintenanceWindow),
		CopyTagsToSnapshot:               pulumi.Bool(true),
		// AWS Backup selects it by tag (the secondary when its region is the active one).
		Tags:                         pulumi.StringMap{secure.BackupTag: pulumi.String(secure.BackupContinuous)},
		EnabledCloudwatchLogsExports: pulumi.StringArray{pulumi.String("postgresql")},
		DeletionProtection:           pulumi.Bool(deletionProtection),
	}
}

// instanceArgs is one Aurora PostgreSQL instance, private, at the pinned
// engine version; with a monitoring role (outside dev) it sends Performance
// Insights (encrypted with key) and enhanced monitoring.
func instanceArgs(cluster pulumi.IDOutput, identifier, engineVersion, class string, tier int, role *iam.Role,
	key pulumi.StringInput) *rds.ClusterInstanceArgs {
	inst := &rds.ClusterInstanceArgs{
		Identifier:         pulumi.String(identifier),
		ClusterIdentifier:  cluster,
		Engine:             pulumi.String("aurora-postgresql"),
		EngineVersion:      pulumi.String(engineVersion),
		InstanceClass:      pulumi.String(class),
		PubliclyAccessible: pulumi.Bool(false),
		// The version is pinned exactly (EngineVersion) and raised by config
		// (docs/runbooks/database-upgrade.md): with automatic upgrades AWS's
		// upgrade becomes a drift the next up tries to undo, and RDS refuses
		// the downgrade (issue #17; the pack's data-rds-minor-upgrades).
		AutoMinorVersionUpgrade: pulumi.Bool(false),
		PromotionTier:           pulumi.Int(tier),
	}
	if role != nil {
		inst.PerformanceInsightsEnabled = pulumi.Bool(true)
		inst.PerformanceInsightsKmsKeyId = key
		inst.MonitoringInterval = pulumi.Int(60)
		inst.MonitoringRoleArn = role.Arn
	}
	return inst
}

// clusterParameters are the primary's and the secondary's: TLS only,
// statements slower than one second go to the postgresql log, and so does
// every schema change (log_statement ddl: the audit trail of CREATE, ALTER
// and DROP that Checkov's CKV2_AWS_27 asks for, without logging every read).
func clusterParameters() rds.ClusterParameterGroupParameterArray {
	return rds.ClusterParameterGroupParameterArray{
		rds.ClusterParameterGroupParameterArgs{Name: pulumi.String("rds.force_ssl"), Value: pulumi.String("1")},
		rds.ClusterParameterGroupParameterArgs{Name: pulumi.String("log_min_duration_statement"), Value: pulumi.String("1000")},
		rds.ClusterParameterGroupParameterArgs{Name: pulumi.String("log_statement"), Value: pulumi.String("ddl")},
	}
}

// masterSecret keeps a cluster's endpoints and master credentials in Secrets
// Manager, encrypted with the cluster's key (the options carry the region's provider).
func masterSecret(ctx *pulumi.Context, name, cluster, dbname, username string, writer, reader, password pulumi.StringOutput,
	key pulumi.StringInput, secretOpts []pulumi.ResourceOption, versionOpts ...pulumi.ResourceOption) (*secretsmanager.Secret, error) {
	connection := pulumi.All(writer, reader, password).ApplyT(func(v []any) (string, error) {
		b, err := json.Marshal(map[string]any{
			"engine": "postgres", "host": v[0], "readerHost": v[1], "port": 5432,
			"dbname": dbname, "username": username, "password": v[2],
		})
		return string(b), err
	}).(pulumi.StringOutput)
	return secure.NewJSONSecret(ctx, name, secure.SecretArgs{
		NamePrefix: cluster + "/aurora-master-", Description: "Connection and master credentials of Aurora " + cluster,
		KeyARN: key, Value: connection,
	}, secretOpts, versionOpts...)
}

// postgresSecurityGroup admits PostgreSQL from the workload subnets only.
func postgresSecurityGroup(ctx *pulumi.Context, name string, vpc pulumi.StringInput, clients []string, what, tagName string,
	opts ...pulumi.ResourceOption) (*ec2.SecurityGroup, error) {
	return ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
		VpcId:       vpc,
		Description: pulumi.String("PostgreSQL from the workload subnets to " + what),
		Ingress: ec2.SecurityGroupIngressArray{ec2.SecurityGroupIngressArgs{
			Description: pulumi.String("PostgreSQL from the workload subnets"),
			Protocol:    pulumi.String("tcp"),
			FromPort:    pulumi.Int(5432),
			ToPort:      pulumi.Int(5432),
			CidrBlocks:  pulumi.ToStringArray(clients),
		}},
		Tags: pulumi.StringMap{"Name": pulumi.String(tagName)},
	}, opts...)
}
