package vfs

import (
	"context"
	"errors"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/n4ws/n4ws/backing"
)

// lastDirAttr keeps the last attributes a directory was seen with, so that
// a directory removed while open (rmdir, or replaced by rename) still
// answers fstat on its open descriptors, as a removed file does: same
// inode and mode, no links (go-fuse posixtest RenameOpenDir).
type lastDirAttr struct {
	mu   sync.Mutex
	attr backing.Attr
	seen bool
}

func (l *lastDirAttr) remember(a *backing.Attr) {
	l.mu.Lock()
	l.attr, l.seen = *a, true
	l.mu.Unlock()
}

func (l *lastDirAttr) get() (backing.Attr, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.attr, l.seen
}

var _ fs.NodeGetattrer = (*dirNode)(nil)

// Getattr answers from the store, or for a directory the store no longer
// has, from the last attributes seen with no links left.
func (n *dirNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	ctx = uninterruptible(ctx)
	if a, ok := n.fsys.cachedSelf(n.ino()); ok { // the GETATTR after each create or unlink in it
		n.last.remember(&a)
		fillAttr(&a, &out.Attr)
		out.SetTimeout(attrTimeout)
		return 0
	}
	a, err := n.attr(ctx)
	if errors.Is(err, backing.ErrNotFound) {
		if last, ok := n.last.get(); ok {
			last.Nlink = 0
			fillAttr(&last, &out.Attr)
			return 0
		}
	}
	if err != nil {
		return n.fsys.toErrno("getattr", n.ino(), err)
	}
	n.last.remember(&a)
	fillAttr(&a, &out.Attr)
	out.SetTimeout(attrTimeout)
	return 0
}
