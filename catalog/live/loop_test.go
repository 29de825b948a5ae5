package live

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/n4ws/n4ws/catalog/importer"
	"github.com/n4ws/n4ws/catalog/importer/standintest"
)

// TestRunFollowsNotify: Run projects what a change notification points
// at, within the debounce delays, and stops with its context.
func TestRunFollowsNotify(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- f.p.Run(ctx) }()
	standintest.Run(t, "run", f.ws, "--datasets", "soy", "--pipelines", "2", "--no-refit")
	start := time.Now()
	f.p.Notify("store.sqlite-wal")
	waitFor(t, func() bool {
		ents, err := f.s.ResolvePath(context.Background(), "runs/soy")
		return err == nil && ents.IsDir() && len(folders(t, f.s, "soy")) == 2
	})
	if lag := time.Since(start); lag > 2*time.Second {
		t.Errorf("folders visible %v after the notification, want ≤ 2 s", lag)
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

// TestOwnReadsStartNoPass: after a pass, a read of store.sqlite like the
// snapshot's (which creates and removes an empty -wal) starts no pass; a
// commit by another writer does.
func TestOwnReadsStartNoPass(t *testing.T) {
	f := newFixture(t)
	standintest.Run(t, "run", f.ws, "--datasets", "soy", "--pipelines", "1", "--no-refit")
	f.p.passOnce(context.Background())
	l := &f.p.loop
	seen := func() bool {
		l.mu.Lock()
		st, passed := l.seen, l.passed
		l.mu.Unlock()
		return f.p.dropIfSeen(st, passed)
	}
	db := filepath.Join(f.ws, "store.sqlite")
	if _, cleanup, err := importer.SnapshotStore(context.Background(), db); err != nil {
		t.Fatal(err)
	} else {
		cleanup()
	}
	if seen() {
		t.Error("our own snapshot of the store would start a pass")
	}
	c, err := sql.Open("sqlite3", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mustExec(t, c, `UPDATE runs SET name = 'renamed'`)
	if !seen() {
		t.Error("a commit of another writer starts no pass")
	}
}

func mustExec(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestNoSnapshotBeforeDatabase: a store.sqlite that is missing, empty (as
// the mount seeds it, as nirs4all creates it) or not yet a SQLite file is
// never snapshotted; once it holds a database it is.
func TestNoSnapshotBeforeDatabase(t *testing.T) {
	f := newFixture(t)
	snapshots := 0
	f.p.opts.Snapshot = func(ctx context.Context, db, dst string) error {
		snapshots++
		return importer.BackupStore(ctx, db, dst)
	}
	db := filepath.Join(f.ws, "store.sqlite")
	for _, content := range []string{"", "SQLite", "not a database at all"} {
		if err := os.WriteFile(db, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if rep := f.pass(); rep.Pipelines != 0 || snapshots != 0 {
			t.Fatalf("store.sqlite = %q: %d snapshots, %d pipelines, want none", content, snapshots, rep.Pipelines)
		}
	}
	if err := os.Remove(db); err != nil {
		t.Fatal(err)
	}
	f.pass()
	standintest.Run(t, "run", f.ws, "--datasets", "soy", "--pipelines", "1", "--no-refit")
	if rep := f.pass(); rep.Pipelines != 1 || snapshots != 1 {
		t.Errorf("after a run: %d snapshots, %d pipelines, want 1 and 1", snapshots, rep.Pipelines)
	}
}

// TestStoppedPassLogsNoError: a pass the mount's stop cuts short is not an
// error in its log; a pass that fails while the mount runs is.
func TestStoppedPassLogsNoError(t *testing.T) {
	f := newFixture(t)
	var logged strings.Builder
	f.p.log = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	standintest.Run(t, "run", f.ws, "--datasets", "soy", "--pipelines", "1", "--no-refit")
	stopped, stop := context.WithCancel(context.Background())
	stop()
	f.p.passOnce(stopped)
	if strings.Contains(logged.String(), "level=ERROR") || !strings.Contains(logged.String(), "pass stopped") {
		t.Errorf("log of a pass cut short by the stop:\n%s", logged.String())
	}
	logged.Reset()
	f.p.opts.Snapshot = func(context.Context, string, string) error { return errors.New("disk on fire") }
	f.p.passOnce(context.Background())
	if !strings.Contains(logged.String(), "level=ERROR") || !strings.Contains(logged.String(), "disk on fire") {
		t.Errorf("log of a failed pass:\n%s", logged.String())
	}
}
