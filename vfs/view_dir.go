package vfs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/n4ws/n4ws/catalog"
)

// viewDir is a computed folder (exports/<dataset>/): its entries are the
// catalog's views of that path. Nothing can be written in it.
type viewDir struct {
	fs.Inode
	fsys *fsys  // read only
	path string // read only: overlay path of this folder
}

var (
	_ = (fs.NodeGetattrer)((*viewDir)(nil))
	_ = (fs.NodeLookuper)((*viewDir)(nil))
	_ = (fs.NodeReaddirer)((*viewDir)(nil))
	_ = (fs.NodeCreater)((*viewDir)(nil))
	_ = (fs.NodeMkdirer)((*viewDir)(nil))
	_ = (fs.NodeMknoder)((*viewDir)(nil))
	_ = (fs.NodeSymlinker)((*viewDir)(nil))
	_ = (fs.NodeLinker)((*viewDir)(nil))
	_ = (fs.NodeUnlinker)((*viewDir)(nil))
	_ = (fs.NodeRmdirer)((*viewDir)(nil))
	_ = (fs.NodeRenamer)((*viewDir)(nil))
	_ = (fs.NodeSetattrer)((*viewDir)(nil))
)

func (n *viewDir) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	ctx = uninterruptible(ctx)
	v, errno := n.self(ctx)
	if errno != 0 {
		return errno
	}
	if err := n.fsys.fillViewAttr(&v, n.StableAttr().Ino, &out.Attr); err != nil {
		return n.fsys.toErrno("getattr view", n.StableAttr().Ino, err)
	}
	out.SetTimeout(0)
	return 0
}

// self finds this folder among its parent's views.
func (n *viewDir) self(ctx context.Context) (v catalog.View, errno syscall.Errno) {
	parent, name := splitLast(n.path)
	views, err := n.fsys.cat.Overlay(ctx, parent)
	if err != nil {
		return v, n.fsys.toErrno("view", n.StableAttr().Ino, err)
	}
	v, ok := findView(views, name)
	if !ok {
		return v, syscall.ENOENT
	}
	return v, 0
}

func (n *viewDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ctx = uninterruptible(ctx)
	views, err := n.fsys.cat.Overlay(ctx, n.path)
	if err != nil {
		return nil, n.fsys.toErrno("lookup", n.StableAttr().Ino, err)
	}
	v, ok := findView(views, name)
	if !ok {
		return nil, syscall.ENOENT
	}
	return n.fsys.viewEntry(ctx, n.EmbeddedInode(), n.path, &v, out)
}

func (n *viewDir) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	ctx = uninterruptible(ctx)
	views, err := n.fsys.cat.Overlay(ctx, n.path)
	if err != nil {
		return nil, n.fsys.toErrno("readdir", n.StableAttr().Ino, err)
	}
	list := []fuse.DirEntry{{Name: ".", Mode: syscall.S_IFDIR}, {Name: "..", Mode: syscall.S_IFDIR}}
	for _, v := range views {
		list = append(list, viewDirEntry(n.path, &v))
	}
	return fs.NewListDirStream(list), 0
}

// Everything that would change a computed folder is refused.

func (n *viewDir) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EROFS
}
func (n *viewDir) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (n *viewDir) Mknod(ctx context.Context, name string, mode, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (n *viewDir) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (n *viewDir) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (n *viewDir) Unlink(ctx context.Context, name string) syscall.Errno { return syscall.EROFS }
func (n *viewDir) Rmdir(ctx context.Context, name string) syscall.Errno  { return syscall.EROFS }
func (n *viewDir) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return syscall.EROFS
}
func (n *viewDir) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}
