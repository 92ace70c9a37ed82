package migrate

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eduai/infra/internal/pgtest"
	_ "github.com/jackc/pgx/v5/stdlib"
)

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func columnExists(t *testing.T, db *sql.DB, table, column string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM information_schema.columns WHERE table_name = $1 AND column_name = $2`,
		table, column).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestUpAppliesOnceAndRecordsTheVersion(t *testing.T) {
	db := open(t, pgtest.Start(t))
	ctx := context.Background()
	res, err := Up(ctx, db, os.DirFS("testdata/ok"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 2 || res.Version != 2 || !columnExists(t, db, "courses", "language") {
		t.Fatalf("first run: %+v", res)
	}
	again, err := Up(ctx, db, os.DirFS("testdata/ok"), Options{})
	if err != nil || len(again.Applied) != 0 || again.Version != 2 {
		t.Errorf("second run: %+v, %v", again, err)
	}
	status, err := Status(ctx, db, os.DirFS("testdata/ok"), Options{})
	if err != nil || len(status) != 2 || !strings.HasPrefix(status[1], "applied") {
		t.Errorf("status %v, %v", status, err)
	}
}

// Two runners at once: one applies everything, the other waits for the
// advisory lock and then finds nothing to do.
func TestConcurrentRunnersNeverMigrateTogether(t *testing.T) {
	dsn := pgtest.Start(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]Result, 2)
	errs := make([]error, 2)
	for i := range 2 {
		db := open(t, dsn)
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = Up(ctx, db, os.DirFS("testdata/ok"), Options{LockWait: time.Minute})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("runner %d: %v", i, err)
		}
	}
	a, b := len(results[0].Applied), len(results[1].Applied)
	if a+b != 2 || (a != 0 && b != 0) {
		t.Errorf("applied %d and %d: the runners interleaved", a, b)
	}
	if results[0].Version != 2 || results[1].Version != 2 {
		t.Errorf("versions %d and %d", results[0].Version, results[1].Version)
	}
}

// A failing migration rolls back in its own transaction; the version stays at the last good one.
func TestFailingMigrationRollsBack(t *testing.T) {
	db := open(t, pgtest.Start(t))
	res, err := Up(context.Background(), db, os.DirFS("testdata/failing"), Options{})
	if err == nil || !strings.Contains(err.Error(), "00003_broken.sql") || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("error %v", err)
	}
	if res.Version != 2 || len(res.Applied) != 2 {
		t.Errorf("result %+v", res)
	}
	if columnExists(t, db, "courses", "level") {
		t.Error("the failed migration's first statement was not rolled back")
	}
}
