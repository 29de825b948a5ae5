package vfs

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/n4ws/n4ws/backing"
)

// A write (or O_TRUNC open) by a user without CAP_FSETID must clear the
// file's set-user-ID bit, and its set-group-ID bit when the group may
// execute: otherwise anyone allowed to write a set-ID program on a shared
// (--allow-other) mount could replace it and run their code as its owner.
//
// The kernel leaves this to us. go-fuse v2.12.1 does not negotiate
// HANDLE_KILLPRIV(_V2), so for cached writes the kernel would clear the bits
// itself with a SETATTR, but our write handles use direct I/O, and for
// those it only sets FUSE_WRITE_KILL_SUIDGID in the WRITE request, a flag
// go-fuse's fs API does not pass on. So we decide from the caller, as the
// kernel would: does the writing process hold CAP_FSETID?

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
	a, err := of.fsys.store.SetAttr(ctx, of.ino, backing.SetAttrIn{ClearSetID: true})
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
