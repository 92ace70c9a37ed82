package cache

import (
	"strings"
	"testing"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func prodArgs() *RedisArgs {
	return &RedisArgs{Name: "eduai-prod", NodeType: "cache.r6g.xlarge", ClusterMode: true, Shards: 3, ReplicasPerShard: 1,
		EngineVersion: "7.1", SubnetGroupName: pulumi.String("eduai-prod-cache"), VpcID: pulumi.String("vpc-1"),
		ClientCIDRs: []string{"10.30.0.0/19"}, SnapshotRetentionDays: 7, Protect: true}
}

func runRedis(t *testing.T, args *RedisArgs) *mockstack.Recorder {
	t.Helper()
	rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
		p, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-west-2")})
		if err != nil {
			return err
		}
		_, err = NewRedis(ctx, "cache", args, pulumi.Providers(p))
		return err
	})
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	return rec
}

func secret(r *mockstack.Resource, key string) bool {
	v := r.Inputs[resource.PropertyKey(key)]
	return v.IsSecret() || (v.IsOutput() && v.OutputValue().Secret)
}

func TestRedisSizes(t *testing.T) {
	cases := []struct {
		name     string
		mutate   func(*RedisArgs)
		nodes    int
		failover bool
	}{
		{"prod: 3 shards x 1 replica", func(*RedisArgs) {}, 6, true},
		{"staging: 1 shard x 2 replicas", func(a *RedisArgs) { a.Shards, a.ReplicasPerShard = 1, 2 }, 3, true},
		{"dev: one node, no cluster mode", func(a *RedisArgs) { a.ClusterMode, a.ReplicasPerShard, a.SnapshotRetentionDays = false, 0, 0 }, 1, false},
	}
	for _, c := range cases {
		args := prodArgs()
		c.mutate(args)
		if args.Nodes() != c.nodes {
			t.Errorf("%s: Nodes() = %d", c.name, args.Nodes())
		}
		rec := runRedis(t, args)
		rg := rec.Named("aws:elasticache/replicationGroup:ReplicationGroup", "cache")
		in := rg.Inputs
		if args.ClusterMode {
			if rg.String("clusterMode") != "enabled" || in["numNodeGroups"].NumberValue() != float64(args.Shards) ||
				in["replicasPerNodeGroup"].NumberValue() != float64(args.ReplicasPerShard) {
				t.Errorf("%s: %v", c.name, in)
			}
		} else if in["numCacheClusters"].NumberValue() != 1 {
			t.Errorf("%s: numCacheClusters %v", c.name, in["numCacheClusters"])
		}
		if in["automaticFailoverEnabled"].BoolValue() != c.failover || in["multiAzEnabled"].BoolValue() != c.failover {
			t.Errorf("%s: failover/multi-AZ %v %v", c.name, in["automaticFailoverEnabled"], in["multiAzEnabled"])
		}
		if !in["transitEncryptionEnabled"].BoolValue() || !in["atRestEncryptionEnabled"].BoolValue() ||
			rg.String("kmsKeyId") != rec.Named("aws:kms/key:Key", "cache").State["arn"].StringValue() || !secret(rg, "authToken") {
			t.Errorf("%s: encryption/AUTH %v", c.name, in)
		}
		params := rec.Named("aws:elasticache/parameterGroup:ParameterGroup", "cache")
		want := map[bool]string{true: "yes", false: "no"}[args.ClusterMode]
		if params.String("family") != "redis7" || params.Inputs["parameters"].ArrayValue()[0].ObjectValue()["value"].StringValue() != want {
			t.Errorf("%s: parameter group %v", c.name, params.Inputs)
		}
		logs := in["logDeliveryConfigurations"].ArrayValue()
		if len(logs) != 1 || logs[0].ObjectValue()["logType"].StringValue() != "slow-log" {
			t.Errorf("%s: log delivery %v", c.name, logs)
		}
		if rg.Protect != args.Protect || in["snapshotRetentionLimit"].NumberValue() != float64(args.SnapshotRetentionDays) {
			t.Errorf("%s: protect %v snapshots %v", c.name, rg.Protect, in["snapshotRetentionLimit"])
		}
		if !secret(rec.Named("aws:secretsmanager/secretVersion:SecretVersion", "cache"), "secretString") {
			t.Errorf("%s: the secret string is not secret", c.name)
		}
	}
}

func TestRedisBadArgs(t *testing.T) {
	for _, c := range []struct {
		mutate func(*RedisArgs)
		want   string
	}{
		{func(a *RedisArgs) { a.Shards, a.ReplicasPerShard = 1, 0 }, "ClusterMode: cluster mode needs at least 2 nodes (got 1"},
		{func(a *RedisArgs) { a.ReplicasPerShard = 6 }, "ReplicasPerShard: must be 0..5 (got 6)"},
		{func(a *RedisArgs) { a.Shards = 0 }, "Shards: must be 1..500 in cluster mode (got 0)"},
		{func(a *RedisArgs) { a.SnapshotRetentionDays = 40 }, "SnapshotRetentionDays: must be 0..35 (got 40)"},
		{func(a *RedisArgs) { a.EngineVersion = "seven" }, `EngineVersion: must be a Redis version like 7.1 (got "seven")`},
		{func(a *RedisArgs) { a.NodeType = "r6g.large" }, `NodeType: must be a node type like cache.r6g.large (got "r6g.large")`},
	} {
		args := prodArgs()
		c.mutate(args)
		rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
			_, err := NewRedis(ctx, "cache", args)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), c.want) || len(rec.Resources()) != 0 {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
