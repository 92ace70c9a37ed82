package database

import (
	"slices"
	"strings"
	"testing"

	"github.com/eduai/infra/components/replication"
	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// runGlobal builds a primary and its secondary from the same configuration,
// like the stack does; mutate changes either before anything registers.
func runGlobal(mutate func(primary, secondary *AuroraArgs)) (*mockstack.Recorder, error) {
	return mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		home, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		dr, err := aws.NewProvider(ctx, "aws-dr", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
		if err != nil {
			return err
		}
		args, second := prodArgs(), prodArgs()
		args.Role = Primary
		second.Role, second.Instances, second.ReaderScaling = Secondary, 1, nil
		second.SubnetGroupName, second.VpcID, second.ClientCIDRs = pulumi.String("eduai-prod-dr-db"), pulumi.String("vpc-2"),
			[]string{"10.130.0.0/19"}
		second.Replica = &Replica{Link: replication.Link{Provider: dr,
			AlarmTopic:     pulumi.String("arn:aws:sns:us-east-1:123456789012:eduai-prod-dr-alarms"),
			HomeAlarmTopic: pulumi.String("arn:aws:sns:us-west-2:123456789012:eduai-prod-replication-alarms")}}
		mutate(args, second)
		primary, err := NewAurora(ctx, "database", args, pulumi.Providers(home))
		if err != nil {
			return err
		}
		if second.Replica != nil {
			second.Replica.Primary = primary
		}
		_, err = NewAurora(ctx, "database-global", second, pulumi.Providers(home))
		return err
	})
}

// The secondary is the same component in the secondary role: the primary's
// settings in its own region, with its own key, joined to a global cluster
// that adopts the primary, waiting for the primary's instances.
func TestSecondary(t *testing.T) {
	rec, err := runGlobal(func(_, _ *AuroraArgs) {})
	if err != nil {
		t.Fatal(err)
	}
	primary := rec.Named("aws:rds/cluster:Cluster", "database")
	secondary := rec.Named("aws:rds/cluster:Cluster", "dr-database-global")
	global := rec.Named("aws:rds/globalCluster:GlobalCluster", "database-global")
	key := rec.Named("aws:kms/key:Key", "dr-database-global")
	if primary == nil || secondary == nil || global == nil || key == nil {
		t.Fatalf("missing: primary %v, secondary %v, global %v, key %v", primary, secondary, global, key)
	}
	if !global.DependsOnURN("sourceDbClusterIdentifier", primary.URN) || !global.Protect ||
		!global.Inputs["deletionProtection"].BoolValue() || strings.HasSuffix(global.Provider, "::aws-dr") {
		t.Errorf("global cluster %v on %s", global.Inputs, global.Provider)
	}
	if !slices.Contains(primary.IgnoreChanges, "globalClusterIdentifier") {
		t.Errorf("the primary fights the global cluster's adoption: %v", primary.IgnoreChanges)
	}
	for _, f := range []resource.PropertyKey{"engineVersion", "backupRetentionPeriod", "preferredBackupWindow",
		"preferredMaintenanceWindow", "enabledCloudwatchLogsExports", "iamDatabaseAuthenticationEnabled", "storageEncrypted"} {
		if !secondary.Inputs[f].DeepEquals(primary.Inputs[f]) || !primary.Inputs.HasValue(f) {
			t.Errorf("%s: the secondary's %v is not the primary's %v", f, secondary.Inputs[f], primary.Inputs[f])
		}
	}
	if !strings.HasSuffix(secondary.Provider, "::aws-dr") || !secondary.DependsOnURN("kmsKeyId", key.URN) ||
		!secondary.DependsOnURN("globalClusterIdentifier", global.URN) || !secondary.Protect ||
		secondary.String("clusterIdentifier") != "eduai-prod-secondary" || secondary.Inputs.HasValue("masterPassword") ||
		!secondary.Inputs["skipFinalSnapshot"].BoolValue() {
		t.Errorf("secondary %v on %s", secondary.Inputs, secondary.Provider)
	}
	writer := rec.Named("aws:rds/clusterInstance:ClusterInstance", "database-1")
	if !slices.Contains(secondary.Dependencies, writer.URN) {
		t.Errorf("the secondary does not wait for the primary's instances: %v", secondary.Dependencies)
	}
	reader := rec.Named("aws:rds/clusterInstance:ClusterInstance", "dr-database-global-reader-1")
	if reader == nil || reader.String("identifier") != "eduai-prod-secondary-1" || reader.String("monitoringRoleArn") == "" ||
		!strings.HasSuffix(reader.Provider, "::aws-dr") {
		t.Errorf("secondary reader %v", reader)
	}
	if n := len(rec.ByType("aws:appautoscaling/target:Target")); n != 1 {
		t.Errorf("%d reader scaling targets, want the primary's", n)
	}
	if n := len(rec.ByType("random:index/randomPassword:RandomPassword")); n != 1 {
		t.Errorf("%d master passwords, want the primary's", n)
	}
	alarms := rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm")
	if len(alarms) != 2 {
		t.Fatalf("%d lag alarms, want 2", len(alarms))
	}
	for _, a := range alarms {
		if a.String("metricName") != "AuroraGlobalDBReplicationLag" || a.Inputs["threshold"].NumberValue() != 30000 {
			t.Errorf("alarm %s: %v", a.Name, a.Inputs)
		}
	}
	if c := rec.Named("eduai:data:Aurora", "database-global"); c == nil ||
		!slices.Contains(c.Aliases, "urn:pulumi:test::eduai::eduai:data:AuroraGlobal::database-global") {
		t.Errorf("the secondary component does not keep the former AuroraGlobal URN: %v", c)
	}
}

func TestSecondaryBadArgs(t *testing.T) {
	for _, c := range []struct {
		mutate func(primary, secondary *AuroraArgs)
		want   string
	}{
		{func(p, _ *AuroraArgs) { p.Role = Standalone }, `has Role "standalone"; build it with Role primary`},
		{func(_, s *AuroraArgs) { s.Replica = nil }, "needs the Primary it replicates"},
		{func(_, s *AuroraArgs) { s.Replica.Provider = nil }, "Provider, AlarmTopic and HomeAlarmTopic"},
		{func(_, s *AuroraArgs) { s.Instances = 16 }, "Instances: must be 0..15 readers in a secondary (got 16)"},
		{func(_, s *AuroraArgs) { s.Instances = -1 }, "0..15 readers in a secondary (got -1)"},
		{func(_, s *AuroraArgs) { s.ReaderScaling = &ReaderScaling{MaxReaders: 2} }, "ReaderScaling: a secondary's readers"},
		{func(_, s *AuroraArgs) { s.EngineVersion = "17.4" }, "EngineVersion: 17.4 differs from the primary's 16.6"},
		{func(_, s *AuroraArgs) { s.BackupWindow = "02:00-03:00" }, "BackupWindow: 02:00-03:00 differs"},
		{func(_, s *AuroraArgs) { s.Partition = "aws-cn" }, "Partition: aws-cn differs"},
		{func(p, _ *AuroraArgs) { p.Replica = &Replica{} }, "only a secondary replicates"},
		{func(p, _ *AuroraArgs) { p.Instances = 0 }, "Instances: must be at least 1, the writer (got 0)"},
		{func(p, _ *AuroraArgs) { p.Role = "tertiary" }, `Role: "tertiary" is not one of standalone, primary, secondary`},
	} {
		rec, err := runGlobal(c.mutate)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
		if rec.Named("aws:rds/globalCluster:GlobalCluster", "database-global") != nil {
			t.Error("a global cluster was registered")
		}
	}
}
