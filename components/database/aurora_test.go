package database

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func prodArgs() *AuroraArgs {
	return &AuroraArgs{
		Name: "eduai-prod", EngineVersion: "16.6", Instances: 3, InstanceClass: "db.r6g.xlarge",
		DatabaseName: "eduai", MasterUsername: "eduai_admin", BackupRetentionDays: 30, BackupWindow: "03:00-04:00",
		SubnetGroupName: pulumi.String("eduai-prod-db"), VpcID: pulumi.String("vpc-1"),
		ClientCIDRs: []string{"10.30.0.0/19", "10.30.32.0/19"}, Hardened: true,
		ReaderScaling: &ReaderScaling{MinReaders: 2, MaxReaders: 5},
	}
}

func runAurora(t *testing.T, args *AuroraArgs) *mockstack.Recorder {
	t.Helper()
	rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		_, err = NewAurora(ctx, "database", args, pulumi.Providers(p))
		return err
	})
	if err != nil {
		t.Fatalf("NewAurora: %v", err)
	}
	return rec
}

func TestAuroraProd(t *testing.T) {
	rec := runAurora(t, prodArgs())
	cluster := rec.Named("aws:rds/cluster:Cluster", "database")
	key := rec.Named("aws:kms/key:Key", "database")
	if cluster == nil || key == nil {
		t.Fatal("cluster or key missing")
	}
	in := cluster.Inputs
	checks := map[string]bool{
		"engine":            cluster.String("engine") == "aurora-postgresql" && cluster.String("engineVersion") == "16.6",
		"storage encrypted": in["storageEncrypted"].BoolValue() && cluster.String("kmsKeyId") == key.State["arn"].StringValue(),
		"IAM auth":          in["iamDatabaseAuthenticationEnabled"].BoolValue(),
		"backups":           in["backupRetentionPeriod"].NumberValue() == 30 && cluster.String("preferredBackupWindow") == "03:00-04:00",
		"deletion protection and final snapshot": in["deletionProtection"].BoolValue() && !in["skipFinalSnapshot"].BoolValue() &&
			cluster.String("finalSnapshotIdentifier") == "eduai-prod-final",
		"log export": len(in["enabledCloudwatchLogsExports"].ArrayValue()) == 1,
		"protected":  cluster.Protect && key.Protect && key.Inputs["enableKeyRotation"].BoolValue(),
		"subnets":    cluster.String("dbSubnetGroupName") == "eduai-prod-db",
		"password is secret": in["masterPassword"].IsSecret() ||
			(in["masterPassword"].IsOutput() && in["masterPassword"].OutputValue().Secret),
	}
	for what, ok := range checks {
		if !ok {
			t.Errorf("%s: %v", what, in)
		}
	}
	instances := rec.ByType("aws:rds/clusterInstance:ClusterInstance")
	if len(instances) != 3 {
		t.Fatalf("%d instances, want 3", len(instances))
	}
	for _, i := range instances {
		if i.String("instanceClass") != "db.r6g.xlarge" || i.Inputs["publiclyAccessible"].BoolValue() ||
			!i.Inputs["performanceInsightsEnabled"].BoolValue() || i.String("performanceInsightsKmsKeyId") != key.State["arn"].StringValue() ||
			i.Inputs["monitoringInterval"].NumberValue() != 60 || i.String("monitoringRoleArn") == "" || !i.Protect ||
			// Issue #17: pinned exactly, upgraded by config, never by AWS behind the plan's back.
			i.Inputs["autoMinorVersionUpgrade"].BoolValue() || i.String("engineVersion") != "16.6" {
			t.Errorf("%s: %v", i.Name, i.Inputs)
		}
	}
	params := rec.Named("aws:rds/clusterParameterGroup:ClusterParameterGroup", "database")
	raw, _ := json.Marshal(params.Inputs["parameters"].Mappable())
	if params.String("family") != "aurora-postgresql16" || !strings.Contains(string(raw), `"name":"rds.force_ssl","value":"1"`) ||
		!strings.Contains(string(raw), "log_min_duration_statement") ||
		!strings.Contains(string(raw), `"name":"log_statement","value":"ddl"`) {
		t.Errorf("parameter group: %s %s", params.String("family"), raw)
	}
	sg := rec.Named("aws:ec2/securityGroup:SecurityGroup", "database")
	rule := sg.Inputs["ingress"].ArrayValue()[0].ObjectValue()
	if rule["fromPort"].NumberValue() != 5432 || len(rule["cidrBlocks"].ArrayValue()) != 2 {
		t.Errorf("security group: %v", rule)
	}
	version := rec.Named("aws:secretsmanager/secretVersion:SecretVersion", "database")
	if !version.Inputs["secretString"].IsSecret() && !(version.Inputs["secretString"].IsOutput() &&
		version.Inputs["secretString"].OutputValue().Secret) {
		t.Errorf("secret string is not secret: %v", version.Inputs["secretString"])
	}
	secret := rec.Named("aws:secretsmanager/secret:Secret", "database")
	if secret.String("kmsKeyId") != key.State["arn"].StringValue() || !secret.Protect {
		t.Errorf("secret: %v", secret.Inputs)
	}
	target := rec.Named("aws:appautoscaling/target:Target", "database-readers")
	if target == nil || target.Inputs["minCapacity"].NumberValue() != 2 || target.Inputs["maxCapacity"].NumberValue() != 5 {
		t.Errorf("reader scaling: %v", target)
	}
	policy := rec.Named("aws:appautoscaling/policy:Policy", "database-readers-cpu")
	if cfg := policy.Inputs["targetTrackingScalingPolicyConfiguration"].ObjectValue(); cfg["targetValue"].NumberValue() != 70 {
		t.Errorf("scaling policy: %v", cfg)
	}
	comp := rec.ByType("eduai:data:Aurora")[0]
	for _, r := range rec.Resources() {
		if r.Custom && !r.IsProvider() && r.Parent != comp.URN {
			t.Errorf("%s %s not parented", r.Type, r.Name)
		}
	}
}

