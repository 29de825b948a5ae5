package vfs

import (
	"context"
	"errors"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
)

var _ = (fs.NodeFsyncer)((*fileNode)(nil))

// Fsync serves fsync(2) and fdatasync(2) on any descriptor of the file,
// read-only ones included (POSIX allows them, and `sync FILE` uses one):
// content still being written is committed, then the file's blob and the
// index reach the disk. The index holds every name and attribute, so there
// is no separate metadata-only path for fdatasync.
func (n *fileNode) Fsync(ctx context.Context, fh fs.FileHandle, flags uint32) syscall.Errno {
	ctx = uninterruptible(ctx)
	f := n.fsys
	if of := f.openFileOf(n.ino()); of != nil {
		if err := of.commit(ctx); err != nil {
			return f.toErrno("fsync", n.ino(), err)
		}
	}
	return f.toErrno("fsync", n.ino(), f.syncFile(ctx, n.ino()))
}

// syncFile makes file ino's committed content and the index durable.
func (f *fsys) syncFile(ctx context.Context, ino uint64) error {
	a, err := f.store().GetAttr(ctx, ino)
	if err != nil {
		return err
	}
	if !a.Blob.IsZero() {
		if err := f.store().SyncBlob(a.Blob); err != nil {
			return err
		}
	}
	return f.store().Sync(ctx)
}

func joinErr(a, b error) error { return errors.Join(a, b) }
