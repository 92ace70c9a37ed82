// Command migrate applies a service's versioned SQL migrations to its
// PostgreSQL database (internal/migrate: goose, one transaction per
// migration, an advisory lock for the whole run). A service's migration Job
// runs it before the service's new version rolls out (expand), and the
// contract Job after it serves alone, with a folder and version table of
// its own:
//
//	migrate [-dir /migrations] [-table goose_db_version] [-lock-wait 10m] up|status
//	migrate -dir /migrations/contract -table goose_contract_version up
//
// Both are idempotent: applied versions are recorded and skipped. The
// session's lock_timeout and statement_timeout come from PGOPTIONS (the
// service component sets them on the Jobs), which pgx reads like libpq.
// SIGTERM (Kubernetes stopping the pod: a deadline, a drain) and SIGINT
// cancel the running statement; its transaction rolls back, the version
// stays at the last applied migration, and the exit status is 1.
//
// The database comes from DATABASE_URL; else from DATABASE_SECRET_ARN, the
// connection secret the database component keeps in Secrets Manager (which
// the service's ConfigMap names and its Pod Identity role may read); else
// from the libpq variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE).
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/eduai/infra/internal/migrate"
	_ "github.com/jackc/pgx/v5/stdlib"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// secretReader reads a secret by ARN; tests replace it.
var secretReader = fetchSecret

// databaseURL picks the connection as documented above.
func databaseURL(ctx context.Context, getenv func(string) string) (string, error) {
	if u := getenv("DATABASE_URL"); u != "" {
		return u, nil
	}
	if arn := getenv("DATABASE_SECRET_ARN"); arn != "" {
		secret, err := secretReader(ctx, arn)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", arn, err)
		}
		return dsnFromSecret(secret)
	}
	return "", nil
}

// run is the command; exit 0 done, 1 a migration or the database failed, 2 usage.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "/migrations", "folder of NNNNN_name.sql migrations")
	wait := fs.Duration("lock-wait", 10*time.Minute, "how long to wait for another runner")
	table := fs.String("table", "goose_db_version", "the table recording applied versions (one per folder)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "up" && fs.Arg(0) != "status") {
		fmt.Fprintln(stderr, "usage: migrate [-dir DIR] [-table TABLE] [-lock-wait D] up|status")
		return 2
	}
	if info, err := os.Stat(*dir); err != nil || !info.IsDir() {
		fmt.Fprintf(stderr, "migrate: -dir %q is not a folder\n", *dir)
		return 2
	}
	dsn, err := databaseURL(ctx, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "migrate: %v\n", err)
		return 1
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		fmt.Fprintf(stderr, "migrate: %v\n", err)
		return 1
	}
	defer db.Close()
	opts := migrate.Options{LockWait: *wait, Table: *table}
	if fs.Arg(0) == "status" {
		lines, err := migrate.Status(ctx, db, os.DirFS(*dir), opts)
		if err != nil {
			fmt.Fprintf(stderr, "migrate: %v\n", err)
			return 1
		}
		for _, l := range lines {
			fmt.Fprintln(stdout, l)
		}
		return 0
	}
	res, err := migrate.Up(ctx, db, os.DirFS(*dir), opts)
	for _, a := range res.Applied {
		fmt.Fprintf(stdout, "applied %s\n", a)
	}
	if err != nil {
		fmt.Fprintf(stderr, "migrate: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "database at version %d (%d applied)\n", res.Version, len(res.Applied))
	return 0
}
