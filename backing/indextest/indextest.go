// Package indextest is the conformance suite of backing.IndexEngine: the
// same tests, parametrized by engine, for SQLite and PostgreSQL (the
// juicefs testMeta pattern). They run the store's own statements (the
// ? form backing writes) through each engine.
package indextest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// Run runs the suite; newIndex returns an empty database's engine (and
// registers its cleanup).
func Run(t *testing.T, newIndex func(t *testing.T) backing.IndexEngine) {
	tests := []struct {
		name string
		fn   func(*testing.T, backing.IndexEngine)
	}{
		{"Migrate", testMigrate},
		{"NodesAndEntries", testNodesAndEntries},
		{"BlobRefcounts", testBlobRefcounts},
		{"XattrUpsert", testXattrUpsert},
		{"Conflict", testConflict},
		{"Rollback", testRollback},
		{"WriteLock", testWriteLock},
		{"ChangeSignal", testChangeSignal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := newIndex(t)
			if tc.name != "Migrate" {
				if err := x.Migrate(context.Background()); err != nil {
					t.Fatalf("migrate: %v", err)
				}
			}
			tc.fn(t, x)
		})
	}
}

// write runs fn in one write transaction and commits it.
func write(t *testing.T, x backing.IndexEngine, fn func(tx *sql.Tx) error) error {
	t.Helper()
	tx, err := x.BeginWrite(context.Background())
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func exec(x backing.IndexEngine, tx *sql.Tx, query string, args ...any) error {
	_, err := tx.ExecContext(context.Background(), x.Rebind(query), args...)
	return err
}

func queryRow(x backing.IndexEngine, query string, args ...any) *sql.Row {
	return x.DB().QueryRowContext(context.Background(), x.Rebind(query), args...)
}

const insertNode = `INSERT INTO nodes (mode, uid, gid, size, nlink, atime_ns, mtime_ns, ctime_ns, rdev, flags, blob, target)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func newNode(x backing.IndexEngine, tx *sql.Tx, mode uint32) (int64, error) {
	return x.InsertID(context.Background(), tx, "ino", insertNode,
		mode, 0, 0, 0, 1, int64(1), int64(2), int64(3), 0, 0, nil, nil)
}

func testMigrate(t *testing.T, x backing.IndexEngine) {
	ctx := context.Background()
	if v, err := x.SchemaVersion(ctx); err != nil || v != 0 {
		t.Fatalf("fresh database: version %d, %v; want 0", v, err)
	}
	for range 2 { // the second is a no-op
		if err := x.Migrate(ctx); err != nil {
			t.Fatalf("migrate: %v", err)
		}
		if v, err := x.SchemaVersion(ctx); err != nil || v != backing.IndexSchemaVersion {
			t.Fatalf("after migrate: version %d, %v; want %d", v, err, backing.IndexSchemaVersion)
		}
	}
	for _, table := range []string{"nodes", "entries", "blobs", "xattrs", "changes", "meta", "dirty", "trash"} {
		var n int
		if err := queryRow(x, `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != 0 {
			t.Fatalf("table %s: %d rows, %v; want an empty table", table, n, err)
		}
	}
}

// The first node is inode 1 (the root), then numbers go up; entries join
// names to nodes as lookup does.
func testNodesAndEntries(t *testing.T, x backing.IndexEngine) {
	var root, file int64
	err := write(t, x, func(tx *sql.Tx) error {
		var err error
		if root, err = newNode(x, tx, 0o40755); err != nil {
			return err
		}
		if file, err = newNode(x, tx, 0o100644); err != nil {
			return err
		}
		return exec(x, tx, `INSERT INTO entries (parent, name, child) VALUES (?, ?, ?)`, root, []byte("a\xffb"), file)
	})
	if err != nil {
		t.Fatal(err)
	}
	if root != int64(backing.RootIno) || file != root+1 {
		t.Fatalf("inode numbers %d, %d; want %d, %d", root, file, backing.RootIno, backing.RootIno+1)
	}
	var ino int64
	var mode uint32
	err = queryRow(x, `SELECT n.ino, n.mode FROM entries e JOIN nodes n ON n.ino = e.child WHERE e.parent = ? AND e.name = ?`,
		root, []byte("a\xffb")).Scan(&ino, &mode)
	if err != nil || ino != file || mode != 0o100644 {
		t.Fatalf("lookup: ino %d mode %o, %v; want %d %o", ino, mode, err, file, 0o100644)
	}
}

// The reference-count upserts of storeBlob/refBlob, and the inline check.
func testBlobRefcounts(t *testing.T, x backing.IndexEngine) {
	hash := make([]byte, 32)
	hash[0] = 7
	for i := range 3 {
		err := write(t, x, func(tx *sql.Tx) error {
			return exec(x, tx, `INSERT INTO blobs (hash, size, refcount) VALUES (?, ?, 1)
		ON CONFLICT (hash) DO UPDATE SET refcount = blobs.refcount + 1`, hash, 10)
		})
		if err != nil {
			t.Fatalf("ref #%d: %v", i, err)
		}
	}
	var stored, inline, refs int
	err := queryRow(x, `SELECT count(*), count(data) FROM blobs WHERE hash = ?`, hash).Scan(&stored, &inline)
	if err != nil || stored != 1 || inline != 0 {
		t.Fatalf("blob check: stored %d inline %d, %v; want 1, 0", stored, inline, err)
	}
	if err := queryRow(x, `SELECT refcount FROM blobs WHERE hash = ?`, hash).Scan(&refs); err != nil || refs != 3 {
		t.Fatalf("refcount %d, %v; want 3", refs, err)
	}
	err = write(t, x, func(tx *sql.Tx) error {
		return exec(x, tx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, "k", "v2")
	})
	if err != nil {
		t.Fatalf("meta upsert: %v", err)
	}
}

