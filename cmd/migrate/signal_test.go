package main

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eduai/infra/internal/pgtest"
)

// Issue #19, item 3: a migration Job's pod is stopped with SIGTERM (its
// deadline, a node drain); the runner must cancel the statement so the
// transaction rolls back and the version stays, rather than being killed
// mid-run after the grace period.
func TestSIGTERMRollsBackTheRunningMigration(t *testing.T) {
	dsn := pgtest.Start(t)
	bin := filepath.Join(t.TempDir(), "migrate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-dir", "testdata/slow", "up")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	db := open(t, dsn)
	// Wait until the migration's statement is running.
	waitFor(t, 30*time.Second, func() bool {
		var n int
		_ = db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()`).Scan(&n)
		return n > 0
	})
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit %v (stderr %s); want status 1", err, stderr.String())
	}
	// Killed by the signal the status would be -1; and the statement was cancelled, not waited out.
	if waited := time.Since(sent); waited > 60*time.Second {
		t.Errorf("exited %v after SIGTERM", waited)
	}
	var exists bool
	if err := db.QueryRow(`SELECT to_regclass('public.rewritten') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Errorf("the interrupted migration's table exists: %v %v", exists, err)
	}
	var applied int
	if err := db.QueryRow(`SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil || applied != 0 {
		t.Errorf("versions recorded after the interruption: %d %v", applied, err)
	}
}

// The Jobs' PGOPTIONS lock_timeout: a DDL statement behind a lock the
// serving pods hold fails fast (and is retried by the Job) instead of
// queueing every later query on that table behind it.
func TestLockTimeoutFromPGOPTIONS(t *testing.T) {
	dsn := pgtest.Start(t)
	db := open(t, dsn)
	if _, err := db.Exec(`CREATE TABLE held (id int)`); err != nil {
		t.Fatal(err)
	}
	holder, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Rollback() }()
	if _, err := holder.Exec(`LOCK TABLE held IN ACCESS SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGOPTIONS", "-c lock_timeout=500ms -c statement_timeout=30000ms")
	env := databaseEnv(dsn)
	var out, errOut strings.Builder
	start := time.Now()
	code := run(context.Background(), []string{"-dir", "testdata/alter", "up"}, env, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "lock timeout") {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the blocked migration took %v", took)
	}
	// Released, the same run succeeds: the step is retried, not repaired.
	_ = holder.Rollback()
	errOut.Reset()
	if code := run(context.Background(), []string{"-dir", "testdata/alter", "up"}, env, &out, &errOut); code != 0 {
		t.Fatalf("retry: exit %d: %s", code, errOut.String())
	}
}

// The contract step keeps its own version table: expand and contract
// folders number their files independently, and each rerun does nothing.
func TestContractTable(t *testing.T) {
	dsn := pgtest.Start(t)
	env := databaseEnv(dsn)
	dir := "../../internal/migrate/testdata/ok"
	for _, table := range []string{"goose_db_version", "goose_contract_version", "goose_contract_version"} {
		var out, errOut strings.Builder
		if code := run(context.Background(), []string{"-dir", dir, "-table", table, "status"}, env, &out, &errOut); code != 0 {
			t.Fatalf("status %s: %s", table, errOut.String())
		}
		if table == "goose_db_version" {
			if code := run(context.Background(), []string{"-dir", dir, "up"}, env, &out, &errOut); code != 0 {
				t.Fatalf("up: %s", errOut.String())
			}
		}
	}
	db := open(t, dsn)
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM goose_contract_version WHERE version_id > 0`).Scan(&n); err != nil || n != 0 {
		t.Errorf("the contract table shares the expand versions: %d %v", n, err)
	}
}

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func waitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("timed out")
}

// databaseEnv is an environment with DATABASE_URL alone.
func databaseEnv(dsn string) func(string) string {
	return func(k string) string {
		if k == "DATABASE_URL" {
			return dsn
		}
		return ""
	}
}
