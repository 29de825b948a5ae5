package backing_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

var ctx = context.Background()

var zeroTime time.Time

// resolve returns the node at slash path p or fails the test.
func resolve(t testing.TB, s *backing.Store, p string) backing.Attr {
	t.Helper()
	a, err := s.ResolvePath(ctx, p)
	if err != nil {
		t.Fatalf("resolve %s: %v", p, err)
	}
	return a
}

// readContent returns the bytes of the regular file at p.
func readContent(t testing.TB, s *backing.Store, p string) string {
	t.Helper()
	a := resolve(t, s, p)
	if a.Blob.IsZero() {
		return ""
	}
	f, err := s.OpenBlob(context.Background(), a.Blob)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, 0, a.Size))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rawDB opens index.db behind the store's back, with foreign keys off, to
// damage it the way a bug or a crash could.
func rawDB(t testing.TB, s *backing.Store) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(s.Dir(), "index.db")+"?_busy_timeout=10000&_foreign_keys=off")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// rawExec runs one statement on a raw connection.
func rawExec(t testing.TB, s *backing.Store, query string, args ...any) {
	t.Helper()
	if _, err := rawDB(t, s).ExecContext(ctx, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// refcount reads blob d's refcount, -1 when it has no row.
func refcount(t testing.TB, s *backing.Store, d backing.Digest) int {
	t.Helper()
	n := -1
	err := rawDB(t, s).QueryRowContext(ctx, `SELECT refcount FROM blobs WHERE hash = ?`, d[:]).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return n
}

// fileStore is a store that keeps every blob a file (InlineMax -1), for
// tests about blob files: corrupt, missing or orphaned ones, gc removing
// them, fsck counting them.
func fileStore(t testing.TB) *backing.Store {
	t.Helper()
	return backingtest.NewStoreWith(t, backing.Options{LogChanges: true, InlineMax: -1})
}

// inline reports whether blob d's bytes are in the index: it has a row
// whose data is not NULL.
func inline(t testing.TB, s *backing.Store, d backing.Digest) bool {
	t.Helper()
	var in bool
	err := rawDB(t, s).QueryRowContext(ctx, `SELECT data IS NOT NULL FROM blobs WHERE hash = ?`, d[:]).Scan(&in)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}
	return in
}

// blobFiles counts the regular files below the store's blobs/ directory.
func blobFiles(t testing.TB, s *backing.Store) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(s.Dir(), "blobs"), func(_ string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// fsck runs Fsck or fails the test.
func fsck(t testing.TB, s *backing.Store, repair bool) backing.FsckReport {
	t.Helper()
	rep, err := s.Fsck(ctx, backing.FsckOptions{Repair: repair})
	if err != nil {
		t.Fatalf("fsck (repair %v): %v", repair, err)
	}
	return rep
}

// mustClean fails the test unless fsck finds nothing wrong: the namespace
// operations must keep every invariant fsck checks.
func mustClean(t testing.TB, s *backing.Store) backing.FsckReport {
	t.Helper()
	rep := fsck(t, s, false)
	for _, p := range rep.Problems {
		t.Errorf("fsck: %s", p)
	}
	return rep
}

// kinds counts the report's problems by kind.
func kinds(rep backing.FsckReport) map[backing.ProblemKind]int {
	m := make(map[backing.ProblemKind]int)
	for _, p := range rep.Problems {
		m[p.Kind]++
	}
	return m
}

// wantErr fails the test unless err matches target.
func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}
