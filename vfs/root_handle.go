package vfs

import (
	"context"
	"os"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/n4ws/n4ws/backing"
)

// rootHandle lists the root: the stored entries with their attributes
// (one query), then the native entries whose names the index does not
// hold. It answers READDIRPLUS lookups of stored entries from that
// snapshot; native ones are stat'ed.
type rootHandle struct {
	root *rootDir // read only

	mu      sync.Mutex // protects the following
	loaded  bool
	entries []rootEntry
	pos     int // index of the next entry; 0 and 1 are "." and ".."
	last    int // index into entries of the entry returned last
}

// rootEntry is a stored entry (attr set) or a native one.
type rootEntry struct {
	name string
	attr *backing.Attr
	ino  uint64 // native: the mount's number
	mode uint32 // native: file type
}

var (
	_ = (fs.FileReaddirenter)((*rootHandle)(nil))
	_ = (fs.FileSeekdirer)((*rootHandle)(nil))
	_ = (fs.FileLookuper)((*rootHandle)(nil))
	_ = (fs.FileReleasedirer)((*rootHandle)(nil))
	_ = (fs.FileFsyncdirer)((*rootHandle)(nil))
)

func (h *rootHandle) load(ctx context.Context) syscall.Errno {
	if h.loaded {
		return 0
	}
	f := h.root.fsys
	names, attrs, err := f.store().ReadDirPlus(ctx, backing.RootIno)
	if err != nil {
		return f.toErrno("readdir", backing.RootIno, err)
	}
	entries := make([]rootEntry, 0, len(names)+8)
	stored := make(map[string]bool, len(names))
	for i, name := range names {
		entries = append(entries, rootEntry{name: name, attr: &attrs[i]})
		stored[name] = true
	}
	des, err := os.ReadDir(f.native.dir)
	if err != nil {
		return f.toErrno("readdir", backing.RootIno, err)
	}
	for _, de := range des {
		if stored[de.Name()] {
			continue // the index wins (see rootDir)
		}
		var st syscall.Stat_t
		if _, err := statNative(f.native.abs(de.Name()), &st); err != nil {
			continue // gone meanwhile
		}
		entries = append(entries, rootEntry{name: de.Name(), ino: nativeIno(st.Ino), mode: st.Mode & syscall.S_IFMT})
	}
	h.entries, h.loaded = entries, true
	return 0
}

func (h *rootHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	ctx = uninterruptible(ctx)
	h.mu.Lock()
	defer h.mu.Unlock()
	if errno := h.load(ctx); errno != 0 {
		return nil, errno
	}
	i := h.pos
	switch {
	case i == 0:
		h.pos++
		return &fuse.DirEntry{Name: ".", Ino: backing.RootIno, Mode: syscall.S_IFDIR, Off: 1}, 0
	case i == 1:
		h.pos++
		return &fuse.DirEntry{Name: "..", Mode: syscall.S_IFDIR, Off: 2}, 0
	case i-2 < len(h.entries):
		h.pos++
		h.last = i - 2
		e := &h.entries[i-2]
		de := &fuse.DirEntry{Name: e.name, Ino: e.ino, Mode: e.mode, Off: uint64(i + 1)}
		if e.attr != nil {
			de.Ino, de.Mode = e.attr.Ino, e.attr.Mode
		}
		return de, 0
	}
	return nil, 0
}

// Seekdir positions the stream after the entry with offset off.
func (h *rootHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pos = int(off)
	if off == 0 {
		h.loaded = false // rewinddir: see the directory as it is now
	}
	return 0
}

// Lookup answers READDIRPLUS for the entry just returned by Readdirent.
func (h *rootHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ctx = uninterruptible(ctx)
	h.mu.Lock()
	var a *backing.Attr
	if h.loaded && h.last < len(h.entries) && h.entries[h.last].name == name {
		a = h.entries[h.last].attr
	}
	h.mu.Unlock()
	if a != nil {
		return h.root.entry(ctx, a, out), 0
	}
	return h.root.Lookup(ctx, name, out)
}

func (h *rootHandle) Releasedir(ctx context.Context, flags uint32) {}

// Fsyncdir makes the root's entries durable: the index's and the native
// folder's.
func (h *rootHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	ctx = uninterruptible(ctx)
	f := h.root.fsys
	if err := f.store().Sync(ctx); err != nil {
		return f.toErrno("fsyncdir", backing.RootIno, err)
	}
	d, err := os.Open(f.native.dir)
	if err != nil {
		return f.toErrno("fsyncdir", backing.RootIno, err)
	}
	defer d.Close()
	return f.toErrno("fsyncdir", backing.RootIno, d.Sync())
}
