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
// write lock, rm of 40 files through the mount still returns, the folder's
// GETATTR after each unlink is answered from its listing, and the unlinks
// are in the index once the lock is released. Without unlinks answered
// first (or with a read of the index on their path, which writes the
// queue) rm would wait for the lock.
func TestRmAnsweredWhileTheIndexIsLocked(t *testing.T) {
	mnt, store := mountTest(t, Options{})
	dir := filepath.Join(mnt, "runs/ds/0001_x")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var files []string
	for i := range 50 {
		p := filepath.Join(dir, fmt.Sprintf("f%02d", i))
		writeFile(t, p, []byte(p))
		files = append(files, p)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 50 {
		t.Fatalf("readdir: %d entries, %v", len(ents), err)
	}

	// A write the mount did not make leaves its listings stale, as a
	// remount or another process would: the first unlinks are written at
	// once, and eight in a row read the folder again.
	runs, err := store.ResolvePath(context.Background(), "runs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Mknod(context.Background(), runs.Ino, "other", backing.NewNode{Mode: syscall.S_IFDIR | 0o755}); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("rm", files[:10]...).CombinedOutput(); err != nil {
		t.Fatalf("rm: %v\n%s", err, out)
	}
	files = files[10:]

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

	folder, err := store.ResolvePath(context.Background(), "runs/ds/0001_x")
	if err != nil {
		t.Fatal(err)
	}
	store.Settle()
	if ents, err := store.ReadDir(context.Background(), folder.Ino); err != nil || len(ents) != 0 {
		t.Errorf("index after the lock: %d entries, %v; want none", len(ents), err)
	}
	items, err := store.TrashItems(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Files != 50 {
		t.Errorf("trash %+v, want one item of the 50 files", items)
	}
}
