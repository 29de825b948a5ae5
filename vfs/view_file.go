package vfs

import (
	"context"
	"errors"
	"io"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
)

// viewFile is a computed, read-only file: its bytes come from the catalog
// (rendered) or are a stored blob (a byte copy such as best_*.csv).
type viewFile struct {
	fs.Inode
	fsys *fsys  // read only
	dir  string // read only: overlay path of the folder
	name string // read only
}

var (
	_ = (fs.NodeGetattrer)((*viewFile)(nil))
	_ = (fs.NodeSetattrer)((*viewFile)(nil))
	_ = (fs.NodeOpener)((*viewFile)(nil))
	_ = (fs.NodeGetxattrer)((*viewFile)(nil))
)

// view returns the file's current view; ENOENT once the catalog no longer
// computes it (the best moved to another pipeline).
func (n *viewFile) view(ctx context.Context) (catalog.View, syscall.Errno) {
	views, err := n.fsys.cat.Overlay(ctx, n.dir)
	if err != nil {
		return catalog.View{}, n.fsys.toErrno("view", n.StableAttr().Ino, err)
	}
	v, ok := findView(views, n.name)
	if !ok {
		return v, syscall.ENOENT
	}
	return v, 0
}

func (n *viewFile) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	ctx = uninterruptible(ctx)
	v, errno := n.view(ctx)
	if errno != 0 {
		return errno
	}
	if err := n.fsys.fillViewAttr(&v, n.StableAttr().Ino, &out.Attr); err != nil {
		return n.fsys.toErrno("getattr view", n.StableAttr().Ino, err)
	}
	out.SetTimeout(0)
	return 0
}

func (n *viewFile) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}

// Open takes a snapshot: the handle reads the content as it was at open,
// whatever the catalog does meanwhile. Direct I/O keeps the kernel from
// mixing pages of two generations.
func (n *viewFile) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	ctx = uninterruptible(ctx)
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0 {
		return nil, 0, syscall.EROFS
	}
	v, errno := n.view(ctx)
	if errno != 0 {
		return nil, 0, errno
	}
	data, size, err := v.Reader()
	if err != nil {
		return nil, 0, n.fsys.toErrno("open view", n.StableAttr().Ino, err)
	}
	h := &viewHandle{data: data, size: size}
	if !v.Blob.IsZero() {
		b, err := n.fsys.store().OpenBlob(ctx, v.Blob)
		if err != nil {
			return nil, 0, n.fsys.toErrno("open view", n.StableAttr().Ino, err)
		}
		h.blob = b
	}
	return h, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, 0
}

func (n *viewFile) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENODATA
}

// viewHandle reads one snapshot of a computed file.
type viewHandle struct {
	data io.ReaderAt   // read only: rendered content (in memory or a spill file)
	size int64         // read only
	blob *backing.Blob // read only; nil for rendered content
}

var (
	_ = (fs.FileReader)((*viewHandle)(nil))
	_ = (fs.FileReleaser)((*viewHandle)(nil))
)

func (h *viewHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if h.blob != nil {
		n, _ := h.blob.ReadAt(dest, off) // a short read is EOF
		return fuse.ReadResultData(dest[:n]), 0
	}
	if off >= h.size {
		return fuse.ReadResultData(nil), 0
	}
	n, err := h.data.ReadAt(dest[:min(int64(len(dest)), h.size-off)], off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, syscall.EIO
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (h *viewHandle) Release(ctx context.Context) syscall.Errno {
	if h.blob != nil {
		h.blob.Close()
	}
	return 0
}

// fillViewAttr describes a computed entry: owned like the workspace root,
// read-only for everybody, with its exact size (rendering it if needed).
func (f *fsys) fillViewAttr(v *catalog.View, ino uint64, out *fuse.Attr) error {
	a := backing.Attr{Ino: ino, Mode: syscall.S_IFREG | 0o444, Nlink: 1,
		Uid: f.owner.Uid, Gid: f.owner.Gid, Mtime: v.Mtime, Ctime: v.Mtime, Atime: v.Mtime}
	if v.Dir {
		a.Mode, a.Nlink = syscall.S_IFDIR|0o555, 2
	} else {
		size, err := v.ExactSize()
		if err != nil {
			return err
		}
		a.Size = size
	}
	fillAttr(&a, out)
	return nil
}
