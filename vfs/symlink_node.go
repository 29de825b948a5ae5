package vfs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
)

// symlinkNode is a stored symbolic link.
type symlinkNode struct {
	storedNode
}

var _ = (fs.NodeReadlinker)((*symlinkNode)(nil))

func (n *symlinkNode) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	ctx = uninterruptible(ctx)
	a, err := n.fsys.store().GetAttr(ctx, n.ino())
	if err != nil {
		return nil, n.fsys.toErrno("readlink", n.ino(), err)
	}
	return []byte(a.Target), 0
}
