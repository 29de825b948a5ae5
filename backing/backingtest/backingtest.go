// Package backingtest builds stores for tests: a fresh store in
// t.TempDir(), and helpers to fill it by path.
package backingtest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// NewStore creates and opens a store in a temporary directory, with
// LogChanges on as every process but the mount uses it. It is closed when
// the test ends.
func NewStore(t testing.TB) *backing.Store {
	t.Helper()
	return NewStoreWith(t, backing.Options{LogChanges: true})
}

// NewStoreWith is NewStore with the given options, used as they are (set
// LogChanges if the test needs it). InlineMax: -1 gives a store that keeps
// every blob a file, for tests about blob files.
func NewStoreWith(t testing.TB, opts backing.Options) *backing.Store {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	if _, err := backing.Init(ctx, dir); err != nil {
		t.Fatalf("init store: %v", err)
	}
	s, err := backing.Open(ctx, dir, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// WriteFile stores content at the slash path p (parents created, mode
// 0644) and returns the file's attributes.
func WriteFile(t testing.TB, s *backing.Store, p, content string) backing.Attr {
	t.Helper()
	a, err := s.WriteFile(context.Background(), p, strings.NewReader(content), 0o644, time.Time{})
	if err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
	return a
}

// RemoveAll removes the slash path p and everything below it, one unlink
// or rmdir at a time as `rm -rf` does through a mount.
func RemoveAll(t testing.TB, s *backing.Store, p string) {
	t.Helper()
	ctx := context.Background()
	a, err := s.ResolvePath(ctx, p)
	if err != nil {
		t.Fatalf("rm -rf %s: %v", p, err)
	}
	dir, name := p[:strings.LastIndexByte(p, '/')], p[strings.LastIndexByte(p, '/')+1:]
	parent, err := s.ResolvePath(ctx, dir)
	if err != nil {
		t.Fatalf("rm -rf %s: %v", p, err)
	}
	if !a.IsDir() {
		if _, err := s.Unlink(ctx, parent.Ino, name); err != nil {
			t.Fatalf("rm %s: %v", p, err)
		}
		return
	}
	ents, err := s.ReadDir(ctx, a.Ino)
	if err != nil {
		t.Fatalf("rm -rf %s: %v", p, err)
	}
	for _, e := range ents {
		RemoveAll(t, s, p+"/"+e.Name)
	}
	if err := s.Rmdir(ctx, parent.Ino, name); err != nil {
		t.Fatalf("rmdir %s: %v", p, err)
	}
}
