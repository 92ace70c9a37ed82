package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// world is a strict model of the two global stores as AWS runs them: it
// refuses what the APIs refuse (RDS API Reference SwitchoverGlobalCluster,
// FailoverGlobalCluster; ElastiCache API Reference
// FailoverGlobalReplicationGroup, DisassociateGlobalReplicationGroup), and
// a promotion completes only after a few reads, as AWS's does.
type world struct {
	primary, dr string
	primaryUp   bool
	// Aurora: which region writes; a pending change and the reads it takes.
	writer      string
	pendingTo   string
	pendingLeft int
	neverDone   bool
	// ElastiCache: each region's role ("primary", "secondary"); gone after a disassociation.
	cacheRoles  map[string]string
	cachePendTo string
	cacheLeft   int
	calls       []string
	now         time.Time
}

func newWorld(primaryUp bool) *world {
	return &world{primary: "us-west-2", dr: "us-east-1", primaryUp: primaryUp, writer: "us-west-2",
		cacheRoles: map[string]string{"us-west-2": "primary", "us-east-1": "secondary"}, now: time.Unix(0, 0)}
}

func (w *world) clock() time.Time { return w.now }

// call records a call; each takes AWS a few seconds.
func (w *world) call(name string) {
	w.calls = append(w.calls, name)
	w.now = w.now.Add(3 * time.Second)
}

func (w *world) arn(region string) string {
	name := map[string]string{"us-west-2": "eduai-prod", "us-east-1": "eduai-prod-secondary"}[region]
	return "arn:aws:rds:" + region + ":123456789012:cluster:" + name
}

// The fake as the RDS client of the DR region.
type fakeRDS struct{ w *world }

func (f fakeRDS) DescribeGlobalClusters(_ context.Context, in *rds.DescribeGlobalClustersInput, _ ...func(*rds.Options)) (*rds.DescribeGlobalClustersOutput, error) {
	w := f.w
	w.call("rds:DescribeGlobalClusters")
	if aws.ToString(in.GlobalClusterIdentifier) != "eduai-prod" {
		return nil, errors.New("GlobalClusterNotFoundFault")
	}
	if w.pendingTo != "" && !w.neverDone {
		if w.pendingLeft--; w.pendingLeft <= 0 {
			w.writer, w.pendingTo = w.pendingTo, ""
		}
	}
	gc := rdstypes.GlobalCluster{GlobalClusterIdentifier: aws.String("eduai-prod")}
	if w.pendingTo != "" {
		gc.FailoverState = &rdstypes.FailoverState{Status: rdstypes.FailoverStatusFailingOver, ToDbClusterArn: aws.String(w.arn(w.pendingTo))}
	}
	for _, r := range []string{w.primary, w.dr} {
		gc.GlobalClusterMembers = append(gc.GlobalClusterMembers, rdstypes.GlobalClusterMember{
			DBClusterArn: aws.String(w.arn(r)), IsWriter: aws.Bool(w.writer == r)})
	}
	return &rds.DescribeGlobalClustersOutput{GlobalClusters: []rdstypes.GlobalCluster{gc}}, nil
}

func (f fakeRDS) target(id, target string) (string, error) {
	w := f.w
	if id != "eduai-prod" {
		return "", errors.New("GlobalClusterNotFoundFault")
	}
	for _, r := range []string{w.primary, w.dr} {
		if w.arn(r) == target {
			if w.pendingTo != "" {
				return "", errors.New("InvalidGlobalClusterStateFault: a failover is in progress")
			}
			if w.writer == r {
				return "", errors.New("InvalidDBClusterStateFault: the target is already the primary cluster")
			}
			return r, nil
		}
	}
	return "", errors.New("DBClusterNotFoundFault: " + target)
}

func (f fakeRDS) SwitchoverGlobalCluster(_ context.Context, in *rds.SwitchoverGlobalClusterInput, _ ...func(*rds.Options)) (*rds.SwitchoverGlobalClusterOutput, error) {
	w := f.w
	w.call("rds:SwitchoverGlobalCluster")
	r, err := f.target(aws.ToString(in.GlobalClusterIdentifier), aws.ToString(in.TargetDbClusterIdentifier))
	if err != nil {
		return nil, err
	}
	// A switchover synchronizes the members first: the primary must answer.
	if !w.primaryUp {
		return nil, errors.New("InvalidGlobalClusterStateFault: the primary cluster " + w.arn(w.primary) + " is not available")
	}
	w.pendingTo, w.pendingLeft = r, 4
	return &rds.SwitchoverGlobalClusterOutput{}, nil
}

