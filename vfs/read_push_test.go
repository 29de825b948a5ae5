package vfs

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

// The first read-only open of a small file hands the kernel its bytes, so
// that reading it sends no READ (readCacheFlags): cat of files another
// writer of the store made (the kernel looks them up fresh, as after a
// remount) reads each whole with no READ request; a file too large to live
// in the index is still read through READ; and files rewritten shorter,
// through the mount or by the other writer, read back their new bytes,
// none of the old.
func TestSmallFileBytesGivenAtOpen(t *testing.T) {
	var f *fsys
	mnt, store := mountTest(t, Options{onMount: func(m *fsys) { f = m }})
	dir := filepath.Join(mnt, "runs", "ds", "0001_x")
	want := map[string][]byte{}
	for i := range 20 {
		name := fmt.Sprintf("f%02d.csv", i)
		want[name] = randBytes(uint64(i+1), 100+i*700) // up to 13 KiB: inline
		backingtest.WriteFile(t, store, "runs/ds/0001_x/"+name, string(want[name]))
	}
	cat := func(name string) []byte {
		t.Helper()
		out, err := exec.Command("cat", filepath.Join(dir, name)).Output()
		if err != nil {
			t.Fatalf("cat %s: %v", name, err)
		}
		return out
	}
	before := f.blobReads.Load()
	for name, data := range want {
		if got := cat(name); !bytes.Equal(got, data) {
			t.Errorf("%s: read %s, want %s", name, short(got), short(data))
		}
	}
	if n := f.blobReads.Load() - before; n != 0 {
		t.Errorf("reading %d small files sent %d READ requests, want none", len(want), n)
	}

	big := randBytes(99, int(backing.DefaultInlineMax)+10_000) // a blob file
	writeFile(t, filepath.Join(dir, "big.bin"), big)
	before = f.blobReads.Load()
	if got := cat("big.bin"); !bytes.Equal(got, big) {
		t.Errorf("big.bin: read %s", short(got))
	}
	if f.blobReads.Load() == before {
		t.Error("a file larger than the inline limit was read without READ: the counter does not count")
	}

	// New, shorter bytes through the mount and from the store's other
	// writer: the pages given before must not show through.
	writeFile(t, filepath.Join(dir, "f19.csv"), []byte("short\n"))
	if got := cat("f19.csv"); string(got) != "short\n" {
		t.Errorf("f19.csv after a shorter rewrite through the mount: %s", short(got))
	}
	backingtest.WriteFile(t, store, "runs/ds/0001_x/f18.csv", "changed\n")
	if got := cat("f18.csv"); string(got) != "changed\n" {
		t.Errorf("f18.csv after the other writer made it shorter: %s", short(got))
	}
}
