package stacks_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/eduai/infra/internal/mockstack"
	"github.com/eduai/infra/internal/preview"
	"github.com/eduai/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const promotedFixture = "testdata/prod-dr-active-secondary.yaml"

// failoverOf is a Route 53 record's failover type.
func failoverOf(r *mockstack.Resource) string {
	return r.Inputs.Mappable()["failoverRoutingPolicies"].([]any)[0].(map[string]any)["type"].(string)
}

func nodeGroupSizes(t *testing.T, res *preview.Result, name string) (min, desired, max float64) {
	t.Helper()
	ng := find(res, "aws:eks/nodeGroup:NodeGroup", name)
	if ng == nil {
		t.Fatalf("no node group %s", name)
	}
	s := ng.Inputs["scalingConfig"].ObjectValue()
	return s["minSize"].NumberValue(), s["desiredSize"].NumberValue(), s["maxSize"].NumberValue()
}

// In prod the DR region holds a pilot-light tier built by the same code: the
// cluster with every node group at one node, the platform and the services
// at two pods on their stable version, connected to the DR region's stores.
func TestStandbyTier(t *testing.T) {
	res := runStack(t, "prod", "")
	if min, desired, max := nodeGroupSizes(t, res, "dr-cluster-compute"); min != 1 || desired != 1 || max != 20 {
		t.Errorf("standby compute group %v/%v/%v, want 1/1/20", min, desired, max)
	}
	if min, desired, _ := nodeGroupSizes(t, res, "cluster-compute"); min != 3 || desired != 6 {
		t.Errorf("active compute group %v/%v", min, desired)
	}
	if find(res, "eks:index:Cluster", "dr-cluster").String("name") != "eduai-prod-dr" {
		t.Error("no standby EKS cluster eduai-prod-dr")
	}
	// The platform: add-ons and the mesh's ingress, whose NLB the SECONDARY record targets.
	for _, name := range []string{"dr-addons-aws-load-balancer-controller", "dr-mesh-ingress"} {
		if find(res, "kubernetes:helm.sh/v3:Release", name) == nil {
			t.Errorf("standby lacks %s", name)
		}
	}
	// Services: two pods, no migrations, no analysis; a canary keeps its Rollout (below).
	for _, svc := range []string{"auth-service", "content-service", "media-service"} {
		dep := find(res, "kubernetes:apps/v1:Deployment", "dr-service-"+svc)
		hpa := find(res, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "dr-service-"+svc)
		if dep == nil || hpa == nil || hpa.Inputs["spec"].ObjectValue()["minReplicas"].NumberValue() != stacks.StandbyPods {
			t.Errorf("%s: standby deployment %v, hpa %v", svc, dep != nil, hpa)
		}
	}
	media := find(res, "kubernetes:apps/v1:Deployment", "dr-service-media-service")
	if image := media.Inputs.Mappable()["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"]; image != "registry.gitlab.com/eduai/media-service:v1.2.0" {
		t.Errorf("standby media-service runs %v, want the active (blue) v1.2.0", image)
	}
	for _, r := range res.Resources {
		if strings.HasPrefix(r.Name, "dr-") && (r.Type == "kubernetes:batch/v1:Job" || strings.Contains(r.Type, "AnalysisTemplate") ||
			strings.Contains(r.Type, "AnalysisRun")) {
			t.Errorf("standby has %s %s", r.Type, r.Name)
		}
	}
	// Issue #19: the canary keeps its Rollout in the standby (activation only
	// scales it), without steps or analysis, and takes each version only
	// after the active region's Rollout has released it.
	standbyRollout := find(res, "kubernetes:argoproj.io/v1alpha1:Rollout", "dr-service-content-service-rollout")
	active := find(res, "kubernetes:argoproj.io/v1alpha1:Rollout", "service-content-service-rollout")
	if standbyRollout == nil || active == nil {
		t.Fatal("no standby or active content-service Rollout")
	}
	canary := specOf(standbyRollout)["strategy"].(map[string]any)["canary"].(map[string]any)
	if steps, _ := canary["steps"].([]any); len(steps) != 0 || canary["analysis"] != nil {
		t.Errorf("standby canary %v", canary)
	}
	for _, name := range []string{"dr-service-content-service-rollout", "dr-service-content-service", "dr-service-auth-service",
		"dr-service-media-service"} {
		r := find(res, "kubernetes:argoproj.io/v1alpha1:Rollout", name)
		if r == nil {
			r = find(res, "kubernetes:apps/v1:Deployment", name)
		}
		activeName := strings.TrimPrefix(name, "dr-")
		if name == "dr-service-media-service" {
			activeName = "service-media-service-routes" // the blue-green switch
		}
		var waits bool
		for _, d := range r.Dependencies {
			waits = waits || strings.HasSuffix(d, "::"+activeName)
		}
		if !waits {
			t.Errorf("%s does not wait for the active region's %s", name, activeName)
		}
	}
	// Connections point at the DR region's stores.
	cm := find(res, "kubernetes:core/v1:ConfigMap", "dr-service-content-service")
	data := cm.Inputs["data"].ObjectValue()
	for key, want := range map[string]string{"DATABASE_HOST": "eduai-prod-secondary.", "REDIS_HOST": "eduai-prod-dr.",
		"BUCKET_CONTENT": "eduai-prod-dr-content-"} {
		if v := data[resourceKey(key)]; !v.IsString() || !strings.Contains(v.StringValue(), want) {
			t.Errorf("standby %s = %v, want it to name %s", key, v, want)
		}
	}
	for _, store := range []struct{ typ, name string }{{"aws:msk/cluster:Cluster", "dr-queue"},
		{"aws:rds/cluster:Cluster", "dr-database-global"}, {"aws:elasticache/replicationGroup:ReplicationGroup", "dr-cache-global"}} {
		if r := find(res, store.typ, store.name); r == nil || !cm.DependsOnURN("data", r.URN) {
			t.Errorf("the standby ConfigMap does not use %s", store.name)
		}
	}
	policy := find(res, "aws:iam/rolePolicy:RolePolicy", "dr-service-content-service").Inputs["policy"].StringValue()
	if !strings.Contains(policy, "secretsmanager.us-east-1.amazonaws.com") || !strings.Contains(policy, "arn:aws:secretsmanager:us-east-1") {
		t.Errorf("standby policy does not grant the DR region's secrets: %s", policy)
	}
}

