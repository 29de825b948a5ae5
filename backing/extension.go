package backing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"
)

// Extensions: packages above backing (the catalog) keep their own tables
// in the same index, so that their state commits atomically with the
// files it is derived from. They get the read pool, write transactions,
// and a few filesystem operations that bypass the read-only flag (n4ws
// itself writes the archives users cannot).

// Tx is a write transaction handed to an extension.
type Tx struct{ *txn }

// Update runs fn in one write transaction.
func (s *Store) Update(ctx context.Context, fn func(tx *Tx) error) error {
	// A bookkeeping transaction (only Exec, Query, ClearDirty: the
	// catalog's tables) until fn calls a Tx method that changes the tree.
	return noSpace(s.updateTx(ctx, false, func(t *txn) error { return fn(&Tx{t}) }))
}

// Reader returns the pool of read-only connections.
func (s *Store) Reader() *sql.DB { return s.rdb }

// EnsureSchema applies an extension's migrations that have not run yet.
// The version is kept in meta under "schema:"+name.
func (s *Store) EnsureSchema(ctx context.Context, name string, migrations []string) error {
	return s.update(ctx, func(tx *txn) error {
		var v int
		err := tx.queryRow(`SELECT coalesce((SELECT value FROM meta WHERE key = ?), '0')`, "schema:"+name).Scan(&v)
		if err != nil {
			return fmt.Errorf("schema %s: %w", name, err)
		}
		if v > len(migrations) {
			return fmt.Errorf("schema %s version %d is newer than this n4ws (%d): upgrade n4ws", name, v, len(migrations))
		}
		for i := v; i < len(migrations); i++ {
			if _, err := tx.exec(s.portableDDL(migrations[i])); err != nil {
				return fmt.Errorf("schema %s %d -> %d: %w", name, i, i+1, err)
			}
		}
		_, err = tx.exec(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
			"schema:"+name, strconv.Itoa(len(migrations)))
		return err
	})
}

// Exec runs a statement in the transaction.
func (tx *Tx) Exec(query string, args ...any) (sql.Result, error) { return tx.exec(query, args...) }

// Query runs a query in the transaction.
func (tx *Tx) Query(query string, args ...any) (*sql.Rows, error) {
	return tx.QueryContext(tx.ctx, query, args...)
}

// QueryRow runs a one-row query in the transaction.
func (tx *Tx) QueryRow(query string, args ...any) *sql.Row { return tx.queryRow(query, args...) }

// RefBlob adds a reference to an existing blob, so that it outlives every
// file that names it (a catalog keeping content of deleted runs).
func (tx *Tx) RefBlob(d Digest) error {
	res, err := tx.exec(`UPDATE blobs SET refcount = refcount + 1 WHERE hash = ?`, d[:])
	if err != nil {
		return fmt.Errorf("ref blob %s: %w", d, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("ref blob %s: %w", d, ErrNotFound)
	}
	return nil
}

// UnrefBlob drops a reference taken with RefBlob.
func (tx *Tx) UnrefBlob(d Digest) error {
	tx.touchTree() // may remove the blob a cached open refers to
	return tx.unrefBlob(d)
}

// GetAttr reads a node inside the transaction.
func (tx *Tx) GetAttr(ino uint64) (Attr, error) { return tx.getAttr(ino) }

// CreateBlobFile creates a read-only file named name in directory parent
// whose content is the existing blob d (of the given size), whatever the
// directory's read-only flag says: a reference, no copy.
func (tx *Tx) CreateBlobFile(parent uint64, name string, d Digest, size int64, mtime time.Time) (Attr, error) {
	tx.touchTree()
	if err := checkName(name); err != nil {
		return Attr{}, err
	}
	a, err := tx.mknod(parent, name, NewNode{Mode: syscall.S_IFREG | 0o444}, FlagReadOnly|FlagPinned)
	if err != nil {
		return a, fmt.Errorf("create %q: %w", name, err)
	}
	if err := tx.RefBlob(d); err != nil {
		return a, err
	}
	a.Blob, a.Size, a.Mtime = d, size, mtime
	_, err = tx.exec(`UPDATE nodes SET blob = ?, size = ?, mtime_ns = ? WHERE ino = ?`, d[:], size, mtime.UnixNano(), a.Ino)
	return a, err
}

// RenamePinned renames, within its directory, a file created with
// CreateBlobFile, whatever the directory's read-only flag says (the
// catalog renames an archive when the date in its name turns out wrong).
// It fails with ErrExists when the new name is taken.
func (tx *Tx) RenamePinned(parent uint64, from, to string) error {
	tx.touchTree()
	if err := checkName(to); err != nil {
		return err
	}
	src, err := tx.lookup(parent, from)
	if err != nil {
		return fmt.Errorf("rename %q: %w", from, err)
	}
	if src.Flags&FlagPinned == 0 || src.IsDir() {
		return fmt.Errorf("rename %q: %w", from, ErrPermission)
	}
	switch _, err := tx.lookup(parent, to); {
	case err == nil:
		return fmt.Errorf("rename %q to %q: %w", from, to, ErrExists)
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("rename %q to %q: %w", from, to, err)
	}
	return tx.moveEntry(parent, from, parent, to, src, time.Now().UnixNano())
}

// CreateFileOfBlob creates the ordinary regular file name (mode perm,
// writable and removable like any file) in directory parent whose content
// is the existing blob d of the given size: a reference, no copy. The live
// projection shows nirs4all's artifacts under runs/ this way. ErrExists
// when the name is taken; ErrNotFound when the blob is not in the store.
func (tx *Tx) CreateFileOfBlob(parent uint64, name string, d Digest, size int64, perm uint32, mtime time.Time) (Attr, error) {
	tx.touchTree()
	if err := checkName(name); err != nil {
		return Attr{}, err
	}
	var n int
	if err := tx.queryRow(`SELECT count(*) FROM blobs WHERE hash = ?`, d[:]).Scan(&n); err != nil || n == 0 {
		return Attr{}, fmt.Errorf("blob %s: %w", d, ErrNotFound)
	}
	a, err := tx.mknod(parent, name, NewNode{Mode: syscall.S_IFREG | perm&0o7777}, 0)
	if err != nil {
		return a, fmt.Errorf("create %q: %w", name, err)
	}
	if err := tx.RefBlob(d); err != nil {
		return a, err
	}
	a.Blob, a.Size, a.Mtime = d, size, mtime
	_, err = tx.exec(`UPDATE nodes SET blob = ?, size = ?, mtime_ns = ? WHERE ino = ?`, d[:], size, mtime.UnixNano(), a.Ino)
	return a, err
}
