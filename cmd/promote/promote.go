package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// The promotion of a stack's stores in the DR region (issue #19, runbook
// docs/runbooks/region-failover.md §2.1–2.2), through the DR region's APIs
// only: when the primary region is down, nothing here waits for it.

// Member is one cluster or replication group of a global store.
type Member struct {
	// ID is the DB cluster ARN (Aurora) or the replication group id (ElastiCache).
	ID, Region string
	// Writer: the Aurora writer, or the ElastiCache primary.
	Writer bool
}

// Global is a global store as its DR region describes it.
type Global struct {
	ID      string
	Members []Member
	// Busy: a failover or switchover is in progress (Aurora FailoverState).
	Busy bool
}

// member is the member in region, if any.
func (g Global) member(region string) (Member, bool) {
	for _, m := range g.Members {
		if m.Region == region {
			return m, true
		}
	}
	return Member{}, false
}

// Aurora is the RDS API the promotion uses.
type Aurora interface {
	DescribeGlobalCluster(ctx context.Context, id string) (Global, error)
	// Switchover moves the writer with no data loss; both regions must answer.
	Switchover(ctx context.Context, id, targetARN string) error
	// Failover with AllowDataLoss promotes the target whatever the primary's state.
	Failover(ctx context.Context, id, targetARN string) error
}

// Cache is the ElastiCache API the promotion uses.
type Cache interface {
	// DescribeGlobalGroup finds the Global Datastore whose id ends with "-"+suffix
	// (AWS prefixes the suffix it was created with).
	DescribeGlobalGroup(ctx context.Context, suffix string) (Global, error)
	Failover(ctx context.Context, globalID, region, groupID string) error
	// Disassociate makes the secondary group a standalone, writable group.
	Disassociate(ctx context.Context, globalID, groupID, region string) error
}

// Plan names what to promote.
type Plan struct {
	// Region is the DR region, where every call goes.
	Region string
	// GlobalCluster is the Aurora global cluster; CacheSuffix the Global
	// Datastore's suffix (the primary group's name).
	GlobalCluster, CacheSuffix string
	// Planned: both regions answer (a drill, a fail-back): a switchover, no data loss.
	Planned bool
	// Poll is how often the state is read; Timeout bounds each store's wait.
	Poll, Timeout time.Duration
}

// Step is one timed step of the promotion, for the runbook's RTO figures.
type Step struct {
	Name, Outcome string
	Took          time.Duration
	Err           error
}

// Promote promotes the database, then the cache. The database's failure is
// the promotion's; the cache's is reported and left to the runbook (a cold
// cache rebuilds from the database).
func Promote(ctx context.Context, db Aurora, cache Cache, p Plan, clock func() time.Time, log io.Writer) ([]Step, error) {
	var steps []Step
	dbStep := promoteDatabase(ctx, db, p, clock, log)
	steps = append(steps, dbStep)
	cacheStep := promoteCache(ctx, cache, p, clock, log)
	steps = append(steps, cacheStep)
	if dbStep.Err != nil {
		return steps, fmt.Errorf("database not promoted: %w", dbStep.Err)
	}
	return steps, nil
}

func promoteDatabase(ctx context.Context, db Aurora, p Plan, clock func() time.Time, log io.Writer) Step {
	t := startStep("Aurora "+p.GlobalCluster, clock, log)
	done := t.done
	g, err := db.DescribeGlobalCluster(ctx, p.GlobalCluster)
	if err != nil {
		return done("cannot describe the global cluster", err)
	}
	target, ok := g.member(p.Region)
	if !ok {
		return done("no member in "+p.Region, fmt.Errorf("global cluster %s has no cluster in %s", p.GlobalCluster, p.Region))
	}
	if target.Writer && !g.Busy {
		return done("already the writer in "+p.Region, nil)
	}
	if !g.Busy {
		if p.Planned {
			fmt.Fprintf(log, "%s: switchover to %s\n", t.step.Name, target.ID)
			err = db.Switchover(ctx, p.GlobalCluster, target.ID)
		} else {
			fmt.Fprintf(log, "%s: failover to %s, allowing the loss of unreplicated writes\n", t.step.Name, target.ID)
			err = db.Failover(ctx, p.GlobalCluster, target.ID)
		}
		if err != nil {
			if p.Planned {
				return done("switchover refused (run without -planned if the primary region is down)", err)
			}
			return done("failover refused", err)
		}
	}
	err = wait(ctx, p, func() (bool, error) {
		g, err := db.DescribeGlobalCluster(ctx, p.GlobalCluster)
		if err != nil {
			return false, err
		}
		m, _ := g.member(p.Region)
		return m.Writer && !g.Busy, nil
	})
	if err != nil {
		return done("not the writer yet", err)
	}
	return done("writer in "+p.Region, nil)
}