// The cache is the primary of a Global Datastore whose secondary, in the DR
// region, takes engine and size from the global group and brings its own key.
func TestGlobalDatastore(t *testing.T) {
	res := runStack(t, "prod", "")
	primary := find(res, "aws:elasticache/replicationGroup:ReplicationGroup", "cache")
	global := find(res, "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup", "cache-global")
	secondary := find(res, "aws:elasticache/replicationGroup:ReplicationGroup", "dr-cache-global")
	if primary == nil || global == nil || secondary == nil {
		t.Fatalf("primary %v global %v secondary %v", primary != nil, global != nil, secondary != nil)
	}
	if !global.DependsOnURN("primaryReplicationGroupId", primary.URN) || global.String("cacheNodeType") != "cache.r6g.xlarge" ||
		global.Inputs["numNodeGroups"].NumberValue() != 3 || !global.Protect {
		t.Errorf("global group %v", global.Inputs)
	}
	if !secondary.DependsOnURN("globalReplicationGroupId", global.URN) || !strings.HasSuffix(secondary.Provider, "::aws-dr") ||
		!secondary.Protect || secondary.Inputs["kmsKeyId"].IsNull() || secondary.Inputs["replicasPerNodeGroup"].NumberValue() != 1 {
		t.Errorf("secondary %v provider %s", secondary.Inputs, secondary.Provider)
	}
	for _, k := range []string{"nodeType", "numNodeGroups", "engineVersion"} {
		if _, set := secondary.Inputs[resourceKey(k)]; set {
			t.Errorf("the secondary sets %s, which only its global group may", k)
		}
	}
	if !slices.Contains(primary.IgnoreChanges, "nodeType") || !slices.Contains(primary.IgnoreChanges, "engineVersion") {
		t.Errorf("the primary fights its global group: %v", primary.IgnoreChanges)
	}
	topic := find(res, "aws:sns/topic:Topic", "dr-alarms")
	if topic == nil || !strings.HasSuffix(topic.Provider, "::aws-dr") {
		t.Fatalf("no alarm topic in the DR region: %v", topic)
	}
	for _, name := range []string{"dr-cache-global-replication-lag", "dr-database-global-replication-lag"} {
		alarm := find(res, "aws:cloudwatch/metricAlarm:MetricAlarm", name)
		if alarm == nil || !alarm.DependsOnURN("alarmActions", topic.URN) {
			t.Errorf("%s does not notify the DR alarm topic: %v", name, alarm)
		}
	}
	if alarm := find(res, "aws:cloudwatch/metricAlarm:MetricAlarm", "dr-cache-global-replication-lag"); alarm == nil ||
		alarm.String("metricName") != "GlobalDatastoreReplicationLag" {
		t.Errorf("lag alarm %v", alarm)
	}
}

