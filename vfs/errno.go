package vfs

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"syscall"

	"github.com/n4ws/n4ws/backing"
)

// toErrno maps an error from the lower layers to the errno the kernel gets.
// It is the only place that decides; anything unexpected is logged once,
// here, and becomes EIO.
func (f *fsys) toErrno(op string, ino uint64, err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var errno syscall.Errno
	switch {
	case errors.Is(err, backing.ErrUnavailable):
		// A team store's server is down: EIO with the cause in the log,
		// whatever the cause's own error says.
	case errors.Is(err, backing.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return syscall.ENOENT
	case errors.Is(err, backing.ErrExists), errors.Is(err, fs.ErrExist):
		return syscall.EEXIST
	case errors.Is(err, backing.ErrNotEmpty):
		return syscall.ENOTEMPTY
	case errors.Is(err, backing.ErrNotDir):
		return syscall.ENOTDIR
	case errors.Is(err, backing.ErrIsDir):
		return syscall.EISDIR
	case errors.Is(err, backing.ErrReadOnly):
		return syscall.EROFS
	case errors.Is(err, backing.ErrPermission):
		return syscall.EPERM
	case errors.Is(err, backing.ErrInvalid):
		return syscall.EINVAL
	case errors.Is(err, backing.ErrNameTooLong):
		return syscall.ENAMETOOLONG
	case errors.Is(err, backing.ErrFileTooBig):
		return syscall.EFBIG
	case errors.Is(err, context.Canceled):
		return syscall.EINTR
	case errors.Is(err, context.DeadlineExceeded):
		return syscall.ETIMEDOUT
	case errors.As(err, &errno):
		if errno == syscall.ENOSPC || errno == syscall.EDQUOT || errno == syscall.EFBIG {
			return errno
		}
	case errors.Is(err, backing.ErrNoSpace): // the index could not grow
		return syscall.ENOSPC
	}
	f.log.Error("filesystem operation failed", slog.String("op", op), slog.Uint64("ino", ino), slog.Any("err", err))
	return syscall.EIO
}

// uninterruptible detaches a request's context from FUSE interrupts. The
// kernel sends INTERRUPT whenever the calling thread gets a signal, and Go
// programs get SIGURG all the time (goroutine preemption): a commit in
// FLUSH that gave up would turn close(2) into EINTR, which callers cannot
// retry. Every operation here is short, so each one completes.
func uninterruptible(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }
