package backing

import (
	"crypto/sha256"
	"fmt"
	"syscall"
	"time"
)

// Bulk writes: a writer that fills a store directly in large transactions
// (the scale bench's generator) creates folders and small files with these,
// many per Store.Update. Each one is what Mkdir or WriteFile does, without
// the transaction of its own.

// Mkdir creates the directory name (permission bits perm) in parent.
// ErrExists when the name is taken.
func (tx *Tx) Mkdir(parent uint64, name string, perm uint32) (Attr, error) {
	if err := checkName(name); err != nil {
		return Attr{}, err
	}
	a, err := tx.mknod(parent, name, tx.s.newNode(syscall.S_IFDIR|perm&0o7777), 0)
	if err != nil {
		return a, fmt.Errorf("mkdir %q: %w", name, err)
	}
	return a, nil
}

// CreateSmallFile creates the regular file name (permission bits perm) in
// parent holding data, stored inline in the index: data must fit
// (InlineMax). ErrExists when the name is taken.
func (tx *Tx) CreateSmallFile(parent uint64, name string, perm uint32, data []byte, mtime time.Time) (Attr, error) {
	if err := checkName(name); err != nil {
		return Attr{}, err
	}
	if int64(len(data)) > tx.s.opts.InlineMax {
		return Attr{}, fmt.Errorf("create %q: %d bytes is not small: %w", name, len(data), ErrInvalid)
	}
	a, err := tx.mknod(parent, name, tx.s.newNode(syscall.S_IFREG|perm&0o7777), 0)
	if err != nil {
		return a, fmt.Errorf("create %q: %w", name, err)
	}
	c := Content{Data: data, Size: int64(len(data)), Mtime: mtime}
	if len(data) > 0 {
		c.Digest = sha256.Sum256(data)
	}
	return tx.commitContent(a.Ino, c)
}
