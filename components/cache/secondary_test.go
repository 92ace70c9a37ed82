package cache

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

func TestGlobalDatastoreError(t *testing.T) {
	for _, c := range []struct {
		node, version, want string
	}{
		{"cache.r6g.xlarge", "7.1", ""},
		{"cache.m5.large", "5.0.6", ""},
		{"cache.t4g.small", "7.1", `node type "cache.t4g.small"`},
		{"cache.r6g.large", "5.0.5", `engine version "5.0.5"`},
		{"cache.r6g.large", "4.0", `engine version "4.0"`},
		{"r6g.large", "7.1", `node type "r6g.large"`},
	} {
		err := GlobalDatastoreError(c.node, c.version)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s %s: %v, want %q", c.node, c.version, err, c.want)
		}
	}
}

// runGlobal builds a primary and its secondary from the same configuration,
// like the stack does; mutate changes either before anything registers.
func runGlobal(t *testing.T, mutate func(primary, secondary *RedisArgs)) (*mockstack.Recorder, error) {
	t.Helper()
	return mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		home, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		dr, err := aws.NewProvider(ctx, "aws-dr", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
		if err != nil {
			return err
		}
		args := prodArgs()
		args.Role = Primary
		second := prodArgs()
		second.Role, second.Name = Secondary, "eduai-prod-dr"
		second.SubnetGroupName, second.VpcID, second.ClientCIDRs = pulumi.String("eduai-prod-dr-cache"), pulumi.String("vpc-2"),
			[]string{"10.130.0.0/19"}
		second.Replica = &Replica{Link: replication.Link{Provider: dr,
			AlarmTopic:     pulumi.String("arn:aws:sns:us-east-1:123456789012:eduai-prod-dr-alarms"),
			HomeAlarmTopic: pulumi.String("arn:aws:sns:us-west-2:123456789012:eduai-prod-replication-alarms")}}
		mutate(args, second)
		primary, err := NewRedis(ctx, "cache", args, pulumi.Providers(home))
		if err != nil {
			return err
		}
		if second.Replica != nil {
			second.Replica.Primary = primary
		}
		_, err = NewRedis(ctx, "cache-global", second, pulumi.Providers(home))
		return err
	})
}

func TestGlobal(t *testing.T) {
	rec, err := runGlobal(t, func(_, _ *RedisArgs) {})
	if err != nil {
		t.Fatal(err)
	}
	primary := rec.Named("aws:elasticache/replicationGroup:ReplicationGroup", "cache")
	global := rec.Named("aws:elasticache/globalReplicationGroup:GlobalReplicationGroup", "cache-global")
	secondary := rec.Named("aws:elasticache/replicationGroup:ReplicationGroup", "dr-cache-global")
	if !global.DependsOnURN("primaryReplicationGroupId", primary.URN) || global.String("engineVersion") != "7.1" ||
		global.Inputs["numNodeGroups"].NumberValue() != 3 || !global.Inputs["automaticFailoverEnabled"].BoolValue() {
		t.Errorf("global group %v", global.Inputs)
	}
	if !strings.HasSuffix(secondary.Provider, "::aws-dr") || !secondary.DependsOnURN("globalReplicationGroupId", global.URN) ||
		!secondary.Protect || secondary.Inputs["replicasPerNodeGroup"].NumberValue() != 1 || !secondary.Inputs["multiAzEnabled"].BoolValue() {
		t.Errorf("secondary %v on %s", secondary.Inputs, secondary.Provider)
	}
	key := rec.Named("aws:kms/key:Key", "dr-cache-global")
	if key == nil || !secondary.DependsOnURN("kmsKeyId", key.URN) || !strings.HasSuffix(key.Provider, "::aws-dr") {
		t.Error("the secondary is not encrypted with its own key in its region")
	}
	secret := rec.Named("aws:secretsmanager/secretVersion:SecretVersion", "dr-cache-global")
	if secret == nil || !strings.HasSuffix(secret.Provider, "::aws-dr") || !secretInput(secret, "secretString") {
		t.Errorf("DR secret %v", secret)
	}
	// The secondary sets nothing it inherits from the global group (the
	// provider's ConflictsWith), and brings no parameter group, token or log group of its own.
	for _, f := range []string{"engineVersion", "nodeType", "numNodeGroups", "parameterGroupName", "authToken",
		"atRestEncryptionEnabled", "transitEncryptionEnabled", "logDeliveryConfigurations"} {
		if _, set := secondary.Inputs[resource.PropertyKey(f)]; set {
			t.Errorf("the secondary sets %s", f)
		}
	}
	if n := len(rec.ByType("aws:elasticache/parameterGroup:ParameterGroup")); n != 1 {
		t.Errorf("%d parameter groups, want the primary's", n)
	}
	for _, r := range rec.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		if r.String("metricName") != "GlobalDatastoreReplicationLag" || r.Inputs["threshold"].NumberValue() != 30 {
			t.Errorf("alarm %s: %v", r.Name, r.Inputs)
		}
	}
	if c := rec.Named("eduai:data:Redis", "cache-global"); c == nil ||
		!slices.Contains(c.Aliases, "urn:pulumi:test::eduai::eduai:data:RedisGlobal::cache-global") {
		t.Errorf("the secondary component does not keep the former RedisGlobal URN: %v", c)
	}
	for _, f := range []string{"engineVersion", "nodeType", "numNodeGroups"} {
		if !contains(primary.IgnoreChanges, f) {
			t.Errorf("the primary does not leave %s to the global group: %v", f, primary.IgnoreChanges)
		}
	}
	// After a failover AWS reads the other member back as the primary (Required + ForceNew): left alone (issue #19).
	if grg := rec.ByType("aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"); len(grg) != 1 ||
		!contains(grg[0].IgnoreChanges, "primaryReplicationGroupId") {
		t.Errorf("the global group would be replaced after a failover: %v", grg)
	}
}

func TestGlobalRefusesWhatCannotJoin(t *testing.T) {
	for _, c := range []struct {
		mutate func(primary, secondary *RedisArgs)
		want   string
	}{
		{func(p, s *RedisArgs) { p.NodeType, s.NodeType = "cache.t4g.medium", "cache.t4g.medium" }, "burstable T nodes"},
		{func(p, _ *RedisArgs) { p.Role = Standalone }, "build it with Role primary"},
		{func(_, s *RedisArgs) { s.NodeType = "cache.r6g.large" }, "NodeType: cache.r6g.large differs from the primary's"},
		{func(_, s *RedisArgs) { s.Name = "eduai-prod" }, "needs its own id"},
		{func(_, s *RedisArgs) { s.Replica.HomeAlarmTopic = nil }, "Provider, AlarmTopic and HomeAlarmTopic"},
		{func(_, s *RedisArgs) { s.Replica = nil }, "needs the Primary"},
		{func(p, _ *RedisArgs) { p.Replica = &Replica{} }, "only a secondary replicates"},
		{func(p, _ *RedisArgs) { p.Role = "tertiary" }, `Role: "tertiary" is not one of standalone, primary, secondary`},
	} {
		rec, err := runGlobal(t, c.mutate)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
		if rec.Named("aws:elasticache/globalReplicationGroup:GlobalReplicationGroup", "cache-global") != nil {
			t.Error("a global group was registered")
		}
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func secretInput(r *mockstack.Resource, key string) bool { return secret(r, key) }
