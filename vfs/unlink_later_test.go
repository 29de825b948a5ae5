package vfs

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // a second process's view of the index

	"github.com/n4ws/n4ws/backing"
)

// rm answers without the index: with another connection holding SQLite's
// write lock, rm of files through the mount still returns, the folder's
// GETATTR after each unlink is answered from its listing, and the unlinks
// are in the index once the lock is released. Without unlinks answered
// first (or with a read of the index on their path, which writes the
// queue) rm would wait for the lock.
//
// The mount's listings are first made stale by a write it did not make, as
// a remount or another process would. A large folder (70 files) is then
// read again after eight unlinks in a row written at once (rm of 10
// before the lock); a small one (9 files, a pipeline folder) at its first
// unlink, so that all of them are answered first.
func TestRmAnsweredWhileTheIndexIsLocked(t *testing.T) {
	for _, c := range []struct {
		name         string
		files, early int // files in the folder, removed before the lock
	}{{"large folder", 70, 10}, {"small folder", 9, 0}} {
		t.Run(c.name, func(t *testing.T) { rmWhileLocked(t, c.files, c.early) })
	}
}

func rmWhileLocked(t *testing.T, n, early int) {
	ctx := context.Background()
	mnt, store := mountTest(t, Options{})
	dir := filepath.Join(mnt, "runs/ds/0001_x")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var files []string
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("f%02d", i))
		writeFile(t, p, []byte(p))
		files = append(files, p)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != n {
		t.Fatalf("readdir: %d entries, %v", len(ents), err)
	}
	runs, err := store.ResolvePath(ctx, "runs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Mknod(ctx, runs.Ino, "other", backing.NewNode{Mode: syscall.S_IFDIR | 0o755}); err != nil {
		t.Fatal(err)
	}
	if early > 0 {
		if out, err := exec.Command("rm", files[:early]...).CombinedOutput(); err != nil {
			t.Fatalf("rm: %v\n%s", err, out)
		}
		files = files[early:]
	}

	db, err := sql.Open("sqlite3", "file:"+filepath.Join(store.Dir(), "index.db")+"?_txlock=immediate&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	lock, err := db.Begin() // BEGIN IMMEDIATE: the write lock, until Rollback
	if err != nil {
		t.Fatal(err)
	}
	rm := make(chan error, 1)
	go func() { rm <- exec.Command("rm", files...).Run() }()
	select {
	case err := <-rm:
		lock.Rollback()
		if err != nil {
			t.Fatalf("rm: %v", err)
		}
	case <-time.After(5 * time.Second):
		lock.Rollback()
		t.Error("rm waited for the index's write lock: its unlinks were not answered first")
		if err := <-rm; err != nil {
			t.Fatalf("rm: %v", err)
		}
	}
	// Reading the folder now writes the queue first (fsys.store).
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Errorf("after rm: %d entries, %v; want none", len(ents), err)
	}

	folder, err := store.ResolvePath(ctx, "runs/ds/0001_x")
	if err != nil {
		t.Fatal(err)
	}
	store.Settle()
	if ents, err := store.ReadDir(ctx, folder.Ino); err != nil || len(ents) != 0 {
		t.Errorf("index after the lock: %d entries, %v; want none", len(ents), err)
	}
	items, err := store.TrashItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Files != int64(n) {
		t.Errorf("trash %+v, want one item of the %d files", items, n)
	}
}
