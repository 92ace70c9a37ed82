package rules

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

func inRegion(r policyx.AnalyzerResource, region string) policyx.AnalyzerResource {
	r.Provider = policyx.AnalyzerProviderResource{Type: "pulumi:providers:aws",
		Properties: property.NewMap(map[string]property.Value{"region": property.New(region)})}
	return r
}

func TestGlobalDatabaseFindings(t *testing.T) {
	primary := inRegion(res(typeRDSCluster, "database", map[string]any{"id": "eduai-prod"}), "us-west-2")
	global := dependsOn(res(typeGlobalCluster, "global", map[string]any{"id": "eduai-prod-global"}),
		"sourceDbClusterIdentifier", primary)
	secondary := func(region string) policyx.AnalyzerResource {
		return dependsOn(inRegion(res(typeRDSCluster, "secondary", map[string]any{"id": "eduai-prod-secondary"}), region),
			"globalClusterIdentifier", global)
	}
	cases := []struct {
		name string
		rs   []policyx.AnalyzerResource
		want int
	}{
		{"global with a secondary elsewhere", []policyx.AnalyzerResource{primary, global, secondary("us-east-1")}, 0},
		{"no global cluster", []policyx.AnalyzerResource{primary}, 1},
		{"secondary in the same region", []policyx.AnalyzerResource{primary, global, secondary("us-west-2")}, 1},
		{"global cluster without a secondary", []policyx.AnalyzerResource{primary, global}, 1},
	}
	for _, c := range cases {
		if got := GlobalDatabaseFindings(c.rs); len(got) != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}

func TestBucketReplicationFindings(t *testing.T) {
	content := res(typeBucketV2, "content", nil)
	replica := res(typeBucketV2, "dr-content", nil)
	logs := res(typeBucketV2, "access-logs", nil)
	logging := dependsOn(res(typeBucketLogging, "content-logging", nil), "targetBucket", logs)
	replWith := func(status string) policyx.AnalyzerResource {
		return dependsOn(dependsOn(res(typeBucketReplConfig, "content", map[string]any{"rules": []any{
			map[string]any{"id": "to-dr", "status": status}}}), "bucket", content), "rules", replica)
	}
	repl := replWith("Enabled")
	replWithUnknown := func() policyx.AnalyzerResource {
		return dependsOn(dependsOn(res(typeBucketReplConfig, "content", map[string]any{"rules": []any{
			map[string]any{"id": "to-dr", "status": unknown}}}), "bucket", content), "rules", replica)
	}
	back := dependsOn(dependsOn(res(typeBucketReplConfig, "dr-content", map[string]any{"rules": []any{
		map[string]any{"id": "back", "status": "Enabled"}}}), "bucket", replica), "rules", content)
	west, east := inRegion(content, "us-west-2"), inRegion(replica, "us-east-1")
	sameRegion := inRegion(replica, "us-west-2")
	cases := []struct {
		name string
		rs   []policyx.AnalyzerResource
		want int
	}{
		{"replicated both ways, and the log bucket", []policyx.AnalyzerResource{content, replica, logs, logging, repl, back}, 0},
		{"no replication", []policyx.AnalyzerResource{content, logs, logging}, 1},
		{"a second bucket not replicated", []policyx.AnalyzerResource{content, replica, repl, back, res(typeBucketV2, "media", nil)}, 1},
		// Issue #20: a configuration whose rule is off replicates nothing.
		{"the rule is Disabled", []policyx.AnalyzerResource{content, replica, replWith("Disabled"), back}, 1},
		{"the rule's status not known yet", []policyx.AnalyzerResource{content, replica, replWithUnknown(), back}, 0},
		// Issue #20: being written by a replication is not replicating: the
		// bucket that only receives (the other way removed) fails.
		{"one way only", []policyx.AnalyzerResource{content, replica, back}, 1},
		{"to a bucket of another region", []policyx.AnalyzerResource{west, east, repl, back}, 0},
		{"to a bucket of the same region", []policyx.AnalyzerResource{west, sameRegion, repl, back}, 2},
	}
	for _, c := range cases {
		if got := BucketReplicationFindings(c.rs); len(got) != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}

func TestGlobalDatastoreFindings(t *testing.T) {
	primary := inRegion(res(typeReplicationGroup, "cache", map[string]any{"id": "eduai-prod",
		"transitEncryptionEnabled": true, "atRestEncryptionEnabled": true, "authToken": "token"}), "us-west-2")
	global := dependsOn(res(typeGlobalReplGroup, "cache-global", nil), "primaryReplicationGroupId", primary)
	secondary := func(region string) policyx.AnalyzerResource {
		return dependsOn(inRegion(res(typeReplicationGroup, "dr-cache-global",
			map[string]any{"globalReplicationGroupId": "fake-eduai-prod"}), region), "globalReplicationGroupId", global)
	}
	noTLS := inRegion(res(typeReplicationGroup, "cache", map[string]any{"id": "eduai-prod",
		"transitEncryptionEnabled": false, "atRestEncryptionEnabled": true, "authToken": "token"}), "us-west-2")
	noTLSGlobal := dependsOn(res(typeGlobalReplGroup, "cache-global", nil), "primaryReplicationGroupId", noTLS)
	noTLSSecondary := dependsOn(inRegion(res(typeReplicationGroup, "dr-cache-global",
		map[string]any{"globalReplicationGroupId": "fake-eduai-prod"}), "us-east-1"), "globalReplicationGroupId", noTLSGlobal)
	plain := inRegion(res(typeReplicationGroup, "cache", map[string]any{"id": "eduai-prod",
		"transitEncryptionEnabled": true, "atRestEncryptionEnabled": false, "authToken": "token"}), "us-west-2")
	plainGlobal := dependsOn(res(typeGlobalReplGroup, "cache-global", nil), "primaryReplicationGroupId", plain)
	plainSecondary := dependsOn(inRegion(res(typeReplicationGroup, "dr-cache-global",
		map[string]any{"globalReplicationGroupId": "fake-eduai-prod"}), "us-east-1"), "globalReplicationGroupId", plainGlobal)
	cases := []struct {
		name string
		rs   []policyx.AnalyzerResource
		want int
	}{
		// The secondary cannot set at-rest encryption; its global group's primary lacks it.
		{"secondary without at-rest encryption through its group", []policyx.AnalyzerResource{plain, plainGlobal, plainSecondary}, 1},
		{"global with a secondary elsewhere", []policyx.AnalyzerResource{primary, global, secondary("us-east-1")}, 0},
		{"no global datastore", []policyx.AnalyzerResource{primary}, 1},
		{"secondary in the same region", []policyx.AnalyzerResource{primary, global, secondary("us-west-2")}, 1},
		// The secondary sets no TLS or AUTH itself; its global group's primary lacks TLS.
		{"secondary judged through its global group", []policyx.AnalyzerResource{noTLS, noTLSGlobal, noTLSSecondary}, 1},
	}
	for _, c := range cases {
		if got := GlobalDatastoreFindings(c.rs); len(got) != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
	// The resource rule does not ask a secondary for the at-rest encryption,
	// TLS and AUTH it cannot set (the provider refuses them next to
	// globalReplicationGroupId); it asks for its key.
	sec := res(typeReplicationGroup, "dr-cache-global", map[string]any{"globalReplicationGroupId": "fake-eduai-prod",
		"kmsKeyId": "arn:aws:kms:k"})
	if got := runResourceRule(checkRedisEncryption, sec, nil); len(got) != 0 {
		t.Errorf("secondary: %v", got)
	}
	sec = res(typeReplicationGroup, "dr-cache-global", map[string]any{"globalReplicationGroupId": "fake-eduai-prod"})
	if got := runResourceRule(checkRedisEncryption, sec, nil); len(got) != 1 {
		t.Errorf("secondary without its key: %v", got)
	}
}

func TestFailoverRecordFindings(t *testing.T) {
	check := res("aws:route53/healthCheck:HealthCheck", "dns-home", nil)
	record := func(name, role string, checked bool) policyx.AnalyzerResource {
		r := res(typeRoute53Record, name, map[string]any{"name": "api.eduai.com",
			"failoverRoutingPolicies": []any{map[string]any{"type": role}}})
		if checked {
			r = dependsOn(r, "healthCheckId", check)
		}
		return r
	}
	plain := res(typeRoute53Record, "dns-home-regional", map[string]any{"name": "us-west-2.api.eduai.com"})
	cases := []struct {
		name string
		rs   []policyx.AnalyzerResource
		want int
	}{
		{"pair with health checks", []policyx.AnalyzerResource{record("a", "PRIMARY", true), record("b", "SECONDARY", true), plain}, 0},
		{"primary without a check", []policyx.AnalyzerResource{record("a", "PRIMARY", false), record("b", "SECONDARY", true)}, 1},
		{"primary alone", []policyx.AnalyzerResource{record("a", "PRIMARY", true)}, 1},
		{"secondary alone", []policyx.AnalyzerResource{record("b", "SECONDARY", true)}, 1},
		{"no failover records", []policyx.AnalyzerResource{plain}, 0},
	}
	for _, c := range cases {
		if got := FailoverRecordFindings(c.rs); len(got) != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}

func TestVpcOverlapFindings(t *testing.T) {
	vpc := func(name, cidr string) policyx.AnalyzerResource {
		return res(typeVpc, name, map[string]any{"cidrBlock": cidr})
	}
	if got := VpcOverlapFindings([]policyx.AnalyzerResource{vpc("network", "10.30.0.0/16"), vpc("dr-network", "10.130.0.0/16")}); len(got) != 0 {
		t.Errorf("distinct: %v", got)
	}
	if got := VpcOverlapFindings([]policyx.AnalyzerResource{vpc("network", "10.30.0.0/16"), vpc("dr-network", "10.30.128.0/17")}); len(got) != 1 {
		t.Errorf("overlap: %v", got)
	}
	if got := VpcOverlapFindings([]policyx.AnalyzerResource{vpc("network", "10.30.0.0/16"), res(typeVpc, "dr-network", map[string]any{"cidrBlock": unknown})}); len(got) != 0 {
		t.Errorf("unknown CIDR: %v", got)
	}
}

func TestBackupCoverageFindings(t *testing.T) {
	cluster := func(tag string) policyx.AnalyzerResource {
		return res(typeRDSCluster, "database", map[string]any{"tags": map[string]any{BackupTag: tag}})
	}
	plan := func(days float64) policyx.AnalyzerResource {
		return res(typeBackupPlan, "backup", map[string]any{"rules": []any{map[string]any{
			"enableContinuousBackup": true, "lifecycle": map[string]any{"deleteAfter": days}}}})
	}
	selection := func(p policyx.AnalyzerResource, value string) policyx.AnalyzerResource {
		return dependsOn(res(typeBackupSelection, "backup-database", map[string]any{"selectionTags": []any{
			map[string]any{"type": "STRINGEQUALS", "key": BackupTag, "value": value}}}), "planId", p)
	}
	bucket := func(tag string) policyx.AnalyzerResource {
		return res(typeBucketV2, "content", map[string]any{"tags": map[string]any{BackupTag: tag}})
	}
	p30, p7 := plan(30), plan(7)
	cases := []struct {
		name string
		rs   []policyx.AnalyzerResource
		want int
	}{
		{"covered 30 days", []policyx.AnalyzerResource{cluster("continuous"), p30, selection(p30, "continuous")}, 0},
		{"no plan", []policyx.AnalyzerResource{cluster("continuous")}, 1},
		{"kept 7 days", []policyx.AnalyzerResource{cluster("continuous"), p7, selection(p7, "continuous")}, 1},
		{"selects another tag", []policyx.AnalyzerResource{cluster("continuous"), p30, selection(p30, "hourly")}, 1},
		{"cluster untagged", []policyx.AnalyzerResource{cluster("none"), p30, selection(p30, "continuous")}, 1},
		{"no database", []policyx.AnalyzerResource{p30}, 0},
		{"bucket tagged and selected", []policyx.AnalyzerResource{cluster("continuous"), p30, selection(p30, "continuous"),
			selection(p30, "hourly"), bucket("hourly")}, 0},
		{"bucket untagged", []policyx.AnalyzerResource{cluster("continuous"), p30, selection(p30, "continuous"),
			selection(p30, "hourly"), bucket("")}, 1},
		{"bucket never selected", []policyx.AnalyzerResource{cluster("continuous"), p30, selection(p30, "continuous"),
			bucket("hourly")}, 1},
	}
	for _, c := range cases {
		if got := BackupCoverageFindings(30)(c.rs); len(got) != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}