func TestAuroraDev(t *testing.T) {
	args := prodArgs()
	args.Instances, args.Hardened, args.ReaderScaling, args.BackupRetentionDays = 1, false, nil, 1
	rec := runAurora(t, args)
	cluster := rec.Named("aws:rds/cluster:Cluster", "database")
	if cluster.Inputs["deletionProtection"].BoolValue() || !cluster.Inputs["skipFinalSnapshot"].BoolValue() || cluster.Protect {
		t.Errorf("dev cluster: %v", cluster.Inputs)
	}
	if n := len(rec.ByType("aws:rds/clusterInstance:ClusterInstance")); n != 1 {
		t.Errorf("%d instances", n)
	}
	if rec.Named("aws:iam/role:Role", "database-monitoring") != nil || len(rec.ByType("aws:appautoscaling/target:Target")) != 0 {
		t.Error("monitoring role or reader scaling in dev")
	}
}

func TestAuroraBadArgs(t *testing.T) {
	for _, c := range []struct {
		mutate func(*AuroraArgs)
		want   string
	}{
		{func(a *AuroraArgs) { a.Instances = 0 }, "Instances: must be at least 1, the writer (got 0)"},
		{func(a *AuroraArgs) { a.EngineVersion = "13.7" }, `EngineVersion: must be an Aurora PostgreSQL version 16 or newer like 16.6 (got "13.7")`},
		{func(a *AuroraArgs) { a.BackupRetentionDays = 40 }, "BackupRetentionDays: must be 1..35 (got 40)"},
		{func(a *AuroraArgs) { a.BackupWindow = "3am" }, `BackupWindow: must be a UTC window like 03:00-04:00 (got "3am")`},
		{func(a *AuroraArgs) { a.MasterUsername = "Admin" }, `MasterUsername: must be a lowercase identifier (got "Admin")`},
		{func(a *AuroraArgs) { a.ReaderScaling = &ReaderScaling{MinReaders: 3, MaxReaders: 2} }, "ReaderScaling"},
	} {
		args := prodArgs()
		c.mutate(args)
		rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
			_, err := NewAurora(ctx, "database", args)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), c.want) || len(rec.Resources()) != 0 {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

func TestAuroraPartition(t *testing.T) {
	args := prodArgs()
	args.Partition = "aws-us-gov"
	rec := runAurora(t, args)
	at := rec.Named("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "database-monitoring")
	if at == nil || at.String("policyArn") != "arn:aws-us-gov:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole" {
		t.Errorf("monitoring policy: %+v", at)
	}
}
