//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// SQLite the way nirs4all (0.11+) uses its store.sqlite at the workspace
// root: WAL, busy_timeout 5000, default synchronous=FULL, one transaction
// per commit, several processes. On the mount the database lives at the
// root (the native tree, passed through); natively in a plain folder.
const (
	sqliteProcs   = 4
	sqliteCommits = 200
)

// sqliteClientPy commits <n> transactions to <db> and prints the wall
// clock (time.time) at its first and after its last commit, so that the
// figure leaves out Python's start-up.
const sqliteClientPy = `
import os, sqlite3, sys, time
db, wid, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
c.execute("PRAGMA busy_timeout=5000")
c.execute("PRAGMA journal_mode=WAL")
c.execute("PRAGMA foreign_keys=ON")
c.execute("CREATE TABLE IF NOT EXISTS pipelines (pipeline_id TEXT PRIMARY KEY, status TEXT, payload BLOB, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)")
start = time.time()
for i in range(n):
    c.execute("BEGIN")
    c.execute("INSERT INTO pipelines (pipeline_id, status, payload) VALUES (?, 'running', ?)", ("%s-%d" % (wid, i), os.urandom(1500)))
    c.execute("COMMIT")
end = time.time()
if n and c.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
    sys.exit("integrity_check failed")
c.close()
print(start, end)
`

func sqliteWorkload() workload {
	return workload{fmt.Sprintf("sqlite WAL %d procs x %d commits", sqliteProcs, sqliteCommits),
		"ms", atMost(2.0), false, (*bench).sqliteCommits}
}

// sqliteCommits keeps the best of 3 rounds, each on a fresh database made
// (and turned to WAL) by one process before the timed ones start.
func (b *bench) sqliteCommits(ctx context.Context, t target) (float64, error) {
	best := 0.0
	for round := range 3 {
		flushDirty()
		db := filepath.Join(t.root, fmt.Sprintf("bench-%d.sqlite", round))
		if _, err := runSQLiteClients(ctx, db, 1, 0); err != nil {
			return 0, err
		}
		ms, err := runSQLiteClients(ctx, db, sqliteProcs, sqliteCommits)
		if err != nil {
			return 0, err
		}
		if round == 0 || ms < best {
			best = ms
		}
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			os.Remove(db + suffix)
		}
	}
	return best, nil
}

// runSQLiteClients runs procs clients at once and returns the time from
// the first one's first commit to the last one's last, in ms.
func runSQLiteClients(ctx context.Context, db string, procs, commits int) (float64, error) {
	var wg sync.WaitGroup
	starts, ends := make([]float64, procs), make([]float64, procs)
	errs := make([]error, procs)
	for i := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out, stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, "python3", "-c", sqliteClientPy, db, fmt.Sprint("w", i), fmt.Sprint(commits))
			cmd.Stdout, cmd.Stderr = &out, &stderr
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Errorf("sqlite client: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
				return
			}
			f := strings.Fields(out.String())
			if len(f) != 2 {
				errs[i] = fmt.Errorf("sqlite client: bad output %q", out.String())
				return
			}
			starts[i], errs[i] = strconv.ParseFloat(f[0], 64)
			if errs[i] == nil {
				ends[i], errs[i] = strconv.ParseFloat(f[1], 64)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	first, last := starts[0], ends[0]
	for i := range procs {
		first, last = min(first, starts[i]), max(last, ends[i])
	}
	return (last - first) * 1000, nil
}
