package backing_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

func TestInitIdempotentAndPrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a", "store")
	created, err := backing.Init(ctx, dir)
	if err != nil || !created {
		t.Fatalf("init: %v %v", created, err)
	}
	for _, p := range []string{"", "blobs", "spool"} {
		info, err := os.Stat(filepath.Join(dir, p))
		if err != nil || info.Mode().Perm() != 0o700 {
			t.Errorf("%s/: %v %v", p, info.Mode(), err)
		}
	}
	created, err = backing.Init(ctx, dir)
	if err != nil || created {
		t.Errorf("second init: %v %v", created, err)
	}
	s, err := backing.Open(ctx, dir, backing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []string{"runs", "exports/session_reports", "library/trained/fullrun", "catalog/archives/best_predictions"} {
		if a := resolve(t, s, p); !a.IsDir() || a.Flags&backing.FlagPinned == 0 {
			t.Errorf("%s: %+v", p, a)
		}
	}
	if n, _ := s.ReadDir(ctx, backing.RootIno); len(n) != 4 {
		t.Errorf("root has %d entries after two inits, want 4", len(n))
	}
	mustClean(t, s)
}

func TestOpenWithoutStore(t *testing.T) {
	t.Parallel()
	_, err := backing.Open(ctx, t.TempDir(), backing.Options{})
	wantErr(t, "open empty dir", err, backing.ErrNoStore)
}

func TestMigrateExistingIndex(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	backingtest.WriteFile(t, s, "runs/ds/keep.csv", "kept across migration")
	dir := s.Dir()
	// Make the index look like one written by schema version 1.
	rawExec(t, s, `DROP INDEX nodes_blob`)
	rawExec(t, s, `PRAGMA user_version = 1`)
	s2, err := backing.Open(ctx, dir, backing.Options{})
	if err != nil {
		t.Fatalf("open v1 index: %v", err)
	}
	defer s2.Close()
	var v, idx int
	db := rawDB(t, s2)
	db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v)
	db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'nodes_blob'`).Scan(&idx)
	if v != 2 || idx != 1 {
		t.Errorf("after migration: version %d, index %d", v, idx)
	}
	if got := readContent(t, s2, "runs/ds/keep.csv"); got != "kept across migration" {
		t.Errorf("content after migration %q", got)
	}
	mustClean(t, s2)
	// An index from a newer n4ws is refused, not damaged.
	rawExec(t, s2, `PRAGMA user_version = 99`)
	if s3, err := backing.Open(ctx, dir, backing.Options{}); err == nil {
		s3.Close()
		t.Error("opened an index of a newer schema")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Errorf("newer schema: %v", err)
	}
}

func TestLockForMount(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	if s.IsLocked() {
		t.Fatal("fresh store is locked")
	}
	l, err := s.LockForMount(4242)
	if err != nil {
		t.Fatal(err)
	}
	if !s.IsLocked() || s.LockHolder() != 4242 {
		t.Errorf("locked %v holder %d", s.IsLocked(), s.LockHolder())
	}
	_, err = s.LockForMount(os.Getpid())
	wantErr(t, "second lock", err, backing.ErrLocked)
	if err == nil || !strings.Contains(err.Error(), strconv.Itoa(4242)) {
		t.Errorf("second lock error does not name the holder: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if s.IsLocked() {
		t.Error("still locked after release")
	}
	l2, err := s.LockForMount(7)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l2.Release()
}
