package vfs

import (
	"bytes"
	"context"
	"os"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// nativeNode is a file or folder of the native tree (nativeTree), served
// from the backing file at the same path below the store's native folder.
// It keeps go-fuse's LoopbackNode for attributes, xattrs, readlink and
// statfs, and replaces what must number nodes apart from the index's,
// report changes, refuse to cross into the index (EXDEV), or open with
// passthrough.
type nativeNode struct {
	fs.LoopbackNode
	tree *nativeTree // read only
}

var (
	_ = (fs.NodeLookuper)((*nativeNode)(nil))
	_ = (fs.NodeCreater)((*nativeNode)(nil))
	_ = (fs.NodeMkdirer)((*nativeNode)(nil))
	_ = (fs.NodeMknoder)((*nativeNode)(nil))
	_ = (fs.NodeSymlinker)((*nativeNode)(nil))
	_ = (fs.NodeLinker)((*nativeNode)(nil))
	_ = (fs.NodeUnlinker)((*nativeNode)(nil))
	_ = (fs.NodeRmdirer)((*nativeNode)(nil))
	_ = (fs.NodeRenamer)((*nativeNode)(nil))
	_ = (fs.NodeTmpfiler)((*nativeNode)(nil))
	_ = (fs.NodeOpener)((*nativeNode)(nil))
	_ = (fs.NodeOpendirHandler)((*nativeNode)(nil))
	_ = (fs.NodeGetattrer)((*nativeNode)(nil))
	_ = (fs.NodeSetattrer)((*nativeNode)(nil))
	_ = (fs.NodeStatxer)((*nativeNode)(nil))
	_ = (fs.NodeFlusher)((*nativeNode)(nil))
	_ = (fs.NodeFsyncer)((*nativeNode)(nil))
	_ = (fs.NodeAllocater)((*nativeNode)(nil))
	_ = (fs.NodeGetxattrer)((*nativeNode)(nil))
	_ = (fs.NodeSetxattrer)((*nativeNode)(nil))
	_ = (fs.NodeRemovexattrer)((*nativeNode)(nil))
	_ = (fs.NodeListxattrer)((*nativeNode)(nil))
)

// rel is the node's path relative to the mount root.
func (n *nativeNode) rel() string { return n.Path(n.Root()) }

func (n *nativeNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return n.tree.lookup(ctx, n.EmbeddedInode(), n.rel(), name, out)
}

func (n *nativeNode) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return n.tree.create(ctx, n.EmbeddedInode(), n.rel(), name, flags, mode, out)
}

func (n *nativeNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return n.tree.mkdir(ctx, n.EmbeddedInode(), n.rel(), name, mode, out)
}

func (n *nativeNode) Mknod(ctx context.Context, name string, mode, dev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return n.tree.mknod(ctx, n.EmbeddedInode(), n.rel(), name, mode, dev, out)
}

func (n *nativeNode) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return n.tree.symlink(ctx, n.EmbeddedInode(), n.rel(), target, name, out)
}

func (n *nativeNode) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return n.tree.link(ctx, n.EmbeddedInode(), n.rel(), target, name, out)
}

func (n *nativeNode) Unlink(ctx context.Context, name string) syscall.Errno {
	return n.tree.unlink(n.rel(), name)
}

func (n *nativeNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	return n.tree.rmdir(n.rel(), name)
}

func (n *nativeNode) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	return n.tree.rename(ctx, n.rel(), name, newParent, newName, flags)
}

func (n *nativeNode) Tmpfile(ctx context.Context, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return n.tree.tmpfile(ctx, n.EmbeddedInode(), n.rel(), flags, mode, out)
}

// Open opens the backing file. O_APPEND is left to the kernel (it sends
// explicit offsets, and passthrough reopens with the caller's flags).
func (n *nativeNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	p := n.tree.abs(n.rel())
	fd, err := syscall.Open(p, int(flags&^(syscall.O_APPEND|fuse.FMODE_EXEC))|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	var cleared bool
	if err == nil {
		cleared, err = truncKillsSetID(ctx, fd, flags)
	}
	if err != nil {
		if fd >= 0 {
			syscall.Close(fd)
		}
		return nil, 0, fs.ToErrno(err)
	}
	if cleared { // the kernel's cached mode still has the bits (forgetAttr)
		n.EmbeddedInode().NotifyContent(-1, 0)
	}
	return n.tree.newHandle(os.NewFile(uintptr(fd), p), flags), nativeOpenFlags, 0
}

// nativeOpenFlags: without passthrough the kernel caches native files'
// pages; they change only through the mount, so an open need not drop them
// (which would also unmap and refetch every page of SQLite's mmapped -shm).
// go-fuse clears the flag on passthrough opens.
const nativeOpenFlags = fuse.FOPEN_KEEP_CACHE

// Flush (every close) of a handle that could write is a change: with
// passthrough the writes themselves never reach the mount. A --durable
// mount makes it reach the disk, as it does for stored files.
func (n *nativeNode) Flush(ctx context.Context, f fs.FileHandle) syscall.Errno {
	h, ok := f.(*nativeHandle)
	if !ok {
		return 0
	}
	errno := h.flush(ctx)
	if h.writer {
		if errno == 0 && n.tree.fsys.durable {
			errno = h.fsync(fsyncDataOnly)
		}
		n.tree.changed(n.rel())
	}
	return errno
}

// Fsync is how SQLite commits (synchronous=FULL syncs the WAL on every
// commit), so it is the signal the live projection waits for.
func (n *nativeNode) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	h, ok := f.(*nativeHandle)
	if !ok {
		return syscall.EBADF
	}
	errno := h.fsync(flags)
	n.tree.changed(n.rel())
	return errno
}