// Two writers creating one name: the second gets a conflict the store
// turns into EEXIST; other errors are not conflicts.
func testConflict(t *testing.T, x backing.IndexEngine) {
	err := write(t, x, func(tx *sql.Tx) error {
		root, err := newNode(x, tx, 0o40755)
		if err != nil {
			return err
		}
		return exec(x, tx, `INSERT INTO entries (parent, name, child) VALUES (?, ?, ?)`, root, []byte("x"), root)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = write(t, x, func(tx *sql.Tx) error {
		return exec(x, tx, `INSERT INTO entries (parent, name, child) VALUES (?, ?, ?)`, 1, []byte("x"), 1)
	})
	if err == nil || !x.IsConflict(err) {
		t.Fatalf("duplicate entry: %v; want a conflict", err)
	}
	err = write(t, x, func(tx *sql.Tx) error { return exec(x, tx, `SELECT no_such_column FROM nodes`) })
	if err == nil || x.IsConflict(err) {
		t.Fatalf("bad statement: %v; want an error that is not a conflict", err)
	}
}

func testRollback(t *testing.T, x backing.IndexEngine) {
	boom := errors.New("boom")
	err := write(t, x, func(tx *sql.Tx) error {
		if _, err := newNode(x, tx, 0o40755); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("write: %v", err)
	}
	var n int
	if err := queryRow(x, `SELECT count(*) FROM nodes`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after rollback: %d nodes, %v; want 0", n, err)
	}
}

// Writers that read, then write what they read (as every store operation
// does) never lose an update: BeginWrite excludes the others.
func testWriteLock(t *testing.T, x backing.IndexEngine) {
	err := write(t, x, func(tx *sql.Tx) error {
		return exec(x, tx, `INSERT INTO meta (key, value) VALUES (?, ?)`, "counter", "0")
	})
	if err != nil {
		t.Fatal(err)
	}
	const writers, rounds = 4, 15
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				tx, err := x.BeginWrite(context.Background())
				if err != nil {
					errs <- err
					return
				}
				var v int
				err = tx.QueryRow(x.Rebind(`SELECT value FROM meta WHERE key = ?`), "counter").Scan(&v)
				if err == nil {
					_, err = tx.Exec(x.Rebind(`UPDATE meta SET value = ? WHERE key = ?`), fmt.Sprint(v+1), "counter")
				}
				if err == nil {
					err = tx.Commit()
				} else {
					tx.Rollback()
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	var v int
	if err := queryRow(x, `SELECT value FROM meta WHERE key = ?`, "counter").Scan(&v); err != nil || v != writers*rounds {
		t.Fatalf("counter %d, %v; want %d (an update was lost)", v, err, writers*rounds)
	}
}

// setxattr replaces a value in place (xattr.go, fsck's lost-content tag).
func testXattrUpsert(t *testing.T, x backing.IndexEngine) {
	for _, v := range []string{"first", "second"} {
		err := write(t, x, func(tx *sql.Tx) error {
			if v == "first" {
				if _, err := newNode(x, tx, 0o100644); err != nil {
					return err
				}
			}
			return exec(x, tx, `INSERT INTO xattrs (ino, name, value) VALUES (?, ?, ?) ON CONFLICT (ino, name) DO UPDATE SET value = excluded.value`,
				1, "user.k", []byte(v))
		})
		if err != nil {
			t.Fatalf("set %s: %v", v, err)
		}
	}
	var got []byte
	var n int
	if err := queryRow(x, `SELECT value, (SELECT count(*) FROM xattrs) FROM xattrs WHERE ino = ? AND name = ?`, 1, "user.k").Scan(&got, &n); err != nil || string(got) != "second" || n != 1 {
		t.Fatalf("xattr %q (%d rows), %v; want \"second\" (1 row)", got, n, err)
	}
}

// A watcher learns of every committed write that notified, within a
// second, without asking (the mounts of a team store see each other's
// changes this way).
func testChangeSignal(t *testing.T, x backing.IndexEngine) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := x.Changes(ctx)
	for i := range 3 {
		err := write(t, x, func(tx *sql.Tx) error {
			if err := exec(x, tx, `INSERT INTO changes (parent, name, ino) VALUES (?, ?, ?)`, 1, []byte("f"), i); err != nil {
				return err
			}
			return x.NotifyChange(ctx, tx)
		})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-changes:
		case <-time.After(time.Second):
			t.Fatalf("change %d: no signal within a second", i)
		}
	}
}
