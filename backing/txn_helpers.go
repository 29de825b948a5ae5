package backing

import (
	"database/sql"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Helpers used inside write transactions. They return bare sentinel errors;
// the exported operation wraps them with its own context once.

func nowNs() int64 { return time.Now().UnixNano() }

func (tx *txn) getAttr(ino uint64) (Attr, error) {
	return scanAttr(tx.prepared(tx.s.wstmts.getAttr).QueryRowContext(tx.ctx, ino))
}

// prepared returns the writer's statement st for use in this transaction.
func (tx *txn) prepared(st *sql.Stmt) *sql.Stmt { return tx.StmtContext(tx.ctx, st) }

// lookupQuery is built once: the lookup of rm -rf's every step.
var lookupQuery = `SELECT ` + prefixed("n.", nodeColumns) + `
		FROM entries e JOIN nodes n ON n.ino = e.child WHERE e.parent = ? AND e.name = ?`

func (tx *txn) lookup(parent uint64, name string) (Attr, error) {
	return scanAttr(tx.prepared(tx.s.wstmts.lookup).QueryRowContext(tx.ctx, parent, []byte(name)))
}

// writableDir returns the attributes of parent after checking that entries
// may be added to or removed from it.
func (tx *txn) writableDir(parent uint64) (Attr, error) {
	p, err := tx.getAttr(parent)
	if err != nil {
		return p, err
	}
	if !p.IsDir() {
		return p, ErrNotDir
	}
	if p.Flags&FlagReadOnly != 0 {
		return p, ErrReadOnly
	}
	return p, nil
}

// nodeValues gives node a's values for nodeDataColumns.
func nodeValues(a Attr) []any {
	return []any{a.Mode, a.Uid, a.Gid, a.Size, a.Nlink, a.Atime.UnixNano(), a.Mtime.UnixNano(), a.Ctime.UnixNano(),
		a.Rdev, a.Flags, a.Blob.dbValue(), nullableString(a.Target)}
}

// insertNode inserts node a under a new number, which it returns.
func (tx *txn) insertNode(a Attr) (uint64, error) {
	id, err := tx.insertID("ino", `INSERT INTO nodes (`+nodeDataColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		nodeValues(a)...)
	return uint64(id), err
}

// insertNodeAt inserts node a under its number a.Ino, reserved beforehand
// (create_later.go).
func (tx *txn) insertNodeAt(a Attr) error {
	_, err := tx.exec(`INSERT INTO nodes (`+nodeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		append([]any{a.Ino}, nodeValues(a)...)...)
	return err
}

// insertID runs an INSERT and returns the generated integer key (column
// key) of the new row, the way the index engine knows how.
func (tx *txn) insertID(key, query string, args ...any) (int64, error) {
	return tx.s.idx.InsertID(tx.ctx, tx.Tx, key, query, args...)
}

func nullableString(s string) any {
	if s == "" {
		return nil
	}
	return []byte(s)
}

func (tx *txn) addEntry(parent uint64, name string, child uint64) error {
	_, err := tx.exec(`INSERT INTO entries (parent, name, child) VALUES (?, ?, ?)`, parent, []byte(name), child)
	tx.noteEntry(parent, name)
	return err
}

// addNewEntry is addEntry of a name its caller did not look up first: a
// taken one, which the entries' primary key refuses, is ErrExists.
func (tx *txn) addNewEntry(parent uint64, name string, child uint64) error {
	err := tx.addEntry(parent, name, child)
	if err != nil && tx.s.idx.IsConflict(err) {
		return ErrExists
	}
	return err
}

func (tx *txn) removeEntry(parent uint64, name string) error {
	_, err := tx.exec(`DELETE FROM entries WHERE parent = ? AND name = ?`, parent, []byte(name))
	tx.noteEntry(parent, name)
	return err
}

// touchDir records that a directory's entries changed: mtime and ctime now,
// and nlink moved by dirDelta (a subdirectory added or removed).
func (tx *txn) touchDir(ino uint64, now int64, dirDelta int) error {
	_, err := tx.exec(`UPDATE nodes SET mtime_ns = ?, ctime_ns = ?, nlink = nlink + ? WHERE ino = ?`, now, now, dirDelta, ino)
	return err
}

// touchWritableDir is writableDir and touchDir in one statement: the
// update returns the directory's type and flags, and the caller's
// transaction is rolled back when they forbid the change.
func (tx *txn) touchWritableDir(ino uint64, now int64, dirDelta int) error {
	var mode uint32
	var flags NodeFlags
	err := tx.queryRow(`UPDATE nodes SET mtime_ns = ?, ctime_ns = ?, nlink = nlink + ? WHERE ino = ? RETURNING mode, flags`,
		now, now, dirDelta, ino).Scan(&mode, &flags)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	case !isType(mode, syscall.S_IFDIR):
		return ErrNotDir
	case flags&FlagReadOnly != 0:
		return ErrReadOnly
	}
	return nil
}

// dropLink removes one link of node a. A directory is deleted at once (it has
// one link and no open data); a file with no links left stays until Purge,
// since the mount may still hold it open.
func (tx *txn) dropLink(a Attr, now int64) error {
	if a.IsDir() {
		if _, err := tx.exec(`DELETE FROM xattrs WHERE ino = ?`, a.Ino); err != nil {
			return err
		}
		_, err := tx.exec(`DELETE FROM nodes WHERE ino = ?`, a.Ino)
		return err
	}
	_, err := tx.exec(`UPDATE nodes SET nlink = nlink - 1, ctime_ns = ? WHERE ino = ?`, now, a.Ino)
	tx.noteIno(a.Ino)
	return err
}

// isEmptyDir reports whether directory ino has no entries.
func (tx *txn) isEmptyDir(ino uint64) (bool, error) {
	var n int
	err := tx.queryRow(`SELECT count(*) FROM (SELECT 1 FROM entries WHERE parent = ? LIMIT 1) AS one`, ino).Scan(&n)
	return n == 0, err
}

// isAncestor reports whether directory anc is dir or one of its ancestors.
func (tx *txn) isAncestor(anc, dir uint64) (bool, error) {
	for {
		if dir == anc {
			return true, nil
		}
		if dir == RootIno {
			return false, nil
		}
		if err := tx.queryRow(`SELECT parent FROM entries WHERE child = ? LIMIT 1`, dir).Scan(&dir); err != nil {
			return false, fmt.Errorf("walk up from %d: %w", dir, err)
		}
	}
}

// refBlob adds a reference to blob d of the given size.
func (tx *txn) refBlob(d Digest, size int64) error {
	if d.IsZero() {
		return nil
	}
	_, err := tx.exec(`INSERT INTO blobs (hash, size, refcount) VALUES (?, ?, 1)
		ON CONFLICT (hash) DO UPDATE SET refcount = blobs.refcount + 1`, d[:], size)
	return err
}

// unrefBlob drops a reference; a blob at zero references becomes garbage
// that gc removes (see the package comment for why not here).
func (tx *txn) unrefBlob(d Digest) error {
	if d.IsZero() {
		return nil
	}
	_, err := tx.exec(`UPDATE blobs SET refcount = refcount - 1 WHERE hash = ?`, d[:])
	return err
}

func isType(mode uint32, t uint32) bool { return mode&syscall.S_IFMT == t }
