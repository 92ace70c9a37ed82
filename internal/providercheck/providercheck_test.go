package providercheck

import (
	"os"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func props(m map[string]any) resource.PropertyMap { return resource.NewPropertyMapFromMap(m) }

var unknown = resource.MakeComputed(resource.NewStringProperty(""))

// Each case is a resource the real provider accepts (want "") or refuses
// at Check (want: a fragment of the failure, rule included).
func TestCheck(t *testing.T) {
	const rg = "aws:elasticache/replicationGroup:ReplicationGroup"
	secondary := func(extra map[string]any) resource.PropertyMap {
		m := map[string]any{"replicationGroupId": "eduai-prod-dr", "description": "secondary",
			"globalReplicationGroupId": "ldgnf-eduai-prod", "kmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/k"}
		for k, v := range extra {
			m[k] = v
		}
		return props(m)
	}
	cases := []struct {
		name, typ string
		in        resource.PropertyMap
		want      string
	}{
		{"secondary with what it may set", rg, secondary(nil), ""},
		{"secondary with at-rest encryption (hashicorp/terraform-provider-aws#19053)", rg,
			secondary(map[string]any{"atRestEncryptionEnabled": true}),
			"atRestEncryptionEnabled conflicts with globalReplicationGroupId (provider schema: conflictsWith)"},
		{"false is set too", rg, secondary(map[string]any{"transitEncryptionEnabled": false}),
			"globalReplicationGroupId conflicts with transitEncryptionEnabled"},
		{"an unknown id defers the conflict to up", rg,
			with(props(map[string]any{"replicationGroupId": "x", "description": "d", "atRestEncryptionEnabled": true}),
				"globalReplicationGroupId", unknown), ""},
		{"secret values are judged", rg, with(secondary(nil), "nodeType", resource.MakeSecret(resource.NewStringProperty("cache.r6g.large"))), "conflicts with nodeType"},
		{"required property missing", "aws:iam/role:Role", props(map[string]any{}),
			"assumeRolePolicy is required (provider schema: required)"},
		{"an unknown required property is present", "aws:iam/role:Role",
			resource.PropertyMap{"assumeRolePolicy": unknown}, ""},
		{"a required name is Pulumi's to fill", "aws:cloudwatch/metricAlarm:MetricAlarm", props(map[string]any{
			"comparisonOperator": "GreaterThanThreshold", "evaluationPeriods": 3}), ""},
		{"enum", "aws:cloudwatch/metricAlarm:MetricAlarm", props(map[string]any{
			"comparisonOperator": "Above", "evaluationPeriods": 3}), `comparisonOperator: "Above" is not one of`},
		{"enum compared without case where the provider does", "aws:mq/broker:Broker", props(map[string]any{
			"brokerName": "b", "engineType": "RabbitMQ", "engineVersion": "3.13", "hostInstanceType": "mq.t3.micro",
			"users": []any{map[string]any{"username": "eduai_mq", "password": "long-enough-password-1"}}}), ""},
		{"enum with case where the provider keeps it", "aws:cloudwatch/metricAlarm:MetricAlarm", props(map[string]any{
			"comparisonOperator": "greaterthanthreshold", "evaluationPeriods": 3}), "is not one of"},
		{"integer bound", rg, props(map[string]any{"replicationGroupId": "x", "description": "d",
			"snapshotRetentionLimit": 36}), "snapshotRetentionLimit: 36 is outside <= 35 (provider schema: intRange)"},
		{"integer in a set of values", "aws:cloudwatch/logGroup:LogGroup", props(map[string]any{"retentionInDays": 8}),
			"retentionInDays: 8 is not one of 0,1,3"},
		{"weekly window", rg, props(map[string]any{"replicationGroupId": "x", "description": "d",
			"maintenanceWindow": "sunday:06:00-sunday:07:00"}), "is not a weekly window"},
		{"weekly window in upper case", rg, props(map[string]any{"replicationGroupId": "x", "description": "d",
			"maintenanceWindow": "SUN:06:00-SUN:07:00"}), ""},
		{"required inside a list element", rg, props(map[string]any{"replicationGroupId": "x", "description": "d",
			"logDeliveryConfigurations": []any{map[string]any{"destinationType": "cloudwatch-logs", "logFormat": "json",
				"logType": "slow-log"}}}), "logDeliveryConfigurations[0].destination is required"},
		{"enum inside a list element", rg, props(map[string]any{"replicationGroupId": "x", "description": "d",
			"logDeliveryConfigurations": []any{map[string]any{"destination": "g", "destinationType": "cloudwatch-logs",
				"logFormat": "xml", "logType": "slow-log"}}}), `logDeliveryConfigurations[0].logFormat: "xml" is not one of`},
		{"max items", rg, props(map[string]any{"replicationGroupId": "x", "description": "d",
			"logDeliveryConfigurations": []any{log("slow-log"), log("engine-log"), log("slow-log")}}),
			"3 items, at most 2 allowed"},
		{"min items and element enum", "aws:route53/healthCheck:HealthCheck", props(map[string]any{"type": "HTTPS",
			"regions": []any{"us-east-1", "mars-1"}}), "regions: 2 items, at least 3 required"},
		{"conflict inside a nested block", "aws:appautoscaling/policy:Policy", props(map[string]any{
			"resourceId": "cluster:c", "scalableDimension": "rds:cluster:ReadReplicaCount", "serviceNamespace": "rds",
			"targetTrackingScalingPolicyConfiguration": map[string]any{"targetValue": 70,
				"predefinedMetricSpecification": map[string]any{"predefinedMetricType": "RDSReaderAverageCPUUtilization"},
				"customizedMetricSpecification": map[string]any{"metricName": "m"}}}),
			"targetTrackingScalingPolicyConfiguration.customizedMetricSpecification conflicts with " +
				"targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification"},
		{"exactly one of, in a nested block", "aws:eks/nodeGroup:NodeGroup", nodeGroup(map[string]any{
			"maxUnavailable": 1, "maxUnavailablePercentage": 33}), "only one of updateConfig.maxUnavailable"},
		{"exactly one of, none given", "aws:eks/nodeGroup:NodeGroup", nodeGroup(map[string]any{}),
			"exactly one of updateConfig.maxUnavailable, updateConfig.maxUnavailablePercentage must be set"},
		{"exactly one of, one given", "aws:eks/nodeGroup:NodeGroup", nodeGroup(map[string]any{"maxUnavailablePercentage": 33}), ""},
		{"a one-item block given as a list", "aws:eks/nodeGroup:NodeGroup", with(nodeGroup(nil), "updateConfig",
			resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(props(map[string]any{
				"maxUnavailable": 1, "maxUnavailablePercentage": 1}))})), "only one of"},
		{"required with", "aws:kms/key:Key", props(map[string]any{"rotationPeriodInDays": 90}),
			"rotationPeriodInDays requires enableKeyRotation to be set as well (provider schema: requiredWith)"},
		{"resource-level exactly one of (plugin framework)", "aws:backup/restoreTestingSelection:RestoreTestingSelection",
			props(map[string]any{"iamRoleArn": "arn:aws:iam::123456789012:role/r", "name": "n", "protectedResourceType": "S3",
				"restoreTestingPlanName": "p", "protectedResourceArns": []any{"*"},
				"protectedResourceConditions": map[string]any{"stringEquals": []any{map[string]any{"key": "k", "value": "v"}}}}),
			"only one of protectedResourceArns, protectedResourceConditions may be set"},
		{"an ARN that is not one", "aws:sns/topicPolicy:TopicPolicy", props(map[string]any{"arn": "topic", "policy": "{}"}),
			`arn: "topic" is not a valid ARN`},
		{"a type the table does not cover", "kubernetes:core/v1:Namespace", props(map[string]any{}), ""},
	}
	s := Load()
	for _, c := range cases {
		got := s.Check(c.typ, c.in)
		var lines []string
		for _, f := range got {
			lines = append(lines, f.String())
		}
		all := strings.Join(lines, "\n")
		switch {
		case c.want == "" && len(got) > 0:
			t.Errorf("%s: refused, the provider accepts it:\n%s", c.name, all)
		case c.want != "" && !strings.Contains(all, c.want):
			t.Errorf("%s: want %q, got:\n%s", c.name, c.want, all)
		}
	}
}