// Issue #19: replication lag is watched in both directions, and the
// replica's alarm treats a missing metric as breaching (no metric, no
// replication); after activeRegion flips, the primary region's stores are
// the replicas and their alarms take that role.
func TestLagAlarmsBothDirections(t *testing.T) {
	for _, c := range []struct {
		fixture  string
		replicas string // the region whose stores must report lag
	}{{"", "dr"}, {promotedFixture, "home"}} {
		res := runStack(t, "prod", c.fixture)
		homeTopic := find(res, "aws:sns/topic:Topic", "replication-alarms")
		drTopic := find(res, "aws:sns/topic:Topic", "dr-alarms")
		if homeTopic == nil || strings.HasSuffix(homeTopic.Provider, "::aws-dr") {
			t.Fatalf("no alarm topic in the primary region: %v", homeTopic)
		}
		for _, a := range []struct {
			name, region, metric, dimension, value string
		}{
			{"dr-database-global-replication-lag", "dr", "AuroraGlobalDBReplicationLag", "DBClusterIdentifier", ""},
			{"database-global-replication-lag", "home", "AuroraGlobalDBReplicationLag", "DBClusterIdentifier", "eduai-prod"},
			{"dr-cache-global-replication-lag", "dr", "GlobalDatastoreReplicationLag", "ReplicationGroupId", ""},
			{"cache-global-replication-lag", "home", "GlobalDatastoreReplicationLag", "ReplicationGroupId", ""},
		} {
			alarm := find(res, "aws:cloudwatch/metricAlarm:MetricAlarm", a.name)
			if alarm == nil {
				t.Fatalf("%s: no alarm %s", c.fixture, a.name)
			}
			topic, inDR := homeTopic, strings.HasSuffix(alarm.Provider, "::aws-dr")
			if a.region == "dr" {
				topic = drTopic
			}
			if inDR != (a.region == "dr") || !alarm.DependsOnURN("alarmActions", topic.URN) || alarm.String("metricName") != a.metric {
				t.Errorf("%s: %s in the DR region %v, metric %s", c.fixture, a.name, inDR, alarm.String("metricName"))
			}
			want := "notBreaching"
			if a.region == c.replicas {
				want = "breaching"
			}
			if got := alarm.String("treatMissingData"); got != want {
				t.Errorf("%s: %s treats missing data as %s, want %s", c.fixture, a.name, got, want)
			}
			dims := alarm.Inputs["dimensions"].ObjectValue()
			if v := dims[resourceKey(a.dimension)]; a.value != "" && (!v.IsString() || v.StringValue() != a.value) {
				t.Errorf("%s: %s watches %v", c.fixture, a.name, v)
			}
		}
	}
}

