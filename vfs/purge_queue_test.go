package vfs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
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
