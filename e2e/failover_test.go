//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eduai/infra/stacks"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// Issue #19, item 5: after an ElastiCache Global Datastore failover, AWS
// answers the other member as the primary (terraform-provider-aws
// global_replication_group.go reads primary_replication_group_id back from
// the group's members, and the attribute is Required + ForceNew). The next
// refresh must not make the program plan to replace the datastore, which
// protect would turn into a failed update (and, unprotected, into a destroyed
// one). The stand-in's Read answers the DR group as the primary.
func TestRefreshAfterCacheFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	env := engineEnv(t)
	dir := project(t, "prod", filepath.Join(h.root, "Pulumi.prod.yaml"))
	s := newStackIn(t, ctx, "prod", dir, stacks.Run, env)
	if _, err := s.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}
	// The DR member's id, as the world holds it.
	dep, err := s.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Resources []struct {
			URN     string         `json:"urn"`
			Outputs map[string]any `json:"outputs"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(dep.Deployment, &d); err != nil {
		t.Fatal(err)
	}
	drMember := ""
	for _, r := range d.Resources {
		if strings.HasSuffix(r.URN, "aws:elasticache/replicationGroup:ReplicationGroup::dr-cache-global") {
			drMember, _ = r.Outputs["replicationGroupId"].(string)
		}
	}
	if drMember == "" {
		t.Fatal("no DR member of the Global Datastore in the state")
	}
	failover, _ := json.Marshal([]map[string]any{{"match": "::cache-global",
		"type": "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup", "property": "primaryReplicationGroupId",
		"value": drMember}})
	if err := os.WriteFile(filepath.Join(env["PULUMI_HOME"], "standin", "drift.json"), failover, 0o644); err != nil {
		t.Fatal(err)
	}
	ch := make(chan events.EngineEvent)
	var steps []string
	done := make(chan struct{})
	go func() {
		for e := range ch {
			if p := e.ResourcePreEvent; p != nil && strings.Contains(p.Metadata.Type, "elasticache") &&
				p.Metadata.Op != apitype.OpSame && p.Metadata.Op != apitype.OpRefresh && p.Metadata.Op != apitype.OpRead {
				steps = append(steps, string(p.Metadata.Op)+" "+p.Metadata.URN)
			}
		}
		close(done)
	}()
	_, err = s.Preview(ctx, optpreview.Refresh(), optpreview.EventStreams(ch))
	<-done
	if err != nil {
		t.Errorf("the preview after the failover failed: %v", err)
	}
	if len(steps) != 0 {
		t.Errorf("after a failover the next preview plans changes to the cache: %v", steps)
	}
}
