//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/backing/backingtest"
)

// BENCH_TEAM=1 also runs the small-file and large-file rows on a team store
// (PostgreSQL index, S3 blobs) on throwaway servers started here with
// backing/backingtest (initdb/pg_ctl and versitygw must be installed), and
// reports them against the native figures of the same run.
// BENCH_TEAM_PGLOG=<file> logs every statement of the team mount with its
// duration (log_min_duration_statement = 0) and copies PostgreSQL's log
// there at the end, to see where a small file's time goes.

// teamRows are the workloads (by name prefix) measured on the team store.
var teamRows = []string{"seq write", "seq read", "create", "stat", "read "}

func wantTeam() bool { return os.Getenv("BENCH_TEAM") == "1" }

// runTeam mounts a team store and measures the team rows on it; native
// holds the native side's figures by workload name.
func (b *bench) runTeam(ctx context.Context, base, n4wsBin string, native map[string]float64, coldOK bool, why string) ([]row, error) {
	tb := &serverTB{dir: base}
	defer tb.cleanup()
	var pg *backingtest.Postgres
	var s3 *backingtest.S3
	if err := tb.do(func() { pg = backingtest.StartPostgres(tb); s3 = backingtest.StartS3(tb) }); err != nil {
		return nil, fmt.Errorf("start the team servers: %w", err)
	}
	if logTo := os.Getenv("BENCH_TEAM_PGLOG"); logTo != "" {
		if err := logStatements(ctx, pg); err != nil {
			return nil, err
		}
		defer copyFile(filepath.Join(pg.Socket, "server.log"), logTo)
	}
	os.Setenv("AWS_ACCESS_KEY_ID", s3.AccessKey)
	os.Setenv("AWS_SECRET_ACCESS_KEY", s3.SecretKey)
	m := &mount{bin: n4wsBin, store: filepath.Join(base, "team-store"), dir: filepath.Join(base, "team-mnt"), tag: ".team"}
	defer m.cleanup()
	if err := m.n4ws(ctx, "init", "--index", pg.DSN, "--blobs", "s3://"+s3.Bucket+"/bench",
		"--s3-endpoint", "http://"+s3.Endpoint); err != nil {
		return nil, err
	}
	if err := m.up(ctx); err != nil {
		return nil, err
	}
	onMount := filepath.Join(m.dir, "runs", "bench")
	if err := os.MkdirAll(onMount, 0o755); err != nil {
		return nil, fmt.Errorf("mkdir on the team mount: %w", err)
	}
	team := target{"team", onMount, m.dir, filepath.Join(s3.Dir, s3.Bucket), m.cold}
	var rows []row
	only := os.Getenv("BENCH_ONLY")
	for _, w := range workloads(b.sizeMB, b.files, b.pipelines) {
		if !isTeamRow(w.name) || !picked(w.name, only) {
			continue
		}
		if w.cold && !coldOK {
			rows = append(rows, row{w: w, note: "cold unavailable (" + why + ")"})
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s on team\n", w.name)
		v, err := w.run(b, ctx, team)
		if err != nil {
			return rows, fmt.Errorf("%s on team: %w", w.name, err)
		}
		rows = append(rows, row{w: w, native: native[w.name], mount: v})
	}
	return rows, nil
}

func isTeamRow(name string) bool {
	return slices.ContainsFunc(teamRows, func(p string) bool { return strings.HasPrefix(name, p) })
}

// serverTB lets a program use backingtest's server starters, written for
// tests: Fatalf and Skipf end the start with an error (do recovers it),
// Cleanup functions run at cleanup. Other testing.TB methods are not used
// by the starters (the embedded nil interface would panic).
type serverTB struct {
	testing.TB
	dir      string
	cleanups []func()
}

type tbFailure struct{ msg string }

func (tb *serverTB) do(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			fail, ok := r.(tbFailure)
			if !ok {
				panic(r)
			}
			err = errors.New(fail.msg)
		}
	}()
	f()
	return nil
}

func (tb *serverTB) Helper()          {}
func (tb *serverTB) Cleanup(f func()) { tb.cleanups = append(tb.cleanups, f) }
func (tb *serverTB) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
func (tb *serverTB) Errorf(format string, args ...any) { tb.Logf(format, args...) }
func (tb *serverTB) Fatalf(format string, args ...any) {
	panic(tbFailure{fmt.Sprintf(format, args...)})
}
func (tb *serverTB) Skipf(format string, args ...any) { panic(tbFailure{fmt.Sprintf(format, args...)}) }

func (tb *serverTB) TempDir() string {
	d, err := os.MkdirTemp(tb.dir, "server-")
	if err != nil {
		panic(tbFailure{err.Error()})
	}
	return d
}

// cleanup stops the servers, last started first.
func (tb *serverTB) cleanup() {
	for i := len(tb.cleanups) - 1; i >= 0; i-- {
		_ = tb.do(tb.cleanups[i])
	}
}

// teamTable measures the team rows and adds their table, against the
// native figures of rows (the local store's table of the same run).
func (b *bench) teamTable(ctx context.Context, base, n4wsBin string, rows []row, coldOK bool, why string, doc *benchDoc) error {
	native := map[string]float64{}
	for _, r := range rows {
		native[r.w.name] = r.native
	}
	teamRows, err := b.runTeam(ctx, base, n4wsBin, native, coldOK, why)
	fmt.Println("\nteam store (PostgreSQL index, S3 blobs) against the same native folder:")
	printTable(os.Stdout, teamRows)
	if err != nil {
		return fmt.Errorf("team store: %w", err)
	}
	doc.add("Team store against the same native folder", "The same workloads on a team store "+
		"(PostgreSQL index and versitygw S3 blobs on this machine, throwaway servers); the native column is "+
		"the table above's.", markdownTable(teamRows))
	return nil
}

// logStatements makes PostgreSQL log every statement with its duration and
// the backend's PID, through psql (the test cluster trusts its socket).
func logStatements(ctx context.Context, pg *backingtest.Postgres) error {
	for _, q := range []string{`ALTER SYSTEM SET log_min_duration_statement = 0`,
		`ALTER SYSTEM SET log_line_prefix = '%m [%p] '`, `SELECT pg_reload_conf()`} {
		if out, err := exec.CommandContext(ctx, "psql", pg.DSN, "-c", q).CombinedOutput(); err != nil {
			return fmt.Errorf("psql %s: %w\n%s", q, err, out)
		}
	}
	return nil
}

func copyFile(from, to string) {
	data, err := os.ReadFile(from)
	if err == nil {
		err = os.WriteFile(to, data, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: copy PostgreSQL's log:", err)
	}
}
