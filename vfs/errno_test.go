package vfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/n4ws/n4ws/backing"
)

// Layer 1: the errno mapping and attribute filling, without a mount.

// countHandler counts the records logged at Error level, so a test can
// check that toErrno logs exactly the errors it turns into EIO.
type countHandler struct {
	mu     sync.Mutex
	errors int
}

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countHandler) WithGroup(string) slog.Handler            { return h }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		h.mu.Lock()
		h.errors++
		h.mu.Unlock()
	}
	return nil
}

func (h *countHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.errors
}

// errnoCases lists every backing sentinel (and the std errors vfs sees from
// os and context) with the errno the kernel must get for it.
var errnoCases = []struct {
	name string
	err  error
	want syscall.Errno
}{
	{"nil", nil, 0},
	{"ErrNotFound", backing.ErrNotFound, syscall.ENOENT},
	{"ErrExists", backing.ErrExists, syscall.EEXIST},
	{"ErrNotEmpty", backing.ErrNotEmpty, syscall.ENOTEMPTY},
	{"ErrNotDir", backing.ErrNotDir, syscall.ENOTDIR},
	{"ErrIsDir", backing.ErrIsDir, syscall.EISDIR},
	{"ErrReadOnly", backing.ErrReadOnly, syscall.EROFS},
	{"ErrPermission", backing.ErrPermission, syscall.EPERM},
	{"ErrInvalid", backing.ErrInvalid, syscall.EINVAL},
	{"ErrNameTooLong", backing.ErrNameTooLong, syscall.ENAMETOOLONG},
	// A digest mismatch or a lost lock is a store problem, not the caller's.
	{"ErrCorrupt", backing.ErrCorrupt, syscall.EIO},
	{"ErrLocked", backing.ErrLocked, syscall.EIO},
	{"ErrNoStore", backing.ErrNoStore, syscall.EIO},
	{"fs.ErrNotExist", fs.ErrNotExist, syscall.ENOENT},
	{"fs.ErrExist", fs.ErrExist, syscall.EEXIST},
	{"raw ENOENT", syscall.ENOENT, syscall.ENOENT}, // Errno.Is(fs.ErrNotExist)
	{"context.Canceled", context.Canceled, syscall.EINTR},
	{"context.DeadlineExceeded", context.DeadlineExceeded, syscall.ETIMEDOUT},
	// A full disk must reach the writer as such, so that tools say why.
	{"ENOSPC", &os.PathError{Op: "write", Path: "spool/1", Err: syscall.ENOSPC}, syscall.ENOSPC},
	{"EDQUOT", &os.PathError{Op: "write", Path: "spool/1", Err: syscall.EDQUOT}, syscall.EDQUOT},
	{"ErrNoSpace", fmt.Errorf("commit: %w", backing.ErrNoSpace), syscall.ENOSPC},
	// Other errnos from the store's own files are not the caller's business.
	{"EACCES", &os.PathError{Op: "open", Path: "blobs/x", Err: syscall.EACCES}, syscall.EIO},
	{"plain error", errors.New("disk on fire"), syscall.EIO},
}

