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
	"github.com/eduai/infra/components/partition"
	"regexp"
	"strings"

	"github.com/eduai/infra/components/internal/secure"

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

// AuroraArgs configures the cluster.
type AuroraArgs struct {
	// Partition of the cluster's region (partition.Of); default aws.
	Partition string
	// Name is the cluster identifier (physical), e.g. "eduai-prod". Required.
	Name string
	// EngineVersion, e.g. "16.6" (major 16 or newer). Required.
	EngineVersion string
	// Instances is 1 writer + Instances-1 readers, >= 1.
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
	// ReaderScaling, when non-nil, scales readers on CPU between its bounds.
	ReaderScaling *ReaderScaling
	// InGlobalCluster: a global cluster (NewGlobal) adopts this cluster.
	InGlobalCluster bool
}

func (a *AuroraArgs) validate() error {
	var errs []error
	if a.Name == "" || a.SubnetGroupName == nil || a.VpcID == nil {
		errs = append(errs, errors.New("Name, SubnetGroupName and VpcID are required"))
	}
	if m := engineVersionPattern.FindStringSubmatch(a.EngineVersion); m == nil || m[1] < "16" {
		errs = append(errs, fmt.Errorf("EngineVersion: %q is not an Aurora PostgreSQL version 16 or newer", a.EngineVersion))
	}
	if a.Instances < 1 {
		errs = append(errs, fmt.Errorf("Instances: at least 1 (got %d)", a.Instances))
	}
	if !strings.HasPrefix(a.InstanceClass, "db.") {
		errs = append(errs, fmt.Errorf("InstanceClass: %q is not a DB instance class", a.InstanceClass))
	}
	if !ValidIdentifier(a.DatabaseName) || !ValidIdentifier(a.MasterUsername) {
		errs = append(errs, fmt.Errorf("DatabaseName %q and MasterUsername %q must be lowercase identifiers",
			a.DatabaseName, a.MasterUsername))
	}
	if a.BackupRetentionDays < 1 || a.BackupRetentionDays > 35 {
		errs = append(errs, fmt.Errorf("BackupRetentionDays: 1..35 (got %d)", a.BackupRetentionDays))
	}
	if !ValidWindow(a.BackupWindow) {
		errs = append(errs, fmt.Errorf("BackupWindow: %q is not like 03:00-04:00", a.BackupWindow))
	}
	if len(a.ClientCIDRs) == 0 {
		errs = append(errs, errors.New("ClientCIDRs: at least one"))
	}
	if s := a.ReaderScaling; s != nil && (s.MinReaders < 0 || s.MaxReaders < s.MinReaders || s.MaxReaders > 15) {
		errs = append(errs, fmt.Errorf("ReaderScaling: need 0 <= min <= max <= 15 (got %d..%d)", s.MinReaders, s.MaxReaders))
	}
	return errors.Join(errs...)
}

// Aurora is the database component.
type Aurora struct {
	pulumi.ResourceState

	// WriterEndpoint and ReaderEndpoint are the cluster's endpoints.
	WriterEndpoint, ReaderEndpoint pulumi.StringOutput
	// SecretARN is the Secrets Manager secret with the connection and master credentials.
	SecretARN pulumi.StringOutput
	// SecurityGroupID guards port 5432.
	SecurityGroupID pulumi.StringOutput
	// ClusterARN is what AWS Backup selects.
	ClusterARN pulumi.StringOutput

	args           AuroraArgs
	password       pulumi.StringOutput
	monitoringRole *iam.Role // enhanced monitoring (hardened only; IAM is global, the secondary shares it)
	// instances are the cluster's instances: what a global secondary waits for.
	instances []pulumi.Resource
}