func (f fakeRDS) FailoverGlobalCluster(_ context.Context, in *rds.FailoverGlobalClusterInput, _ ...func(*rds.Options)) (*rds.FailoverGlobalClusterOutput, error) {
	w := f.w
	w.call("rds:FailoverGlobalCluster")
	r, err := f.target(aws.ToString(in.GlobalClusterIdentifier), aws.ToString(in.TargetDbClusterIdentifier))
	if err != nil {
		return nil, err
	}
	// Without AllowDataLoss the call is a switchover (and needs the primary).
	if !aws.ToBool(in.AllowDataLoss) && !w.primaryUp {
		return nil, errors.New("InvalidGlobalClusterStateFault: switchover needs the primary cluster")
	}
	w.pendingTo, w.pendingLeft = r, 2
	return &rds.FailoverGlobalClusterOutput{}, nil
}

// The fake as the ElastiCache client of the DR region.
type fakeElastiCache struct{ w *world }

const globalID = "ldgnf-eduai-prod"

func (f fakeElastiCache) DescribeGlobalReplicationGroups(_ context.Context, in *elasticache.DescribeGlobalReplicationGroupsInput, _ ...func(*elasticache.Options)) (*elasticache.DescribeGlobalReplicationGroupsOutput, error) {
	w := f.w
	w.call("elasticache:DescribeGlobalReplicationGroups")
	if w.cachePendTo != "" {
		if w.cacheLeft--; w.cacheLeft <= 0 {
			for r := range w.cacheRoles {
				w.cacheRoles[r] = "secondary"
			}
			w.cacheRoles[w.cachePendTo], w.cachePendTo = "primary", ""
		}
	}
	// Another datastore first, on a page of its own: the suffix and the pages matter.
	if in.Marker == nil {
		return &elasticache.DescribeGlobalReplicationGroupsOutput{Marker: aws.String("page-2"),
			GlobalReplicationGroups: []ectypes.GlobalReplicationGroup{{GlobalReplicationGroupId: aws.String("ldgnf-eduai-prod-old")}}}, nil
	}
	grg := ectypes.GlobalReplicationGroup{GlobalReplicationGroupId: aws.String(globalID)}
	for _, r := range []string{w.primary, w.dr} {
		if role, ok := w.cacheRoles[r]; ok {
			group := map[string]string{"us-west-2": "eduai-prod", "us-east-1": "eduai-prod-dr"}[r]
			grg.Members = append(grg.Members, ectypes.GlobalReplicationGroupMember{ReplicationGroupId: aws.String(group),
				ReplicationGroupRegion: aws.String(r), Role: aws.String(role)})
		}
	}
	return &elasticache.DescribeGlobalReplicationGroupsOutput{GlobalReplicationGroups: []ectypes.GlobalReplicationGroup{grg}}, nil
}

func (f fakeElastiCache) FailoverGlobalReplicationGroup(_ context.Context, in *elasticache.FailoverGlobalReplicationGroupInput, _ ...func(*elasticache.Options)) (*elasticache.FailoverGlobalReplicationGroupOutput, error) {
	w := f.w
	w.call("elasticache:FailoverGlobalReplicationGroup")
	if aws.ToString(in.GlobalReplicationGroupId) != globalID {
		return nil, errors.New("GlobalReplicationGroupNotFoundFault")
	}
	region, group := aws.ToString(in.PrimaryRegion), aws.ToString(in.PrimaryReplicationGroupId)
	if w.cacheRoles[region] != "secondary" || group != "eduai-prod-dr" || region != w.dr {
		return nil, errors.New("InvalidParameterCombination: " + group + " in " + region + " is not a secondary member")
	}
	if !w.primaryUp {
		return nil, errors.New("InvalidGlobalReplicationGroupState: the Global datastore is not available")
	}
	w.cachePendTo, w.cacheLeft = region, 3
	return &elasticache.FailoverGlobalReplicationGroupOutput{}, nil
}

