// Package migrate applies versioned SQL migrations to PostgreSQL with
// pressly/goose: each migration in its own transaction, the version recorded
// in goose_db_version, and a PostgreSQL session advisory lock held for the
// whole run, so two runners (two pods of a migration Job, two deploys) never
// migrate at once: the second waits, then finds nothing left to do.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// LockID is the advisory lock key every EduAI migration runner takes.
const LockID int64 = 0x656475616921 // "eduai!"

// Options tune a run.
type Options struct {
	// LockWait is how long a runner waits for another to finish. Default 10 minutes.
	LockWait time.Duration
	// Table records applied versions. Default goose_db_version.
	Table string
}

// Result is what one run did.
type Result struct {
	// Applied lists the migrations applied by this run, in order.
	Applied []string
	// Version is the database's version after the run.
	Version int64
}

func provider(db *sql.DB, migrations fs.FS, o Options) (*goose.Provider, error) {
	wait := o.LockWait
	if wait <= 0 {
		wait = 10 * time.Minute
	}
	// Retry every second until the wait is over.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(LockID),
		lock.WithLockTimeout(1, uint64(wait/time.Second)))
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true)}
	if o.Table != "" {
		opts = append(opts, goose.WithTableName(o.Table))
	}
	return goose.NewProvider(goose.DialectPostgres, db, migrations, opts...)
}

// Up applies every pending migration. A failing migration is rolled back
// with its transaction, the version stays at the last good one, and Up
// returns the error naming the file.
func Up(ctx context.Context, db *sql.DB, migrations fs.FS, o Options) (Result, error) {
	p, err := provider(db, migrations, o)
	if err != nil {
		return Result{}, err
	}
	results, upErr := p.Up(ctx)
	failed := ""
	var partial *goose.PartialError
	if errors.As(upErr, &partial) {
		results = partial.Applied
		if partial.Failed != nil && partial.Failed.Source != nil {
			failed = partial.Failed.Source.Path
		}
	}
	var res Result
	for _, r := range results {
		if r.Error == nil {
			res.Applied = append(res.Applied, r.Source.Path)
		}
	}
	version, err := p.GetDBVersion(ctx)
	if err != nil {
		return res, errors.Join(upErr, err)
	}
	res.Version = version
	if upErr != nil {
		return res, fmt.Errorf("migration %s failed, database left at version %d: %w", failed, version, upErr)
	}
	return res, nil
}

// Status lists each migration and whether it is applied.
func Status(ctx context.Context, db *sql.DB, migrations fs.FS, o Options) ([]string, error) {
	p, err := provider(db, migrations, o)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range st {
		out = append(out, fmt.Sprintf("%-8s %s", s.State, s.Source.Path))
	}
	return out, nil
}
