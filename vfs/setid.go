package vfs

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/n4ws/n4ws/backing"
)

// A write (or O_TRUNC open) by a user without CAP_FSETID must clear the
// file's set-user-ID bit, and its set-group-ID bit when the group may
// execute: otherwise anyone allowed to write a set-ID program on a shared
// (--allow-other) mount could replace it and run their code as its owner.
// A chown clears them too, whoever asks (root included), as ext4 does.
//
// The mount takes FUSE_HANDLE_KILLPRIV_V2 (mount.go), so the kernel leaves
// all of this to us: it no longer turns these events into a SETATTR of the
// mode, and in exchange it stops asking for security.capability before
// every write (it may then mark inodes S_NOSEC), which was two thirds of
// the requests of a nirs4all run. What arrives instead:
//
//   - WRITE of a direct-I/O handle (stored files): FUSE_WRITE_KILL_SUIDGID,
//     a flag go-fuse's fs API does not pass on; killSetID decides from the
//     caller as the kernel does (does the writing process hold CAP_FSETID?).
//   - OPEN with O_TRUNC: FUSE_OPEN_KILL_SUIDGID, not passed on either; the
//     same decision from the caller.
//   - SETATTR of the size: FATTR_KILL_SUIDGID when the caller may not keep
//     the bits.
//   - SETATTR of the owner or group (chown): nothing; the bits always go.
//   - SETATTR with nothing to set: the kernel's own privilege check of a
//     passthrough or cached write (file_remove_privs), and chown(-1, -1),
//     both of which clear the bits; fuse_setattr drops the mode the VFS
//     computed and sends what is left, which is nothing.
//
// setattrClearsSetID covers the SETATTR cases; integration's
// TestWriteClearsSetID checks each one on stored and native files.

// setattrClearsSetID reports whether a SETATTR of a file that is not a
// folder must clear its set-ID bits (backing.ClearSetID's rule) besides
// what it sets.
func setattrClearsSetID(in *fuse.SetAttrIn) bool {
	set := in.Valid &^ (fuse.FATTR_FH | fuse.FATTR_LOCKOWNER | fuse.FATTR_KILL_SUIDGID)
	switch {
	case set == 0:
		return true
	case set&(fuse.FATTR_UID|fuse.FATTR_GID) != 0:
		return true
	case set&fuse.FATTR_SIZE != 0:
		return in.Valid&fuse.FATTR_KILL_SUIDGID != 0
	}
	return false
}

// killSetID clears the set-ID bits of a file open for writing before an
// unprivileged caller changes its content. It costs nothing for the files
// that have no such bit, which are nearly all.
func (of *openFile) killSetID(ctx context.Context) error {
	of.mu.Lock()
	setID := of.setID
	of.mu.Unlock()
	if !setID || mayKeepSetID(ctx) {
		return nil
	}
	a, err := of.fsys.store().SetAttr(ctx, of.ino, backing.SetAttrIn{ClearSetID: true})
	if err != nil {
		return err
	}
	of.mu.Lock()
	of.setID = backing.HasSetID(a.Mode)
	of.mu.Unlock()
	of.fsys.forgetAttr(of.ino)
	return nil
}

// forgetAttr makes the kernel drop its cached attributes of ino, for a
// change it did not ask for. A write only invalidates the size and times
// it caches, so `stat -c %a` (statx for the mode alone) would go on showing
// the set-ID bits for attrTimeout. A negative offset leaves the page cache
// alone, so this cannot wait on the request being served.
func (f *fsys) forgetAttr(ino uint64) {
	if in := f.inode(ino); in != nil {
		in.NotifyContent(-1, 0)
	}
}

// noteMode tells an open file its new mode after a chmod.
func (of *openFile) noteMode(mode uint32) {
	of.mu.Lock()
	of.setID = backing.HasSetID(mode)
	of.mu.Unlock()
}

// mayKeepSetID reports whether the process behind a request holds
// CAP_FSETID. When its capabilities cannot be read (it has exited), root
// counts as privileged and everyone else not.
func mayKeepSetID(ctx context.Context) bool {
	c, ok := fuse.FromContext(ctx)
	if !ok {
		return true // not a kernel request: n4ws itself
	}
	caps, err := effectiveCaps(c.Pid)
	if err != nil {
		return c.Uid == 0
	}
	return caps&(1<<unix.CAP_FSETID) != 0
}

// effectiveCaps reads the CapEff mask of process pid.
func effectiveCaps(pid uint32) (uint64, error) {
	if pid == 0 {
		return 0, fmt.Errorf("no caller pid")
	}
	f, err := os.Open("/proc/" + strconv.FormatUint(uint64(pid), 10) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no CapEff in /proc/%d/status", pid)
}

// clearNativeSetID clears the set-ID bits of the backing file behind fd, a
// plain or O_PATH descriptor (n4ws changes native files as root, so ext4
// keeps the bits). It leaves folders alone: a folder's set-group-ID bit is
// inherited, not a privilege.
func clearNativeSetID(fd int) error {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&syscall.S_IFMT == syscall.S_IFDIR || !backing.HasSetID(st.Mode) {
		return nil
	}
	// Through /proc: fchmod refuses the O_PATH descriptors Setattr uses,
	// and a path could be swapped for a symlink under a root chmod. (An
	// O_PATH descriptor of a symlink never gets here: it has no set-ID
	// bits, and chmod through it would follow the link.)
	return syscall.Chmod("/proc/self/fd/"+strconv.Itoa(fd), backing.ClearSetID(st.Mode)&07777)
}

// truncKillsSetID clears the set-ID bits of a native file just opened
// with O_TRUNC for a caller who may not keep them (the kernel's
// FUSE_OPEN_KILL_SUIDGID, which go-fuse does not pass on), and reports
// whether it did: the kernel's cached mode is then stale.
func truncKillsSetID(ctx context.Context, fd int, flags uint32) (bool, error) {
	if flags&syscall.O_TRUNC == 0 {
		return false, nil
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return false, err
	}
	if !backing.HasSetID(st.Mode) || mayKeepSetID(ctx) {
		return false, nil
	}
	return true, clearNativeSetID(fd)
}
