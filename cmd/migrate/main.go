// Command migrate applies a service's versioned SQL migrations to its
// PostgreSQL database (internal/migrate: goose, one transaction per
// migration, an advisory lock for the whole run). A service's migration Job
// runs it before the service's new version rolls out:
//
//	migrate [-dir /migrations] [-lock-wait 10m] up|status
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
	"time"

	"github.com/eduai/infra/internal/migrate"
	_ "github.com/jackc/pgx/v5/stdlib"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
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
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "up" && fs.Arg(0) != "status") {
		fmt.Fprintln(stderr, "usage: migrate [-dir DIR] [-lock-wait D] up|status")
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
	opts := migrate.Options{LockWait: *wait}
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
