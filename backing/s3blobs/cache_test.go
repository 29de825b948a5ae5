package s3blobs

import (
	"os"
	"path/filepath"
	"testing"
	"time"
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
