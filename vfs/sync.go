package vfs

import (
	"context"
	"errors"
)

// syncFile makes file ino's committed content and the index durable.
func (f *fsys) syncFile(ctx context.Context, ino uint64) error {
	a, err := f.store.GetAttr(ctx, ino)
	if err != nil {
		return err
	}
	if !a.Blob.IsZero() {
		if err := f.store.SyncBlob(a.Blob); err != nil {
			return err
		}
	}
	return f.store.Sync(ctx)
}

func joinErr(a, b error) error { return errors.Join(a, b) }
