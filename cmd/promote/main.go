// Command promote makes a stack's DR region the writer of its global stores:
// the Aurora global database (a failover that allows the loss of
// unreplicated writes, or with -planned a switchover without loss) and the
// ElastiCache Global Datastore (a failover, or when AWS refuses it while the
// primary's member is unavailable, the secondary's disassociation into a
// standalone writable group). Every call goes to the DR region, so it runs
// with the primary region down (from the DR region's runner, eduai-<stack>-dr).
// It is idempotent: a store already promoted is left alone.
//
//	promote -stack prod -region us-east-1 [-planned] [-timeout 10m]
//
// It prints each step's outcome and duration (a Markdown table for the
// incident record). Exit 0: the database writes in the DR region (the
// cache's outcome is reported; a cold cache rebuilds from the database);
// 1: it does not; 2: usage. Runbook: docs/runbooks/region-failover.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/rds"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, connect))
}

// connect builds the DR region's clients from the default credential chain.
func connect(ctx context.Context, region string) (Aurora, Cache, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return nil, nil, err
	}
	return awsAurora{rds.NewFromConfig(cfg)}, awsCache{elasticache.NewFromConfig(cfg)}, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer,
	connect func(context.Context, string) (Aurora, Cache, error)) int {
	return runWithClock(ctx, args, stdout, stderr, connect, time.Now)
}

func runWithClock(ctx context.Context, args []string, stdout, stderr io.Writer,
	connect func(context.Context, string) (Aurora, Cache, error), clock func() time.Time) int {
	fs := flag.NewFlagSet("promote", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "", "the stack (its stores are named eduai-<stack>)")
	region := fs.String("region", "", "the DR region, which becomes the writer")
	planned := fs.Bool("planned", false, "both regions answer: switch over without data loss")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long to wait for each store")
	poll := fs.Duration("poll", 10*time.Second, "how often to read the stores' state")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *stack == "" || *region == "" || fs.NArg() != 0 || *timeout <= 0 || *poll <= 0 {
		fmt.Fprintln(stderr, "usage: promote -stack STACK -region DR-REGION [-planned] [-timeout 10m]")
		return 2
	}
	db, cache, err := connect(ctx, *region)
	if err != nil {
		fmt.Fprintf(stderr, "promote: %v\n", err)
		return 1
	}
	name := "eduai-" + *stack
	plan := Plan{Region: *region, GlobalCluster: name, CacheSuffix: name, Planned: *planned, Poll: *poll, Timeout: *timeout}
	steps, err := Promote(ctx, db, cache, plan, clock, stderr)
	fmt.Fprint(stdout, Report(steps))
	if err != nil {
		fmt.Fprintf(stderr, "promote: %v\n", err)
		return 1
	}
	return 0
}
