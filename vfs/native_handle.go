package vfs

import (
	"context"
	"os"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// nativeHandle is an open native file: go-fuse's LoopbackFile (reads,
// writes, fsync, fallocate, lseek on the backing descriptor) that reports
// changes and offers passthrough.
//
// Passthrough and go-fuse 2.12.1: go-fuse registers one backing file per
// inode with the first passthrough open, gives its id to every later open
// and drops its reference on the release of ANY handle of the inode
// (vfs/passthrough.go). That bites stored files, whose handles are mixed;
// here every handle of a native inode offers passthrough, so every open
// takes a reference and every release returns one, and the backing file
// stays registered exactly while some handle is open. The kernel reopens
// the registered file with each caller's own flags, so one read-only
// registration serves writers too, and no open is ever refused for mixing
// passthrough with cached I/O.
type nativeHandle struct {
	*fs.LoopbackFile
	node   *nativeNode // read only
	writer bool        // read only: opened for writing
}

var (
	_ = (fs.FilePassthroughFder)((*nativeHandle)(nil))
	_ = (fs.FileFlusher)((*nativeHandle)(nil))
	_ = (fs.FileFsyncer)((*nativeHandle)(nil))
	_ = (fs.FileAllocater)((*nativeHandle)(nil))
)

func (t *nativeTree) newHandle(n *nativeNode, f *os.File, flags uint32) *nativeHandle {
	return &nativeHandle{
		LoopbackFile: fs.NewLoopbackFileFromOS(f),
		node:         n,
		writer:       flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0,
	}
}

// PassthroughFd offers the backing descriptor unless passthrough is off.
func (h *nativeHandle) PassthroughFd() (int, bool) {
	if !h.node.tree.passthrough {
		return 0, false
	}
	return h.LoopbackFile.PassthroughFd()
}

// Flush (every close) of a handle that could write is a change: with
// passthrough the writes themselves never reach us.
func (h *nativeHandle) Flush(ctx context.Context) syscall.Errno {
	errno := h.LoopbackFile.Flush(ctx)
	if h.writer {
		h.node.tree.changed(h.node.rel())
	}
	return errno
}

// Fsync is how SQLite commits (synchronous=FULL syncs the WAL on every
// commit), so it is the signal the live projection waits for.
//
// fdatasync stays fdatasync (FUSE_FSYNC_FDATASYNC): LoopbackFile would
// fsync, which also commits the mtime to the journal, several times slower
// per SQLite commit on ext4.
func (h *nativeHandle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	fd, _ := h.LoopbackFile.PassthroughFd() // the descriptor, whatever the mode
	var err error
	if flags&fsyncDataOnly != 0 {
		err = syscall.Fdatasync(fd)
	} else {
		err = syscall.Fsync(fd)
	}
	h.node.tree.changed(h.node.rel())
	return fs.ToErrno(err)
}

// fsyncDataOnly is FUSE_FSYNC_FDATASYNC in fsync_flags.
const fsyncDataOnly = 1

func (h *nativeHandle) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	errno := h.LoopbackFile.Allocate(ctx, off, size, mode)
	if errno == 0 {
		h.node.tree.changed(h.node.rel())
	}
	return errno
}

// nativeDirHandle lists a native folder from the backing folder, with the
// inode numbers the mount uses.
type nativeDirHandle struct {
	ds fs.DirStream
}

var (
	_ = (fs.FileReaddirenter)((*nativeDirHandle)(nil))
	_ = (fs.FileSeekdirer)((*nativeDirHandle)(nil))
	_ = (fs.FileReleasedirer)((*nativeDirHandle)(nil))
	_ = (fs.FileFsyncdirer)((*nativeDirHandle)(nil))
)

func (h *nativeDirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	r, ok := h.ds.(fs.FileReaddirenter)
	if !ok {
		return nil, syscall.ENOTSUP
	}
	de, errno := r.Readdirent(ctx)
	if de != nil {
		d := *de
		d.Ino = nativeIno(d.Ino)
		return &d, errno
	}
	return de, errno
}

func (h *nativeDirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	if s, ok := h.ds.(fs.FileSeekdirer); ok {
		return s.Seekdir(ctx, off)
	}
	return syscall.ENOTSUP
}

func (h *nativeDirHandle) Releasedir(ctx context.Context, flags uint32) {
	if r, ok := h.ds.(fs.FileReleasedirer); ok {
		r.Releasedir(ctx, flags)
		return
	}
	h.ds.Close()
}

func (h *nativeDirHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	if s, ok := h.ds.(fs.FileFsyncdirer); ok {
		return s.Fsyncdir(ctx, flags)
	}
	return 0
}
