package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/eduai/infra/internal/pgtest"
)

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"down"}, {"-dir", "no/such/dir", "up"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, func(string) string { return "" }, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, stderr %s", args, code, errOut.String())
		}
	}
}

func TestUpThenStatus(t *testing.T) {
	dsn := pgtest.Start(t)
	env := databaseEnv(dsn)
	dir := "../../internal/migrate/testdata/ok"
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"-dir", dir, "up"}, env, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "database at version 2 (2 applied)") {
		t.Errorf("output %s", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"-dir", dir, "status"}, env, &out, &errOut); code != 0 ||
		strings.Count(out.String(), "applied") != 2 {
		t.Errorf("status exit %d: %s", code, out.String())
	}
	out.Reset()
	failing := "../../internal/migrate/testdata/failing"
	if code := run(context.Background(), []string{"-dir", failing, "up"}, env, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "00003_broken.sql") {
		t.Errorf("failing: exit %d: %s", code, errOut.String())
	}
}

func TestDatabaseURLFromSecret(t *testing.T) {
	arn := "arn:aws:secretsmanager:us-west-2:123456789012:secret:eduai-prod/aurora-master-abc"
	secretReader = func(_ context.Context, got string) (string, error) {
		if got != arn {
			t.Errorf("read %s", got)
		}
		return `{"engine":"postgres","host":"db.cluster-x.us-west-2.rds.amazonaws.com","port":5432,` +
			`"dbname":"eduai","username":"eduai_admin","password":"p@ss/word"}`, nil
	}
	defer func() { secretReader = fetchSecret }()
	env := map[string]string{"DATABASE_SECRET_ARN": arn}
	u, err := databaseURL(context.Background(), func(k string) string { return env[k] })
	want := "postgres://eduai_admin:p%40ss%2Fword@db.cluster-x.us-west-2.rds.amazonaws.com:5432/eduai?sslmode=require"
	if err != nil || u != want {
		t.Errorf("got %q, %v; want %q", u, err, want)
	}
	env["DATABASE_URL"] = "postgres://explicit"
	if u, _ := databaseURL(context.Background(), func(k string) string { return env[k] }); u != "postgres://explicit" {
		t.Errorf("DATABASE_URL not preferred: %s", u)
	}
	if _, err := regionOf("arn:aws:s3:::bucket"); err == nil {
		t.Error("an S3 ARN read as a secret")
	}
	if _, err := dsnFromSecret(`{"host":""}`); err == nil {
		t.Error("an incomplete secret accepted")
	}
}
