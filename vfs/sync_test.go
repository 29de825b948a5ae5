package vfs

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// fsync and fdatasync work on a read-only descriptor too (`sync FILE` and
// many tools use one), and commit what another descriptor has written.
func TestFsyncReadOnlyDescriptor(t *testing.T) {
	mnt, store := mountTest(t, Options{})
	p := filepath.Join(mnt, "runs", "shared")
	writeFile(t, p, randBytes(31, 1000))
	w, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	data := randBytes(32, 100*kib)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Sync(); err != nil {
		t.Fatalf("fsync of a read-only descriptor: %v", err)
	}
	checkStored(t, store, p, data) // committed while the writer is still open
	if err := syscall.Fdatasync(int(r.Fd())); err != nil {
		t.Fatalf("fdatasync of a read-only descriptor: %v", err)
	}
}