// api.eduai.com fails over between the regions' ingress NLBs; each record
// has a health check calling /health on the region's own name, which the
// health service answers through the mesh.
func TestFailoverRecords(t *testing.T) {
	for _, c := range []struct {
		file             string
		primary, standby string
	}{{"", "home", "standby"}, {promotedFixture, "standby", "home"}} {
		res := runStack(t, "prod", c.file)
		sides := map[string]struct{ region, lb string }{
			"home": {"us-west-2", "mesh-ingress-lb"}, "standby": {"us-east-1", "dr-mesh-ingress-lb"}}
		// The records keep their roles; the failover swaps their targets (issue #19).
		for role, side := range map[string]string{"primary": c.primary, "secondary": c.standby} {
			want := sides[side]
			record, check := find(res, "aws:route53/record:Record", "dns-"+role), find(res, "aws:route53/healthCheck:HealthCheck", "dns-"+side)
			if record == nil || check == nil {
				t.Fatalf("%s: no %s record or %s health check", c.file, role, side)
			}
			if failoverOf(record) != strings.ToUpper(role) || record.String("setIdentifier") != role ||
				record.String("name") != "api.eduai.com" || !record.DependsOnURN("healthCheckId", check.URN) {
				t.Errorf("%s %s record: %v", c.file, role, record.Inputs)
			}
			lb := find(res, "kubernetes:core/v1:Service", want.lb)
			if lb == nil || !record.DependsOnURN("aliases", lb.URN) {
				t.Errorf("%s %s record does not alias the %s NLB", c.file, role, want.lb)
			}
			if check.String("fqdn") != want.region+".api.eduai.com" || check.String("resourcePath") != "/health" ||
				check.String("type") != "HTTPS" {
				t.Errorf("%s health check %v", side, check.Inputs)
			}
		}
		vs := find(res, "kubernetes:networking.istio.io/v1:VirtualService", "service-auth-service-routes")
		spec := specOf(vs)
		if !slices.Contains(spec["hosts"].([]any), any("us-west-2.api.eduai.com")) || !strings.Contains(mustJSON(spec), `"exact":"/health"`) {
			t.Errorf("auth-service does not answer the health check: %v", spec)
		}
	}
}

// dr.activeRegion: secondary swaps the roles in code: the DR region runs the
// full tier and the writer's instance count, the primary region the standby
// tier; backups run in the DR region and copy back to the primary's vault.
func TestPromotedLayout(t *testing.T) {
	res := runStack(t, "prod", promotedFixture)
	if res.Mandatory() != 0 {
		t.Errorf("the promoted layout is not compliant: %+v", res.Violations)
	}
	if min, desired, _ := nodeGroupSizes(t, res, "dr-cluster-compute"); min != 3 || desired != 6 {
		t.Errorf("the active DR compute group is %v/%v, want 3/6", min, desired)
	}
	if min, desired, _ := nodeGroupSizes(t, res, "cluster-compute"); min != 1 || desired != 1 {
		t.Errorf("the standby primary compute group is %v/%v, want 1/1", min, desired)
	}
	if n := countDR(res, "aws:rds/clusterInstance:ClusterInstance"); n != 3 {
		t.Errorf("%d instances in the promoted region, want 3", n)
	}
	// The global cluster keeps both members as AWS left them after the failover.
	global := find(res, "aws:rds/globalCluster:GlobalCluster", "database-global")
	for _, name := range []string{"database", "dr-database-global"} {
		c := find(res, "aws:rds/cluster:Cluster", name)
		if !slices.Contains(c.IgnoreChanges, "globalClusterIdentifier") || !slices.Contains(c.IgnoreChanges, "replicationSourceIdentifier") {
			t.Errorf("%s fights the promoted membership: %v", name, c.IgnoreChanges)
		}
	}
	if !find(res, "aws:rds/cluster:Cluster", "dr-database-global").DependsOnURN("globalClusterIdentifier", global.URN) {
		t.Error("the promoted secondary left the global cluster")
	}
	if find(res, "kubernetes:argoproj.io/v1alpha1:Rollout", "dr-service-content-service-rollout") == nil &&
		!hasPrefixed(res, "kubernetes:argoproj.io/v1alpha1:Rollout", "dr-") {
		t.Error("the promoted region runs no canary Rollout")
	}
	if hasUnprefixed(res, "kubernetes:argoproj.io/v1alpha1:AnalysisTemplate") || hasUnprefixed(res, "kubernetes:batch/v1:Job") {
		t.Error("the standby primary region still runs analyses or migrations")
	}
	// The standby primary keeps content-service's Rollout, following the DR region's release.
	if r := find(res, "kubernetes:argoproj.io/v1alpha1:Rollout", "service-content-service-rollout"); r == nil ||
		!slices.ContainsFunc(r.Dependencies, func(d string) bool { return strings.HasSuffix(d, "::dr-service-content-service-rollout") }) {
		t.Error("the standby primary's Rollout does not follow the DR region's")
	}
	plan := find(res, "aws:backup/plan:Plan", "dr-backup")
	if plan == nil || find(res, "aws:backup/plan:Plan", "backup") != nil || !strings.HasSuffix(plan.Provider, "::aws-dr") {
		t.Fatalf("backup plan in the DR region: %v", plan)
	}
	copies := plan.Inputs["rules"].ArrayValue()[0].ObjectValue()["copyActions"].ArrayValue()
	if len(copies) != 1 || !plan.DependsOnURN("rules", find(res, "aws:backup/vault:Vault", "backup").URN) {
		t.Errorf("the DR plan does not copy to the primary's vault: %v", copies)
	}
	if res.Outputs["activeRegion"].Value != "us-east-1" {
		t.Errorf("activeRegion output %v", res.Outputs["activeRegion"])
	}
}

