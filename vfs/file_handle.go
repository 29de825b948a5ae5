package vfs

import (
	"context"
	"errors"
	"io"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/n4ws/n4ws/backing"
)

// blobHandle reads committed content straight from its immutable blob.
type blobHandle struct {
	of     *openFile      // read only
	node   *fileNode      // read only
	blob   *backing.Blob  // read only; nil for an empty file
	digest backing.Digest // read only
}

var (
	_ = (fs.FileReader)((*blobHandle)(nil))
	_ = (fs.FileReleaser)((*blobHandle)(nil))
)

func (h *blobHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	ctx = uninterruptible(ctx)
	if h.blob == nil {
		return fuse.ReadResultData(nil), 0
	}
	h.of.fsys.blobReads.Add(1)
	n, err := h.blob.ReadAt(dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, h.of.fsys.toErrno("read", h.of.ino, err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (h *blobHandle) Release(ctx context.Context) syscall.Errno {
	ctx = uninterruptible(ctx)
	return h.release(ctx, false)
}

func (h *blobHandle) release(ctx context.Context, passthrough bool) syscall.Errno {
	if h.blob != nil {
		h.blob.Close()
	}
	h.node.state().pt.endHandle(passthrough)
	return h.of.fsys.toErrno("release", h.of.ino, h.of.fsys.release(ctx, h.of, false))
}

// passthroughHandle lets the kernel read the blob itself. go-fuse asks for
// the descriptor on the inode's first passthrough open and shares that
// backing file with every later one until all are released; openFile's
// passthrough bookkeeping makes sure they all want the same blob.
type passthroughHandle struct {
	blobHandle
}

var _ = (fs.FilePassthroughFder)((*passthroughHandle)(nil))

func (h *passthroughHandle) PassthroughFd() (int, bool) { return int(h.blob.File().Fd()), true }

func (h *passthroughHandle) Release(ctx context.Context) syscall.Errno {
	ctx = uninterruptible(ctx)
	return h.blobHandle.release(ctx, true)
}

// spoolHandle reads and writes the file's shared spool.
type spoolHandle struct {
	of     *openFile // read only
	node   *fileNode // read only
	writer bool      // read only
}

var (
	_ = (fs.FileReader)((*spoolHandle)(nil))
	_ = (fs.FileWriter)((*spoolHandle)(nil))
	_ = (fs.FileFlusher)((*spoolHandle)(nil))
	_ = (fs.FileReleaser)((*spoolHandle)(nil))
	_ = (fs.FileAllocater)((*spoolHandle)(nil))
)

func (h *spoolHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	ctx = uninterruptible(ctx)
	n, err := h.of.read(dest, off)
	if err != nil {
		return nil, h.of.fsys.toErrno("read", h.of.ino, err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (h *spoolHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	ctx = uninterruptible(ctx)
	if !h.writer {
		return 0, syscall.EBADF
	}
	if err := h.of.killSetID(ctx); err != nil {
		return 0, h.of.fsys.toErrno("write", h.of.ino, err)
	}
	n, err := h.of.write(data, off)
	if n > 0 {
		return uint32(n), 0 // a short write; the caller's next one gets the error
	}
	return 0, h.of.fsys.toErrno("write", h.of.ino, err)
}

// Flush runs on every close(2): committing here is what makes "close
// returned" mean "stored".
func (h *spoolHandle) Flush(ctx context.Context) syscall.Errno {
	ctx = uninterruptible(ctx)
	if !h.writer {
		return 0
	}
	return h.of.fsys.toErrno("flush", h.of.ino, h.of.commit(ctx))
}

func (h *spoolHandle) Release(ctx context.Context) syscall.Errno {
	ctx = uninterruptible(ctx)
	h.node.state().pt.endHandle(false)
	return h.of.fsys.toErrno("release", h.of.ino, h.of.fsys.release(ctx, h.of, h.writer))
}
