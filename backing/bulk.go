package backing

import (
	"fmt"
	"syscall"
)

// Bulk writes: a writer that fills a store directly in large transactions
// (the scale bench's generator) creates folders with Mkdir and files with
// Tx.WriteData (write_batch.go), many per Store.Update.

// Mkdir creates the directory name (permission bits perm) in parent.
// ErrExists when the name is taken.
func (tx *Tx) Mkdir(parent uint64, name string, perm uint32) (Attr, error) {
	tx.touchTree()
	if err := checkName(name); err != nil {
		return Attr{}, err
	}
	a, err := tx.mknod(parent, name, tx.s.newNode(syscall.S_IFDIR|perm&0o7777), 0)
	if err != nil {
		return a, fmt.Errorf("mkdir %q: %w", name, err)
	}
	return a, nil
}