// NewAurora creates the cluster and everything it needs.
func NewAurora(ctx *pulumi.Context, name string, args *AuroraArgs, opts ...pulumi.ResourceOption) (*Aurora, error) {
	if args == nil {
		args = &AuroraArgs{}
	}
	if err := args.validate(); err != nil {
		return nil, fmt.Errorf("database %q: %w", name, err)
	}
	c := &Aurora{}
	if err := ctx.RegisterComponentResource("eduai:data:Aurora", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	keep := pulumi.Protect(args.Hardened)
	major := engineVersionPattern.FindStringSubmatch(args.EngineVersion)[1]

	key, err := secure.NewKey(ctx, name, "Aurora cluster "+args.Name+": storage, Performance Insights, secret", nil,
		parent, keep)
	if err != nil {
		return nil, err
	}

	password, err := random.NewRandomPassword(ctx, name+"-master", &random.RandomPasswordArgs{
		Length:  pulumi.Int(32),
		Special: pulumi.Bool(true),
		// RDS refuses / @ " and space in master passwords.
		OverrideSpecial: pulumi.String("!#$%&*()-_=+[]{}<>:?"),
	}, parent)
	if err != nil {
		return nil, err
	}

	sg, err := postgresSecurityGroup(ctx, name, args.VpcID, args.ClientCIDRs, "Aurora "+args.Name, args.Name+"-aurora", parent)
	if err != nil {
		return nil, err
	}

	params, err := rds.NewClusterParameterGroup(ctx, name, &rds.ClusterParameterGroupArgs{
		Family:      pulumi.String("aurora-postgresql" + major),
		Description: pulumi.String("SSL only, slow statements logged: " + args.Name),
		Parameters:  clusterParameters(),
	}, parent)
	if err != nil {
		return nil, err
	}

	clusterArgs := sharedClusterArgs(args, args.Name, args.SubnetGroupName, sg.ID(), params.Name, key.Arn, args.Hardened)
	clusterArgs.DatabaseName = pulumi.String(args.DatabaseName)
	clusterArgs.MasterUsername = pulumi.String(args.MasterUsername)
	clusterArgs.MasterPassword = password.Result
	clusterArgs.SkipFinalSnapshot = pulumi.Bool(!args.Hardened)
	if args.Hardened {
		clusterArgs.FinalSnapshotIdentifier = pulumi.String(args.Name + "-final")
	}
	clusterOpts := []pulumi.ResourceOption{parent, keep}
	if args.InGlobalCluster {
		// The global cluster adopts this cluster (sourceDbClusterIdentifier); a
		// failover then moves the roles. The program leaves the membership alone.
		clusterOpts = append(clusterOpts, pulumi.IgnoreChanges([]string{"globalClusterIdentifier", "replicationSourceIdentifier"}))
	}
	cluster, err := rds.NewCluster(ctx, name, clusterArgs, clusterOpts...)
	if err != nil {
		return nil, err
	}

	var monitoringRole *iam.Role
	if args.Hardened {
		monitoringRole, err = iam.NewRole(ctx, name+"-monitoring", &iam.RoleArgs{
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
			Role:      monitoringRole.Name,
			PolicyArn: pulumi.String(partition.ManagedPolicy(args.Partition, "service-role/AmazonRDSEnhancedMonitoringRole")),
		}, parent); err != nil {
			return nil, err
		}
	}

	for i := 0; i < args.Instances; i++ {
		// Instance names are by ordinal on purpose: instances are interchangeable
		// (failover moves the writer), and a count change adds or drops the last.
		instArgs := instanceArgs(cluster.ID(), fmt.Sprintf("%s-%d", args.Name, i+1), args.EngineVersion,
			args.InstanceClass, i, monitoringRole, key.Arn)
		inst, err := rds.NewClusterInstance(ctx, fmt.Sprintf("%s-%d", name, i+1), instArgs, parent, keep)
		if err != nil {
			return nil, err
		}
		c.instances = append(c.instances, inst)
	}

	if s := args.ReaderScaling; s != nil {
		target, err := appautoscaling.NewTarget(ctx, name+"-readers", &appautoscaling.TargetArgs{
			ServiceNamespace:  pulumi.String("rds"),
			ScalableDimension: pulumi.String("rds:cluster:ReadReplicaCount"),
			ResourceId:        pulumi.Sprintf("cluster:%s", cluster.ID()),
			MinCapacity:       pulumi.Int(s.MinReaders),
			MaxCapacity:       pulumi.Int(s.MaxReaders),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := appautoscaling.NewPolicy(ctx, name+"-readers-cpu", &appautoscaling.PolicyArgs{
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
		}, parent); err != nil {
			return nil, err
		}
	}

	secret, err := masterSecret(ctx, name, args.Name, args.DatabaseName, args.MasterUsername, cluster.Endpoint,
		cluster.ReaderEndpoint, password.Result, key.Arn, []pulumi.ResourceOption{parent, keep}, parent)
	if err != nil {
		return nil, err
	}

	c.args, c.password, c.monitoringRole = *args, password.Result, monitoringRole
	c.WriterEndpoint = cluster.Endpoint
	c.ReaderEndpoint = cluster.ReaderEndpoint
	c.SecretARN = secret.Arn
	c.ClusterARN = cluster.Arn
	c.SecurityGroupID = sg.ID().ToStringOutput()
	return c, ctx.RegisterResourceOutputs(c, pulumi.Map{
		"writerEndpoint": c.WriterEndpoint, "readerEndpoint": c.ReaderEndpoint, "secretArn": c.SecretARN,
	})
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
