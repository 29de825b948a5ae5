package backing_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

// TestStoredRootNames: the read-only root takes artifacts/ (and gives it
// back) and nothing else; a new store has the native folder with its empty
// store.sqlite, which EnsureNative never overwrites.
func TestStoredRootNames(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	dir := backing.NewNode{Mode: syscall.S_IFDIR | 0o755}
	if _, err := s.Mknod(ctx, backing.RootIno, "artifacts", dir); err != nil {
		t.Fatalf("mkdir artifacts at the root: %v", err)
	}
	_, err := s.Mknod(ctx, backing.RootIno, "outputs", dir)
	wantErr(t, "mkdir outputs at the root", err, backing.ErrReadOnly)
	if err := s.Rmdir(ctx, backing.RootIno, "artifacts"); err != nil {
		t.Errorf("rmdir artifacts at the root: %v", err)
	}
	wantErr(t, "rmdir runs", s.Rmdir(ctx, backing.RootIno, "runs"), backing.ErrReadOnly)

	seed := filepath.Join(s.NativeDir(), backing.NativeSeedFile)
	if fi, err := os.Stat(seed); err != nil || fi.Size() != 0 {
		t.Fatalf("native seed of a new store: %v %v", fi, err)
	}
	if err := os.WriteFile(seed, []byte("SQLite format 3\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureNative(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(seed); fi.Size() != 16 {
		t.Errorf("EnsureNative changed an existing store.sqlite (size %d)", fi.Size())
	}
	os.Remove(seed)
	if err := s.EnsureNative(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(seed); err != nil {
		t.Errorf("EnsureNative did not bring store.sqlite back: %v", err)
	}
}
