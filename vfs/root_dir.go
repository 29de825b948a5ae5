package vfs

import (
	"context"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/n4ws/n4ws/backing"
)

// rootDir is the mount root: the stored skeleton (runs, exports, library,
// catalog) and artifacts/, merged with the native tree (nirs4all's
// store.sqlite, arrays/, logs/, ...). A name lives in one place: the index
// wins a lookup, new entries go to the native tree except artifacts/
// (backing.StoredRootName), and moves between the two are EXDEV, so mv
// copies.
type rootDir struct {
	dirNode
}

var (
	_ = (fs.NodeLookuper)((*rootDir)(nil))
	_ = (fs.NodeOpendirHandler)((*rootDir)(nil))
	_ = (fs.NodeCreater)((*rootDir)(nil))
	_ = (fs.NodeMkdirer)((*rootDir)(nil))
	_ = (fs.NodeMknoder)((*rootDir)(nil))
	_ = (fs.NodeSymlinker)((*rootDir)(nil))
	_ = (fs.NodeLinker)((*rootDir)(nil))
	_ = (fs.NodeUnlinker)((*rootDir)(nil))
	_ = (fs.NodeRmdirer)((*rootDir)(nil))
	_ = (fs.NodeRenamer)((*rootDir)(nil))
	_ = (fs.NodeTmpfiler)((*rootDir)(nil))
)

func newRootDir(f *fsys) *rootDir {
	return &rootDir{dirNode: dirNode{storedNode: storedNode{fsys: f}}}
}

func (r *rootDir) native() *nativeTree { return r.fsys.native }

func (r *rootDir) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ctx = uninterruptible(ctx)
	in, errno := r.dirNode.Lookup(ctx, name, out)
	if errno != syscall.ENOENT {
		return in, errno
	}
	return r.native().lookup(ctx, r.EmbeddedInode(), "", name, out)
}

// stored reports whether the index has name at the root, and refuses a
// new native entry with that name.
func (r *rootDir) stored(ctx context.Context, name string) bool {
	return r.native().storedAtRoot(ctx, name)
}

func (r *rootDir) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	ctx = uninterruptible(ctx)
	if r.stored(ctx, name) {
		return nil, nil, 0, syscall.EEXIST
	}
	return r.native().create(ctx, r.EmbeddedInode(), "", name, flags, mode, out)
}

// Mkdir makes artifacts/ in the index (content-addressed binaries) and
// every other folder in the native tree.
func (r *rootDir) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ctx = uninterruptible(ctx)
	if backing.StoredRootName(name) {
		var st syscall.Stat_t
		if _, err := statNative(r.native().abs(name), &st); err == nil {
			return nil, syscall.EEXIST
		}
		return r.dirNode.Mkdir(ctx, name, mode, out)
	}
	if r.stored(ctx, name) {
		return nil, syscall.EEXIST
	}
	return r.native().mkdir(ctx, r.EmbeddedInode(), "", name, mode, out)
}

func (r *rootDir) Mknod(ctx context.Context, name string, mode, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ctx = uninterruptible(ctx)
	if r.stored(ctx, name) {
		return nil, syscall.EEXIST
	}
	return r.native().mknod(ctx, r.EmbeddedInode(), "", name, mode, dev, out)
}

func (r *rootDir) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ctx = uninterruptible(ctx)
	if r.stored(ctx, name) {
		return nil, syscall.EEXIST
	}
	return r.native().symlink(ctx, r.EmbeddedInode(), "", target, name, out)
}

func (r *rootDir) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ctx = uninterruptible(ctx)
	if r.stored(ctx, name) {
		return nil, syscall.EEXIST
	}
	return r.native().link(ctx, r.EmbeddedInode(), "", target, name, out)
}

func (r *rootDir) Tmpfile(ctx context.Context, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	ctx = uninterruptible(ctx)
	return r.native().tmpfile(ctx, r.EmbeddedInode(), "", flags, mode, out)
}

func (r *rootDir) Unlink(ctx context.Context, name string) syscall.Errno {
	ctx = uninterruptible(ctx)
	if r.stored(ctx, name) {
		return r.dirNode.Unlink(ctx, name)
	}
	return r.native().unlink("", name)
}

func (r *rootDir) Rmdir(ctx context.Context, name string) syscall.Errno {
	ctx = uninterruptible(ctx)
	if r.stored(ctx, name) {
		return r.dirNode.Rmdir(ctx, name)
	}
	return r.native().rmdir("", name)
}

// Rename of a root entry: native entries move within the native tree; the
// skeleton keeps its refusal (pinned); artifacts/ cannot leave the index
// under another name, so it is EXDEV (mv copies, then removes).
func (r *rootDir) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	ctx = uninterruptible(ctx)
	a, err := r.fsys.store().Lookup(ctx, backing.RootIno, name)
	if err != nil {
		return r.native().rename(ctx, "", name, newParent, newName, flags)
	}
	return crossDevice(&a)
}

// intoNative reports whether a rename or link into newParent/newName lands
// in the native tree.
func intoNative(newParent fs.InodeEmbedder, newName string) bool {
	switch newParent.(type) {
	case *nativeNode:
		return true
	case *rootDir:
		return !backing.StoredRootName(newName)
	}
	return false
}

// crossDevice answers the move of stored entry a out of the index: EXDEV,
// so that mv copies and removes, except for the pinned skeleton, whose
// content mv would otherwise empty.
func crossDevice(a *backing.Attr) syscall.Errno {
	if a.Flags&backing.FlagPinned != 0 {
		return syscall.EPERM
	}
	return syscall.EXDEV
}

// OpendirHandle lists the stored entries, then the native ones.
func (r *rootDir) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return &rootHandle{root: r}, 0, 0
}
