package vfs

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Files removed by rm -rf are purged from the index once the kernel
// forgets them (in batches, purge_queue.go), and only then.
func TestRemovedFilesPurged(t *testing.T) {
	mnt, store := mountTest(t, Options{})
	dir := filepath.Join(mnt, "runs", "gone")
	if err := os.Mkdir(dir, 0o755); err != nil {
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
	for _, ino := range inos {
		waitPurged(t, store, ino)
	}
}
