package backingtest

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// pgBinDirs are where Debian puts PostgreSQL's server tools (apt
// postgresql-NN), which are not on PATH unless someone linked them.
var pgBinDirs = []string{"/usr/lib/postgresql/*/bin"}

// StartPostgres starts a throwaway PostgreSQL cluster for the test: initdb
// and pg_ctl in a private folder, listening only on a unix socket in that
// folder, with trust authentication. As root the cluster runs as nobody.
// The postmaster is stopped by its PID, and the folder removed, when the
// test ends. Durability is off: the data is thrown away.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	initdb := findBinary("initdb", pgBinDirs...)
	pgctl := findBinary("pg_ctl", pgBinDirs...)
	if initdb == "" || pgctl == "" {
		missingServer(t, "PostgreSQL (initdb, pg_ctl; Debian package postgresql)")
	}
	su := currentServerUser(t)
	dir := serverDir(t, su, "n4ws-pg-")
	data := filepath.Join(dir, "data")
	const superuser = "n4ws"
	begin := time.Now()
	su.run(t, initdb, "-D", data, "-U", superuser, "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	conf := fmt.Sprintf("\n# n4ws test cluster\nlisten_addresses = ''\nunix_socket_directories = '%s'\n"+
		"port = 5432\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 100\n", dir)
	if err := appendFile(filepath.Join(data, "postgresql.conf"), conf); err != nil {
		t.Fatalf("configure test cluster: %v", err)
	}
	pg := &Postgres{
		DSN:    fmt.Sprintf("postgres://%s@/postgres?host=%s&port=5432&sslmode=disable", superuser, dir),
		Socket: dir, User: superuser, Dir: data, pgctl: pgctl, su: su,
	}
	// Register the stop before starting: a start that times out may still
	// have left a postmaster behind.
	t.Cleanup(func() { pg.stop(t) })
	start := time.Now()
	su.run(t, pgctl, "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(dir, "server.log"))
	t.Logf("PostgreSQL cluster ready in %v (initdb %v, pg_ctl start %v; socket %s)",
		time.Since(begin).Round(time.Millisecond), start.Sub(begin).Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond), dir)
	return pg
}

// Stop stops the cluster (an outage, for failure tests); its data stays.
func (pg *Postgres) Stop(t testing.TB) { t.Helper(); pg.stop(t) }

// Restart starts the stopped cluster again, on the same socket and data.
func (pg *Postgres) Restart(t testing.TB) {
	t.Helper()
	pg.su.run(t, pg.pgctl, "start", "-w", "-t", "60", "-D", pg.Dir, "-l", filepath.Join(pg.Socket, "server.log"))
}

// stop ends the postmaster with a fast shutdown (SIGINT: roll back open
// transactions, then exit), found by the PID it wrote.
func (pg *Postgres) stop(t testing.TB) {
	pid, err := readPIDFile(filepath.Join(pg.Dir, "postmaster.pid"))
	if err != nil {
		return // never started, or stopped already
	}
	stopPID(t, pid, syscall.SIGINT, "PostgreSQL")
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// DatabaseDSN is the connection URL of database name in the cluster.
func (pg *Postgres) DatabaseDSN(name string) string {
	return fmt.Sprintf("postgres://%s@/%s?host=%s&port=5432&sslmode=disable", pg.User, name, pg.Socket)
}
