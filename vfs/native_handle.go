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
	tree   *nativeTree // read only
	writer bool        // read only: opened for writing
}

var (
	_ = (fs.FilePassthroughFder)((*nativeHandle)(nil))
)

func (t *nativeTree) newHandle(f *os.File, flags uint32) *nativeHandle {
	return &nativeHandle{
		LoopbackFile: fs.NewLoopbackFileFromOS(f),
		tree:         t,
		writer:       flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0,
	}
}

// PassthroughFd offers the backing descriptor unless passthrough is off.
func (h *nativeHandle) PassthroughFd() (int, bool) {
	if !h.tree.passthrough {
		return 0, false
	}
	return h.LoopbackFile.PassthroughFd()
}

// flush, fsync and allocate act on the backing descriptor; the node
// (nativeNode's Flush, Fsync, Allocate) reports the change, because only
// the node go-fuse kept knows the file's path: a create that raced another
// one is answered with the winner's node, not the one the handle was made
// with.

func (h *nativeHandle) flush(ctx context.Context) syscall.Errno { return h.LoopbackFile.Flush(ctx) }

// fsync keeps fdatasync a data-only sync (FUSE_FSYNC_FDATASYNC):
// LoopbackFile would fsync, which also commits the mtime to the journal,
// several times slower per SQLite commit on ext4.
func (h *nativeHandle) fsync(flags uint32) syscall.Errno {
	fd, _ := h.LoopbackFile.PassthroughFd() // the descriptor, whatever the mode
	if flags&fsyncDataOnly != 0 {
		return fs.ToErrno(syscall.Fdatasync(fd))
	}
	return fs.ToErrno(syscall.Fsync(fd))
}

// fsyncDataOnly is FUSE_FSYNC_FDATASYNC in fsync_flags.
const fsyncDataOnly = 1

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