func promoteCache(ctx context.Context, cache Cache, p Plan, clock func() time.Time, log io.Writer) Step {
	t := startStep("ElastiCache *-"+p.CacheSuffix, clock, log)
	done := t.done
	g, err := cache.DescribeGlobalGroup(ctx, p.CacheSuffix)
	if err != nil {
		return done("cannot describe the Global Datastore", err)
	}
	t.step.Name = "ElastiCache " + g.ID
	target, ok := g.member(p.Region)
	if !ok {
		return done("no member in "+p.Region, fmt.Errorf("global datastore %s has no group in %s", g.ID, p.Region))
	}
	if target.Writer {
		return done("already primary in "+p.Region, nil)
	}
	fmt.Fprintf(log, "%s: failover to %s\n", t.step.Name, target.ID)
	outcome := "primary in " + p.Region
	if err := cache.Failover(ctx, g.ID, p.Region, target.ID); err != nil {
		// AWS refuses the failover while the primary's member is unavailable
		// (InvalidGlobalReplicationGroupState); removing the secondary from
		// the datastore leaves it a standalone, writable group in its region.
		fmt.Fprintf(log, "%s: failover refused (%v); disassociating %s from the datastore\n", t.step.Name, err, target.ID)
		if err := cache.Disassociate(ctx, g.ID, target.ID, p.Region); err != nil {
			return done("failover and disassociation refused", err)
		}
		outcome = "disassociated: standalone primary in " + p.Region + " (re-create the global datastore at fail-back)"
	}
	err = wait(ctx, p, func() (bool, error) {
		g, err := cache.DescribeGlobalGroup(ctx, p.CacheSuffix)
		if errors.Is(err, ErrNotFound) {
			return true, nil // the datastore went with the disassociation
		}
		if err != nil {
			return false, err
		}
		m, member := g.member(p.Region)
		return !member || m.Writer, nil
	})
	if err != nil {
		return done("not promoted yet", err)
	}
	return done(outcome, nil)
}

// stepTimer times one step and logs its outcome.
type stepTimer struct {
	step  Step
	start time.Time
	clock func() time.Time
	log   io.Writer
}

func startStep(name string, clock func() time.Time, log io.Writer) *stepTimer {
	return &stepTimer{step: Step{Name: name}, start: clock(), clock: clock, log: log}
}

// done records the step's outcome and duration, and logs them.
func (t *stepTimer) done(outcome string, err error) Step {
	t.step.Outcome, t.step.Err, t.step.Took = outcome, err, t.clock().Sub(t.start)
	fmt.Fprintf(t.log, "%s: %s (%s)\n", t.step.Name, outcome, t.step.Took.Round(time.Second))
	return t.step
}

// ErrNotFound: the global store does not exist (any more).
var ErrNotFound = errors.New("not found")

// wait polls until done, the timeout or the context's end.
func wait(ctx context.Context, p Plan, done func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	for {
		ok, err := done()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up after %s: %w", p.Timeout, ctx.Err())
		case <-time.After(p.Poll):
		}
	}
}

// Report is the steps as a table, the runbook's record of the RTO.
func Report(steps []Step) string {
	var b strings.Builder
	b.WriteString("| step | outcome | took |\n|---|---|---|\n")
	var total time.Duration
	for _, s := range steps {
		outcome := s.Outcome
		if s.Err != nil {
			outcome += ": " + s.Err.Error()
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", s.Name, outcome, s.Took.Round(time.Second))
		total += s.Took
	}
	fmt.Fprintf(&b, "| total | | %s |\n", total.Round(time.Second))
	return b.String()
}
