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
	repl := dependsOn(dependsOn(res(typeBucketReplConfig, "content", nil), "bucket", content), "rules", replica)
	cases := []struct {
		name string
		rs   []policyx.AnalyzerResource
		want int
	}{
		{"replicated, replica and log bucket", []policyx.AnalyzerResource{content, replica, logs, logging, repl}, 0},
		{"no replication", []policyx.AnalyzerResource{content, logs, logging}, 1},
		{"a second bucket not replicated", []policyx.AnalyzerResource{content, replica, repl, res(typeBucketV2, "media", nil)}, 1},
	}
	for _, c := range cases {
		if got := BucketReplicationFindings(c.rs); len(got) != c.want {
			t.Errorf("%s: %v", c.name, got)
		}
	}
}