func (f fakeElastiCache) DisassociateGlobalReplicationGroup(_ context.Context, in *elasticache.DisassociateGlobalReplicationGroupInput, _ ...func(*elasticache.Options)) (*elasticache.DisassociateGlobalReplicationGroupOutput, error) {
	w := f.w
	w.call("elasticache:DisassociateGlobalReplicationGroup")
	region := aws.ToString(in.ReplicationGroupRegion)
	if aws.ToString(in.GlobalReplicationGroupId) != globalID {
		return nil, errors.New("GlobalReplicationGroupNotFoundFault")
	}
	if w.cacheRoles[region] != "secondary" || aws.ToString(in.ReplicationGroupId) != "eduai-prod-dr" {
		return nil, errors.New("InvalidParameterValue: only a secondary member can be disassociated")
	}
	delete(w.cacheRoles, region)
	return &elasticache.DisassociateGlobalReplicationGroupOutput{}, nil
}

func promote(t *testing.T, w *world, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	connect := func(_ context.Context, region string) (Aurora, Cache, error) {
		if region != w.dr {
			return nil, nil, fmt.Errorf("clients for %s, want the DR region", region)
		}
		return awsAurora{fakeRDS{w}}, awsCache{fakeElastiCache{w}}, nil
	}
	// Poll without sleeping: the world moves per read.
	base := []string{"-stack", "prod", "-region", "us-east-1", "-poll", "1ms", "-timeout", "5s"}
	code := runWithClock(context.Background(), append(base, args...), &out, &errOut, connect, w.clock)
	return code, out.String(), errOut.String()
}

func TestUnplannedFailoverWithThePrimaryRegionDown(t *testing.T) {
	w := newWorld(false)
	code, out, log := promote(t, w)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, log)
	}
	if w.writer != w.dr || !slices.Contains(w.calls, "rds:FailoverGlobalCluster") || slices.Contains(w.calls, "rds:SwitchoverGlobalCluster") {
		t.Errorf("writer %s after %v", w.writer, w.calls)
	}
	// The cache failover is refused with the primary down: the secondary is disassociated, writable.
	if _, member := w.cacheRoles[w.dr]; member || !slices.Contains(w.calls, "elasticache:DisassociateGlobalReplicationGroup") {
		t.Errorf("cache roles %v after %v", w.cacheRoles, w.calls)
	}
	if !strings.Contains(out, "| Aurora eduai-prod | writer in us-east-1 |") || !strings.Contains(out, "disassociated") ||
		!strings.Contains(out, "| total | |") {
		t.Errorf("report:\n%s", out)
	}
}

func TestPlannedSwitchover(t *testing.T) {
	w := newWorld(true)
	if code, _, log := promote(t, w, "-planned"); code != 0 {
		t.Fatalf("exit %d: %s", code, log)
	}
	if w.writer != w.dr || !slices.Contains(w.calls, "rds:SwitchoverGlobalCluster") || slices.Contains(w.calls, "rds:FailoverGlobalCluster") {
		t.Errorf("writer %s after %v", w.writer, w.calls)
	}
	if w.cacheRoles[w.dr] != "primary" || w.cacheRoles[w.primary] != "secondary" ||
		slices.Contains(w.calls, "elasticache:DisassociateGlobalReplicationGroup") {
		t.Errorf("cache roles %v after %v", w.cacheRoles, w.calls)
	}
}

func TestPlannedWithThePrimaryDownFails(t *testing.T) {
	w := newWorld(false)
	code, _, log := promote(t, w, "-planned")
	if code != 1 || w.writer != w.primary || !strings.Contains(log, "run without -planned") {
		t.Errorf("exit %d, writer %s: %s", code, w.writer, log)
	}
}

func TestIdempotent(t *testing.T) {
	w := newWorld(false)
	if code, _, log := promote(t, w); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, log)
	}
	w.calls = nil
	code, out, log := promote(t, w)
	if code != 0 || !strings.Contains(out, "already the writer") {
		t.Fatalf("second run: exit %d: %s\n%s", code, out, log)
	}
	for _, c := range w.calls {
		if !strings.Contains(c, "Describe") {
			t.Errorf("the second run changed something: %v", w.calls)
		}
	}
}

func TestGivesUpWhenThePromotionDoesNotComplete(t *testing.T) {
	w := newWorld(false)
	w.neverDone = true
	code, out, log := promote(t, w, "-timeout", "50ms")
	if code != 1 || !strings.Contains(out, "not the writer yet") {
		t.Errorf("exit %d:\n%s\n%s", code, out, log)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"-stack", "prod"}, {"-region", "us-east-1"}, {"-stack", "prod", "-region", "us-east-1", "extra"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut, nil); code != 2 {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}
