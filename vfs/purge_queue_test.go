package vfs

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"

	"github.com/n4ws/n4ws/backing/backingtest"
)

// Files removed by rm -rf outside runs/ are purged from the index once the
// kernel forgets them (in batches, purge_queue.go), and only then. Below
// runs/ the trash keeps them: the nodes themselves, as no handle had them
// open, so there is nothing to purge and nothing copied.
func TestRemovedFilesPurged(t *testing.T) {
	mnt, store := mountTest(t, Options{})
	fill := func(dir string) []uint64 {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var inos []uint64
		for i := range 40 {
			p := filepath.Join(dir, fmt.Sprintf("f%02d", i))
			writeFile(t, p, randBytes(uint64(i), 100+i))
			inos = append(inos, inoOf(t, p))
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		return inos
	}
	for _, ino := range fill(filepath.Join(mnt, "library", "templates", "gone")) {
		waitPurged(t, store, ino)
	}

	kept := fill(filepath.Join(mnt, "runs", "ds", "0001_gone"))
	items, err := store.TrashItems(context.Background())
	if err != nil || len(items) != 1 || items[0].Files != 40 {
		t.Fatalf("trash after rm -rf of a pipeline folder: %+v, %v; want one item of 40 files", items, err)
	}
	for _, ino := range kept {
		if a, err := store.GetAttr(context.Background(), ino); err != nil || a.Nlink != 1 {
			t.Errorf("node %d of a removed pipeline file: nlink %d, %v; want the trash's node (1 link)", ino, a.Nlink, err)
		}
	}
}

// A file that loses its last name while neither a handle nor the kernel
// holds it is not purged on the spot: a lookup that read its name just
// before may be handing it to the kernel (an rm or a rename-over racing
// an open of the old name), and the open that follows must find it. The
// purger leaves such a node to the kernel's forget, then purges it.
func TestUnlinkedNodeHandedToKernelIsKept(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := backingtest.NewStore(t)
	f := newFsys(store, nil, Options{Logger: slog.New(&testLog{})})
	go f.runPurger(ctx)
	backingtest.WriteFile(t, store, "runs/ds/a", "x")
	dir, err := store.ResolvePath(ctx, "runs/ds")
	if err != nil {
		t.Fatal(err)
	}
	un, err := store.Unlink(ctx, dir.Ino, "a")
	if err != nil || un.Nlink != 0 {
		t.Fatalf("unlink: nlink %d, %v", un.Nlink, err)
	}
	f.purgeIfUnused(&un)
	handed := &fs.Inode{} // the racing lookup registers the node now
	f.mu.Lock()
	f.nodes[un.Ino] = handed
	f.mu.Unlock()
	time.Sleep(5 * purgeBatchDelay)
	if _, err := store.GetAttr(ctx, un.Ino); err != nil {
		t.Fatalf("node handed to the kernel was purged before its open: %v", err)
	}
	f.forget(un.Ino, handed)
	waitPurged(t, store, un.Ino)
}
