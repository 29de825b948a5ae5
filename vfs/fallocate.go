package vfs

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/n4ws/n4ws/backing"
)

// fallocate(2) on an open file. Every mode the kernel forwards to a FUSE
// server is supported, on the content being written (memory or spool):
//
//   - 0 and KEEP_SIZE allocate: the file grows (unless KEEP_SIZE) and, when
//     the content is in a spool file, the spool reserves the blocks so that
//     a full disk shows up here rather than at a later write;
//   - PUNCH_HOLE|KEEP_SIZE and ZERO_RANGE (with or without KEEP_SIZE) make
//     the range read as zeros (holes in the spool where its filesystem can).
//
// COLLAPSE_RANGE, INSERT_RANGE, UNSHARE_RANGE and WRITE_ZEROES never get
// here: the kernel's FUSE client (fuse_file_fallocate, checked on 6.18 with
// fallocate -c/-i on a --debug-fuse mount: no FALLOCATE request) answers
// EOPNOTSUPP itself for any mode beyond KEEP_SIZE, PUNCH_HOLE and
// ZERO_RANGE. Supporting them needs a kernel change, not code here.
//
// A stored blob never changes: everything happens on the open file's
// private copy and is committed at close, like a write.

func (h *spoolHandle) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	ctx = uninterruptible(ctx)
	if !h.writer {
		return syscall.EBADF
	}
	if off > uint64(backing.MaxFileSize) || size > uint64(backing.MaxFileSize) {
		return syscall.EFBIG
	}
	if err := h.of.killSetID(ctx); err != nil {
		return h.of.fsys.toErrno("fallocate", h.of.ino, err)
	}
	err := h.of.fallocate(int64(off), int64(size), mode)
	if errors.Is(err, errNotSupported) {
		return syscall.EOPNOTSUPP
	}
	return h.of.fsys.toErrno("fallocate", h.of.ino, err)
}

// errNotSupported marks a mode we do not know: EOPNOTSUPP, as the man page
// asks, not EIO.
var errNotSupported = errors.New("fallocate mode not supported")

func (of *openFile) fallocate(off, length int64, mode uint32) error {
	of.mu.Lock()
	defer of.mu.Unlock()
	end := off + length
	keep := mode&unix.FALLOC_FL_KEEP_SIZE != 0
	switch mode &^ unix.FALLOC_FL_KEEP_SIZE {
	case 0:
		return of.allocate(off, end, keep)
	case unix.FALLOC_FL_PUNCH_HOLE:
		return of.zeroRange(off, min(end, of.size))
	case unix.FALLOC_FL_ZERO_RANGE:
		if !keep && end > of.size {
			if err := of.truncateLocked(end); err != nil {
				return err
			}
		}
		return of.zeroRange(off, min(end, of.size))
	}
	return fmt.Errorf("fallocate mode %#x: %w", mode, errNotSupported)
}

// allocate grows the file to end unless keep, and reserves the spool's
// blocks. Call with of.mu held.
func (of *openFile) allocate(off, end int64, keep bool) error {
	if err := checkSize(end); err != nil {
		return err
	}
	if !keep && end > of.size {
		if err := of.truncateLocked(end); err != nil {
			return err
		}
	}
	// A sealed spool is a stored blob: leave it alone. Blocks past the end
	// of the file would be linked into the blob store with it: not those.
	if of.spool == nil || of.sealed || min(end, of.size) <= off {
		return nil
	}
	err := unix.Fallocate(int(of.spool.Fd()), unix.FALLOC_FL_KEEP_SIZE, off, min(end, of.size)-off)
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("reserve spool space: %w", err)
	}
	return nil // a filesystem without fallocate still holds the bytes
}

// zeroRange makes [from, to) read as zeros. Call with of.mu held.
func (of *openFile) zeroRange(from, to int64) error {
	if from >= to {
		return nil
	}
	if err := of.prepareWrite(of.size); err != nil {
		return err
	}
	if of.spool == nil {
		clear(of.mem[from:to])
	} else if err := of.spoolZero(from, to); err != nil {
		return err
	}
	of.dirty, of.hashOK = true, false
	of.touch()
	return nil
}

// spoolZero punches a hole in the spool, or writes zeros where its
// filesystem cannot punch.
func (of *openFile) spoolZero(from, to int64) error {
	mode := uint32(unix.FALLOC_FL_PUNCH_HOLE | unix.FALLOC_FL_KEEP_SIZE)
	if unix.Fallocate(int(of.spool.Fd()), mode, from, to-from) == nil {
		return nil
	}
	zeros := make([]byte, min(to-from, 1<<20))
	for off := from; off < to; off += int64(len(zeros)) {
		n := min(int64(len(zeros)), to-off)
		if _, err := of.spool.WriteAt(zeros[:n], off); err != nil {
			return fmt.Errorf("zero spool range: %w", err)
		}
	}
	return nil
}
