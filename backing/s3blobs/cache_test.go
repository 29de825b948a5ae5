package s3blobs

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// TestOpenCacheKeepsDownloadsUnderWay: opening the cache removes the
// temporary files an interrupted download left, but not one another
// handle of the store (a CLI command beside the mount, the mount's live
// projection) is writing now; a leftover another opening removed first
// is no error.
func TestOpenCacheKeepsDownloadsUnderWay(t *testing.T) {
	dir := t.TempDir()
	left := filepath.Join(dir, ".tmp-left")
	busy := filepath.Join(dir, ".tmp-busy")
	for _, p := range []string{left, busy} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * staleTempAge)
	if err := os.Chtimes(left, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := openCache(dir, 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("%s: an old temporary file is still there after opening (%v)", left, err)
	}
	if _, err := os.Stat(busy); err != nil {
		t.Errorf("%s: a download under way was removed: %v", busy, err)
	}
}

// TestCacheSharedInProcess: two handles of one store in a process (a
// mount and its live projection) share the cache of their folder, so the
// folder stays within its bound whichever handle adds, and the smaller
// bound asked for holds.
func TestCacheSharedInProcess(t *testing.T) {
	dir := t.TempDir()
	a, err := sharedCache(dir, 2<<20)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sharedCache(dir+"/", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("two openings of one folder in a process keep two caches")
	}
	for i, c := range []*cache{a, b, a, b} {
		f, err := c.tempFile()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(make([]byte, 600<<10)); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := c.add(backing.Digest{byte(i + 1)}, 600<<10, f.Name()); err != nil {
			t.Fatal(err)
		}
	}
	var total int64
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			fi, ierr := e.Info()
			if ierr == nil {
				total += fi.Size()
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 1<<20 {
		t.Errorf("the cache folder holds %d bytes, over its 1 MiB bound", total)
	}
	if used, files := a.usage(); used != total || files != 1 {
		t.Errorf("the cache counts %d bytes in %d files; the folder holds %d bytes", used, files, total)
	}
}