// The promoted fixture is the shipped prod stack with one line changed.
func TestPromotedFixture(t *testing.T) {
	prod, err1 := os.ReadFile("../Pulumi.prod.yaml")
	fixture, err2 := os.ReadFile(promotedFixture)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	body := func(b []byte) string { s := string(b); return s[strings.Index(s, "config:"):] }
	if want := strings.Replace(body(prod), "activeRegion: primary", "activeRegion: secondary", 1); body(fixture) != want {
		t.Error("the promoted fixture drifted from Pulumi.prod.yaml: regenerate it (copy, flip activeRegion)")
	}
}

func hasPrefixed(res *preview.Result, typ, prefix string) bool {
	for _, r := range res.Resources {
		if r.Type == typ && strings.HasPrefix(r.Name, prefix) {
			return true
		}
	}
	return false
}

func hasUnprefixed(res *preview.Result, typ string) bool {
	for _, r := range res.Resources {
		if r.Type == typ && !strings.HasPrefix(r.Name, "dr-") {
			return true
		}
	}
	return false
}

func resourceKey(k string) resource.PropertyKey { return resource.PropertyKey(k) }

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Issue #19: the runbook's data check finds the DR service's ConfigMap by
// label (its name is generated: `kubectl get configmap content-service`
// found nothing), and exactly one ConfigMap answers, carrying the secret.
func TestRunbookFindsTheConfigMap(t *testing.T) {
	book, err := os.ReadFile("../docs/runbooks/region-failover.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`get configmap -l ([^= ]+)=([^ ]+) -o jsonpath='\{\.items\[0\]\.data\.([A-Z_]+)\}'`).FindSubmatch(book)
	if m == nil {
		t.Fatal("the runbook does not find the ConfigMap by label")
	}
	label, value, key := string(m[1]), string(m[2]), string(m[3])
	res := runStack(t, "prod", promotedFixture)
	var found []string
	for _, r := range res.Resources {
		if r.Type != "kubernetes:core/v1:ConfigMap" || !strings.HasPrefix(r.Name, "dr-") {
			continue
		}
		md := specOrNil(r, "metadata")
		labels, _ := md["labels"].(map[string]any)
		if labels[label] == value && md["namespace"] == "eduai" {
			found = append(found, r.Name)
			if _, ok := specOrNil(r, "data")[key]; !ok {
				t.Errorf("%s has no %s", r.Name, key)
			}
		}
	}
	if len(found) != 1 {
		t.Errorf("%s=%s selects %v in the DR cluster's eduai namespace, want one ConfigMap", label, value, found)
	}
}

func specOrNil(r *mockstack.Resource, key string) map[string]any {
	v, _ := r.Inputs.Mappable()[key].(map[string]any)
	return v
}