func TestToErrno(t *testing.T) {
	f := &fsys{log: slog.New(slog.DiscardHandler)}
	for _, c := range errnoCases {
		t.Run(c.name, func(t *testing.T) {
			if got := f.toErrno("op", 7, c.err); got != c.want {
				t.Errorf("toErrno(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}

// Backing wraps its sentinels with context (STYLE §4), once per layer; the
// mapping must see through any depth of wrapping and through errors.Join.
func TestToErrnoWrapped(t *testing.T) {
	f := &fsys{log: slog.New(slog.DiscardHandler)}
	for _, c := range errnoCases {
		if c.err == nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			once := fmt.Errorf("lookup %q in %d: %w", "x", 3, c.err)
			twice := fmt.Errorf("resolve %q: %w", "a/x", once)
			joined := errors.Join(twice, nil)
			for _, err := range []error{once, twice, joined} {
				if got := f.toErrno("op", 7, err); got != c.want {
					t.Errorf("toErrno(%v) = %v, want %v", err, got, c.want)
				}
			}
		})
	}
}

// Only errors that become EIO are logged (once each); mapped errors are
// ordinary answers (ENOENT from every failed lookup) and must stay quiet.
func TestToErrnoLogsOnlyEIO(t *testing.T) {
	h := &countHandler{}
	f := &fsys{log: slog.New(h)}
	wantLogs := 0
	for _, c := range errnoCases {
		before := h.count()
		got := f.toErrno("op", 7, c.err)
		logged := h.count() - before
		want := 0
		if got == syscall.EIO {
			want = 1
			wantLogs++
		}
		if logged != want {
			t.Errorf("%s: %d error records logged, want %d", c.name, logged, want)
		}
	}
	if h.count() != wantLogs {
		t.Errorf("%d error records in all, want %d", h.count(), wantLogs)
	}
}

func TestFillAttr(t *testing.T) {
	mtime := time.Unix(1_700_000_000, 123_456_789)
	a := backing.Attr{
		Ino: 42, Mode: syscall.S_IFREG | 0o640, Uid: 1000, Gid: 100, Size: 40_000, Nlink: 3,
		Atime: mtime.Add(time.Second), Mtime: mtime, Ctime: mtime.Add(2 * time.Second), Rdev: 9,
	}
	var out fuse.Attr
	fillAttr(&a, &out)
	if out.Ino != 42 || out.Mode != syscall.S_IFREG|0o640 || out.Size != 40_000 || out.Nlink != 3 {
		t.Errorf("ino/mode/size/nlink = %d/%o/%d/%d", out.Ino, out.Mode, out.Size, out.Nlink)
	}
	if out.Uid != 1000 || out.Gid != 100 || out.Rdev != 9 {
		t.Errorf("uid/gid/rdev = %d/%d/%d", out.Uid, out.Gid, out.Rdev)
	}
	// du(1) counts 512-byte blocks, rounded up.
	if want := uint64((40_000 + 511) / 512); out.Blocks != want {
		t.Errorf("blocks = %d, want %d", out.Blocks, want)
	}
	if out.Blksize != 4096 {
		t.Errorf("blksize = %d, want 4096", out.Blksize)
	}
	if out.Mtime != uint64(mtime.Unix()) || out.Mtimensec != 123_456_789 {
		t.Errorf("mtime = %d.%09d, want %d.123456789", out.Mtime, out.Mtimensec, mtime.Unix())
	}
	if out.Atime != uint64(mtime.Unix()+1) || out.Ctime != uint64(mtime.Unix()+2) {
		t.Errorf("atime/ctime = %d/%d", out.Atime, out.Ctime)
	}
	if out.Atimensec != 123_456_789 || out.Ctimensec != 123_456_789 {
		t.Errorf("atime/ctime nsec = %d/%d", out.Atimensec, out.Ctimensec)
	}
}

func TestFillAttrEdges(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name       string
		a          backing.Attr
		nlink      uint32
		blocks     uint64
		size       uint64
		modeWanted uint32
	}{
		// An unlinked file still open shows 0 links, as fstat does on ext4.
		{"unlinked file", backing.Attr{Mode: syscall.S_IFREG | 0o644, Size: 1}, 0, 1, 1, syscall.S_IFREG | 0o644},
		{"empty file", backing.Attr{Mode: syscall.S_IFREG | 0o644, Nlink: 1}, 1, 0, 0, syscall.S_IFREG | 0o644},
		{"exact block", backing.Attr{Mode: syscall.S_IFREG | 0o644, Nlink: 1, Size: 1024}, 1, 2, 1024, syscall.S_IFREG | 0o644},
		{"dir", backing.Attr{Mode: syscall.S_IFDIR | 0o755, Nlink: 2}, 2, 0, 0, syscall.S_IFDIR | 0o755},
		{"symlink", backing.Attr{Mode: syscall.S_IFLNK | 0o777, Nlink: 1, Size: 5, Target: "a/b/c"}, 1, 1, 5, syscall.S_IFLNK | 0o777},
		{"setgid dir", backing.Attr{Mode: syscall.S_IFDIR | syscall.S_ISGID | 0o775, Nlink: 2}, 2, 0, 0, syscall.S_IFDIR | syscall.S_ISGID | 0o775},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.a.Atime, c.a.Mtime, c.a.Ctime = now, now, now
			var out fuse.Attr
			fillAttr(&c.a, &out)
			if out.Nlink != c.nlink || out.Blocks != c.blocks || out.Size != c.size || out.Mode != c.modeWanted {
				t.Errorf("nlink/blocks/size/mode = %d/%d/%d/%o, want %d/%d/%d/%o",
					out.Nlink, out.Blocks, out.Size, out.Mode, c.nlink, c.blocks, c.size, c.modeWanted)
			}
		})
	}
}

func TestFileType(t *testing.T) {
	for _, m := range []uint32{syscall.S_IFREG, syscall.S_IFDIR, syscall.S_IFLNK, syscall.S_IFIFO, syscall.S_IFSOCK, syscall.S_IFCHR} {
		if got := fileType(m | syscall.S_ISUID | 0o755); got != m {
			t.Errorf("fileType(%o) = %o, want %o", m|0o755, got, m)
		}
	}
}
