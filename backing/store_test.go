package backing_test

import (
	"database/sql"
	"fmt"
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

// fakeOldIndex turns s's index into one written by schema version v (1 or
// 2), undoing the later migrations: 1 -> 2 added the index nodes_blob,
// 2 -> 3 the column blobs.data (and 5 -> 6 made blobs a rowid table). Such
// an index holds file blobs only.
func fakeOldIndex(t *testing.T, s *backing.Store, v int) {
	t.Helper()
	db := rawDB(t, s)
	stmts := []string{ // SQLite's way to drop a column: rebuild the table
		`CREATE TABLE blobs_old (hash BLOB PRIMARY KEY, size INTEGER NOT NULL, refcount INTEGER NOT NULL) WITHOUT ROWID`,
		`INSERT INTO blobs_old SELECT hash, size, refcount FROM blobs`,
		`DROP TABLE blobs`,
		`ALTER TABLE blobs_old RENAME TO blobs`,
		`CREATE INDEX blobs_garbage ON blobs(hash) WHERE refcount = 0`,
	}
	if v < 2 {
		stmts = append(stmts, `DROP INDEX nodes_blob`)
	}
	stmts = append(stmts, `DROP TABLE dirty`, `DROP TABLE trash`) // added by versions 4 and 5
	stmts = append(stmts, fmt.Sprintf(`PRAGMA user_version = %d`, v))
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if schema(t, s) != [3]int{v, boolInt(v >= 2), 0} {
		t.Fatalf("faked version %d: schema %v", v, schema(t, s))
	}
}

// schema returns the index's user_version, whether the index nodes_blob
// exists and whether the column blobs.data does.
func schema(t *testing.T, s *backing.Store) [3]int {
	t.Helper()
	var v [3]int
	err := rawDB(t, s).QueryRowContext(ctx, `SELECT (SELECT user_version FROM pragma_user_version),
		(SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'nodes_blob'),
		(SELECT count(*) FROM pragma_table_info('blobs') WHERE name = 'data')`).Scan(&v[0], &v[1], &v[2])
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestMigrateExistingIndex(t *testing.T) {
	t.Parallel()
	for _, from := range []int{1, 2} {
		t.Run(fmt.Sprintf("from v%d", from), func(t *testing.T) {
			t.Parallel()
			s := fileStore(t) // versions before 3 had no inline blobs
			old := backingtest.WriteFile(t, s, "runs/ds/keep.csv", "kept across migration")
			fakeOldIndex(t, s, from)
			s2, err := backing.Open(ctx, s.Dir(), backing.Options{})
			if err != nil {
				t.Fatalf("open v%d index: %v", from, err)
			}
			defer s2.Close()
			if got := schema(t, s2); got != [3]int{6, 1, 1} {
				t.Errorf("after migration: version, nodes_blob, blobs.data = %v, want [6 1 1]", got)
			}
			if got := readContent(t, s2, "runs/ds/keep.csv"); got != "kept across migration" || inline(t, s2, old.Blob) {
				t.Errorf("content after migration %q (inline %v)", got, inline(t, s2, old.Blob))
			}
			// The migrated index takes inline blobs.
			a := backingtest.WriteFile(t, s2, "runs/ds/new.csv", "written after migration")
			if !inline(t, s2, a.Blob) || readContent(t, s2, "runs/ds/new.csv") != "written after migration" {
				t.Error("small file written after migration is not inline")
			}
			mustClean(t, s2)
			// An index from a newer n4ws is refused, not damaged.
			rawExec(t, s2, `PRAGMA user_version = 99`)
			if s3, err := backing.Open(ctx, s.Dir(), backing.Options{}); err == nil {
				s3.Close()
				t.Error("opened an index of a newer schema")
			} else if !strings.Contains(err.Error(), "newer") {
				t.Errorf("newer schema: %v", err)
			}
		})
	}
}

// blobsWithoutRowid reports whether the index's blobs table is a WITHOUT
// ROWID table, as schema versions before 6 made it.
func blobsWithoutRowid(t *testing.T, s *backing.Store) bool {
	t.Helper()
	var ddl string
	err := rawDB(t, s).QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'blobs'`).Scan(&ddl)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(strings.ToUpper(ddl), "WITHOUT ROWID")
}

// An index of version 5, whose blobs table holds small files' bytes in a
// WITHOUT ROWID table, becomes version 6 with blobs a rowid table: every
// file reads back the same, the references stay checked, fsck is clean,
// and new files are stored as before.
func TestMigrateBlobsToRowidTable(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	small := backingtest.WriteFile(t, s, "runs/ds/small.csv", "inline content")
	twin := backingtest.WriteFile(t, s, "runs/ds/twin.csv", "inline content")
	big := backingtest.WriteFile(t, s, "runs/ds/model.bin", strings.Repeat("weights ", 20000))
	if !inline(t, s, small.Blob) || inline(t, s, big.Blob) || small.Blob != twin.Blob {
		t.Fatal("setup: want one inline blob shared by two files and one blob file")
	}
	dir := s.Dir()
	s.Close()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "index.db")+"?_busy_timeout=10000&_foreign_keys=off")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{ // the table as versions 3 to 5 had it
		`CREATE TABLE blobs_old (hash BLOB PRIMARY KEY, size INTEGER NOT NULL, refcount INTEGER NOT NULL, data BLOB) WITHOUT ROWID`,
		`INSERT INTO blobs_old SELECT hash, size, refcount, data FROM blobs`,
		`DROP TABLE blobs`,
		`ALTER TABLE blobs_old RENAME TO blobs`,
		`CREATE INDEX blobs_garbage ON blobs(hash) WHERE refcount = 0`,
		`PRAGMA user_version = 5`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s2, err := backing.Open(ctx, dir, backing.Options{})
	if err != nil {
		t.Fatalf("open a version 5 index: %v", err)
	}
	defer s2.Close()
	if v := schema(t, s2)[0]; v != 6 || blobsWithoutRowid(t, s2) {
		t.Fatalf("after migration: version %d, blobs WITHOUT ROWID %v; want 6, a rowid table", v, blobsWithoutRowid(t, s2))
	}
	for p, want := range map[string]string{"runs/ds/small.csv": "inline content", "runs/ds/twin.csv": "inline content",
		"runs/ds/model.bin": strings.Repeat("weights ", 20000)} {
		if got := readContent(t, s2, p); got != want {
			t.Errorf("%s after migration: %d bytes, want %d", p, len(got), len(want))
		}
	}
	if n := refcount(t, s2, small.Blob); n != 2 {
		t.Errorf("shared inline blob's refcount after migration: %d, want 2", n)
	}
	mustClean(t, s2)
	// The store's connections check references again: a node naming a
	// blob that has no row is refused.
	err = s2.Update(ctx, func(tx *backing.Tx) error {
		_, err := tx.Exec(`UPDATE nodes SET blob = ? WHERE ino = ?`, make([]byte, 32), small.Ino)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Errorf("a reference to a missing blob after migration: %v, want a foreign key error", err)
	}
	a := backingtest.WriteFile(t, s2, "runs/ds/new.csv", "written after migration")
	if !inline(t, s2, a.Blob) || readContent(t, s2, "runs/ds/new.csv") != "written after migration" {
		t.Error("small file written after migration is not inline")
	}
	mustClean(t, s2)
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