func log(typ string) map[string]any {
	return map[string]any{"destination": "g", "destinationType": "cloudwatch-logs", "logFormat": "json", "logType": typ}
}

func nodeGroup(update map[string]any) resource.PropertyMap {
	m := map[string]any{"clusterName": "c", "nodeRoleArn": "arn:aws:iam::123456789012:role/n",
		"subnetIds":     []any{"subnet-1"},
		"scalingConfig": map[string]any{"desiredSize": 1, "maxSize": 2, "minSize": 1}}
	if update != nil {
		m["updateConfig"] = update
	}
	return props(m)
}

func TestForceNew(t *testing.T) {
	s := Load()
	const cluster = "aws:rds/cluster:Cluster"
	old := props(map[string]any{"clusterIdentifier": "eduai-prod", "engine": "aurora-postgresql",
		"masterUsername": "eduai_admin", "backupRetentionPeriod": 30})
	cases := []struct {
		name string
		new  resource.PropertyMap
		want string
	}{
		{"in-place change", with(old, "backupRetentionPeriod", resource.NewNumberProperty(7)), ""},
		{"engine", with(old, "engine", resource.NewStringProperty("aurora-mysql")), "engine"},
		{"master user", with(old, "masterUsername", resource.NewStringProperty("root")), "masterUsername"},
		{"unknown new value", with(old, "clusterIdentifier", unknown), "clusterIdentifier"},
	}
	for _, c := range cases {
		if got := strings.Join(s.ForceNew(cluster, old, c.new), ","); got != c.want {
			t.Errorf("%s: replace keys %q, want %q", c.name, got, c.want)
		}
	}
	// A forceNew property inside a block names its top-level key.
	oldLT := props(map[string]any{"launchTemplate": map[string]any{"id": "lt-1", "version": "1"}})
	newLT := props(map[string]any{"launchTemplate": map[string]any{"id": "lt-2", "version": "1"}})
	if got := s.ForceNew("aws:eks/nodeGroup:NodeGroup", oldLT, newLT); len(got) != 1 || got[0] != "launchTemplate" {
		t.Errorf("node group launch template: %v", got)
	}
}

// The shipped table is the shared anchor's copy, provenance included.
func TestConstraintsCopy(t *testing.T) {
	shared, err := os.ReadFile("../../../shared/anchors/provider-constraints.json")
	if err != nil {
		t.Skip("no ../shared checkout next to the repository")
	}
	if string(shared) != string(constraintsJSON) {
		t.Error("internal/providercheck/provider-constraints.json differs from ../shared/anchors: copy it again")
	}
	if src := Load().Source; src["pulumiAwsSdk"] == nil || src["primary"] == nil {
		t.Errorf("the table has lost its provenance: %v", src)
	}
	if n := len(Load().Resources); n < 61 {
		t.Errorf("%d resource types, want the 61 the program uses", n)
	}
}

// with returns a copy of m with key set to v.
func with(m resource.PropertyMap, key string, v resource.PropertyValue) resource.PropertyMap {
	c := m.Copy()
	c[resource.PropertyKey(key)] = v
	return c
}