func (n *nativeNode) Allocate(ctx context.Context, f fs.FileHandle, off, size uint64, mode uint32) syscall.Errno {
	h, ok := f.(*nativeHandle)
	if !ok {
		return syscall.EBADF
	}
	errno := h.LoopbackFile.Allocate(ctx, off, size, mode)
	if errno == 0 {
		n.tree.changed(n.rel())
	}
	return errno
}

func (n *nativeNode) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	ds, errno := fs.NewLoopbackDirStream(n.tree.abs(n.rel()))
	if errno != 0 {
		return nil, 0, errno
	}
	return &nativeDirHandle{ds: ds}, 0, 0
}

func (n *nativeNode) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	errno := n.LoopbackNode.Getattr(ctx, f, out)
	out.Ino = n.StableAttr().Ino
	return errno
}

// Setattr changes the backing file as root, so the set-ID bits a chown,
// an unprivileged truncate or write must clear (setid.go) are cleared here.
func (n *nativeNode) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	errno := n.LoopbackNode.Setattr(ctx, f, in, out)
	if errno == 0 && setattrClearsSetID(in) {
		errno = n.clearSetID()
		if errno == 0 {
			errno = n.LoopbackNode.Getattr(ctx, f, out)
		}
	}
	out.Ino = n.StableAttr().Ino
	if errno == 0 {
		n.tree.changed(n.rel())
	}
	return errno
}

// clearSetID clears the backing file's set-ID bits (clearNativeSetID).
func (n *nativeNode) clearSetID() syscall.Errno {
	fd, err := syscall.Open(n.tree.abs(n.rel()), unix.O_PATH|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fs.ToErrno(err)
	}
	defer syscall.Close(fd)
	return fs.ToErrno(clearNativeSetID(fd))
}

func (n *nativeNode) Statx(ctx context.Context, f fs.FileHandle, flags, mask uint32, out *fuse.StatxOut) syscall.Errno {
	errno := n.LoopbackNode.Statx(ctx, f, flags, mask, out)
	out.Ino = n.StableAttr().Ino
	return errno
}

// Extended attributes: user.* live on the backing file; the others
// (security labels, capabilities, ACLs) are not supported, as on stored
// nodes. The kernel asks for security.capability before every write
// (passthrough too), so that answer is the mount's hottest: it costs no
// system call.

func (n *nativeNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if !strings.HasPrefix(attr, "user.") {
		return 0, syscall.EOPNOTSUPP
	}
	return n.LoopbackNode.Getxattr(ctx, attr, dest)
}

func (n *nativeNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if !strings.HasPrefix(attr, "user.") {
		return syscall.EOPNOTSUPP
	}
	return n.LoopbackNode.Setxattr(ctx, attr, data, flags)
}

func (n *nativeNode) Removexattr(ctx context.Context, attr string) syscall.Errno {
	if !strings.HasPrefix(attr, "user.") {
		return syscall.EOPNOTSUPP
	}
	return n.LoopbackNode.Removexattr(ctx, attr)
}

// Listxattr lists the user.* attributes only.
func (n *nativeNode) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	size, errno := n.LoopbackNode.Listxattr(ctx, nil)
	if errno != 0 {
		return 0, errno
	}
	buf := make([]byte, size)
	if size > 0 {
		got, errno := n.LoopbackNode.Listxattr(ctx, buf)
		if errno != 0 {
			return 0, errno
		}
		buf = buf[:got]
	}
	var out []byte
	for _, name := range bytes.Split(buf, []byte{0}) {
		if bytes.HasPrefix(name, []byte("user.")) {
			out = append(append(out, name...), 0)
		}
	}
	return copyXattr(dest, out)
}
