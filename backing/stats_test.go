package backing_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

func TestStats(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	st, err := s.Stats(ctx)
	if err != nil || st.Dirs != 17 || st.Files != 0 || st.Blobs != 0 || st.DedupRatio != 0 {
		t.Fatalf("fresh stats: %+v %v", st, err)
	}
	a := backingtest.WriteFile(t, s, "runs/a", "0123456789")
	backingtest.WriteFile(t, s, "runs/b", "0123456789")
	backingtest.WriteFile(t, s, "runs/c", "abcde")
	backingtest.WriteFile(t, s, "runs/d", "garbage soon")
	backingtest.WriteFile(t, s, "runs/d", "")
	if _, err := s.Link(ctx, a.Ino, resolve(t, s, "library").Ino, "a-link"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Symlink(ctx, "runs/l", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Mknod(ctx, resolve(t, s, "runs").Ino, "fifo", backing.NewNode{Mode: syscall.S_IFIFO | 0o644}); err != nil {
		t.Fatal(err)
	}
	// The native folder (nirs4all's files at the root): the empty
	// store.sqlite of a new store, plus a folder with a file of 7 bytes.
	if err := os.MkdirAll(filepath.Join(s.NativeDir(), "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.NativeDir(), "logs/R.log"), []byte("started"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err = s.Stats(ctx)
	want := backing.Stats{Files: 4, Dirs: 17, Symlinks: 1, Others: 1, LogicalBytes: 25, StoredBytes: 15, Blobs: 2,
		GarbageBlobs: 1, GarbageBytes: 12, DedupRatio: 25.0 / 15,
		Native: backing.NativeStats{Files: 2, Dirs: 1, Bytes: 7}}
	if err != nil || st != want {
		t.Errorf("stats\n got %+v\nwant %+v (%v)", st, want, err)
	}
	b, _ := json.Marshal(st)
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"files", "dirs", "symlinks", "others", "logical_bytes", "stored_bytes", "blobs",
		"garbage_blobs", "garbage_bytes", "dedup_ratio", "native"} {
		if _, ok := m[k]; !ok {
			t.Errorf("json lacks %q: %s", k, b)
		}
	}
}
