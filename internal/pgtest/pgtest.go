// Package pgtest starts throwaway PostgreSQL servers for tests.
package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Start runs a throwaway PostgreSQL server (Debian's postgresql
// package; .ci/run installs it) and returns a DSN to it. Without the
// binaries the test is skipped, unless EDUAI_REQUIRE_POSTGRES is set (CI).
func Start(t testing.TB) string {
	t.Helper()
	initdb, err := exec.LookPath("initdb")
	if err != nil {
		found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
		if len(found) == 0 {
			if os.Getenv("EDUAI_REQUIRE_POSTGRES") != "" {
				t.Fatal("PostgreSQL server binaries not found (apt-get install postgresql)")
			}
			t.Skip("PostgreSQL server binaries not found; CI installs them")
		}
		initdb = found[len(found)-1]
	}
	bin := filepath.Dir(initdb)
	dir, err := os.MkdirTemp("", "eduai-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// PostgreSQL refuses to run as root: run it as the postgres user then.
	var prefix []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root and no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		prefix = []string{"runuser", "-u", "postgres", "--"}
	}
	run := func(name string, args ...string) {
		t.Helper()
		cmd := append(append([]string{}, prefix...), append([]string{filepath.Join(bin, name)}, args...)...)
		out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
	}
	data := filepath.Join(dir, "data")
	run("initdb", "-D", data, "-U", "eduai", "--auth=trust", "-E", "UTF8")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=''", port, dir))
	t.Cleanup(func() { run("pg_ctl", "-D", data, "-m", "immediate", "stop") })
	return fmt.Sprintf("host=%s port=%d user=eduai dbname=postgres sslmode=disable", dir, port)
}
