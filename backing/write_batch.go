package backing

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"syscall"
	"time"
)

// Writing many small files held in memory inside one write transaction.
// Store.WriteFile costs a spool file and a transaction of its own per file
// (about 4 ms here, most of it the commit and the catalog's refresh that
// every commit kicks); a caller that writes a batch of small generated
// files (the live projection: a few hundred per pass) writes them all, and
// records its own state, in one Store.Update instead.

// PutData stores data as a blob ahead of a transaction that will name it
// (Tx.WriteData), so that a remote blob store's upload does not run while
// the store's write lock is held. Data small enough for the index, and a
// local blob folder (whose blob is placed inside the transaction, with no
// network wait), need nothing: it returns at once.
func (s *Store) PutData(ctx context.Context, data []byte) error {
	if s.local != nil || int64(len(data)) <= s.opts.InlineMax {
		return nil
	}
	d := Digest(sha256.Sum256(data))
	if _, err := s.blobs.Stat(ctx, d); err == nil {
		return nil // stored already
	}
	if err := s.blobs.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
		return fmt.Errorf("upload blob %s: %w", d, err)
	}
	return nil
}

// Mknod is Store.Mknod inside the transaction.
func (tx *Tx) Mknod(parent uint64, name string, n NewNode) (Attr, error) {
	tx.touchTree()
	if err := checkName(name); err != nil {
		return Attr{}, fmt.Errorf("create %q: %w", name, err)
	}
	a, err := tx.mknod(parent, name, n, 0)
	if err != nil {
		return a, fmt.Errorf("create %q in %d: %w", name, parent, err)
	}
	return a, nil
}

// MkdirAll is Store.MkdirAll inside the transaction: it creates directory
// p and its missing parents (permission bits mode) and returns p's
// attributes; existing directories are left as they are.
func (tx *Tx) MkdirAll(p string, mode uint32) (Attr, error) {
	tx.touchTree()
	a, err := tx.getAttr(RootIno)
	if err != nil {
		return a, fmt.Errorf("mkdir -p %q: %w", p, err)
	}
	for _, name := range splitPath(p) {
		if !a.IsDir() {
			return a, fmt.Errorf("mkdir -p %q: %w", p, ErrNotDir)
		}
		next, err := tx.lookup(a.Ino, name)
		if err == ErrNotFound {
			if err := checkName(name); err != nil {
				return a, fmt.Errorf("mkdir -p %q: %w", p, err)
			}
			next, err = tx.mknod(a.Ino, name, tx.s.newNode(syscall.S_IFDIR|mode&0o7777), 0)
		}
		if err != nil {
			return a, fmt.Errorf("mkdir -p %q: %w", p, err)
		}
		a = next
	}
	if !a.IsDir() {
		return a, fmt.Errorf("mkdir -p %q: %w", p, ErrNotDir)
	}
	return a, nil
}

// WriteData is Store.WriteFile of content held in memory, inside the
// transaction: it stores data as the content of the regular file name in
// directory parent, creating it (permission bits mode) or replacing the
// content of the file there (its mode unchanged). A zero mtime means now.
// The bytes go into the index when small, else into the blob store within
// the transaction (with a remote store, call Store.PutData first).
func (tx *Tx) WriteData(parent uint64, name string, data []byte, mode uint32, mtime time.Time) (Attr, error) {
	tx.touchTree()
	if err := checkName(name); err != nil {
		return Attr{}, fmt.Errorf("write %q: %w", name, err)
	}
	c := Content{Data: data, Size: int64(len(data)), Mtime: mtime}
	if len(data) > 0 {
		c.Digest = Digest(sha256.Sum256(data))
	}
	dir, err := tx.getAttr(parent)
	if err != nil {
		return Attr{}, fmt.Errorf("write %q in %d: %w", name, parent, err)
	}
	old, err := tx.lookup(parent, name)
	exists := err == nil
	switch {
	case err != nil && err != ErrNotFound:
		return Attr{}, fmt.Errorf("write %q in %d: %w", name, parent, err)
	case dir.Flags&FlagReadOnly != 0 || exists && old.Flags&FlagReadOnly != 0:
		return Attr{}, fmt.Errorf("write %q in %d: %w", name, parent, ErrReadOnly)
	case exists && old.IsDir():
		return Attr{}, fmt.Errorf("write %q in %d: %w", name, parent, ErrIsDir)
	case exists && !old.IsRegular():
		return Attr{}, fmt.Errorf("write %q in %d: not a regular file: %w", name, parent, ErrInvalid)
	}
	ino := old.Ino
	if !exists {
		made, err := tx.mknod(parent, name, tx.s.newNode(syscall.S_IFREG|mode&0o7777), 0)
		if err != nil {
			return Attr{}, fmt.Errorf("create %q in %d: %w", name, parent, err)
		}
		ino = made.Ino
	}
	a, err := tx.commitContent(ino, c)
	if err != nil {
		return a, fmt.Errorf("write %q in %d: %w", name, parent, err)
	}
	return a, nil
}
