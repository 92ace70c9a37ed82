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
	env := func(k string) string {
		if k == "DATABASE_URL" {
			return dsn
		}
		return ""
	}
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
