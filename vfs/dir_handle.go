package vfs

import (
	"context"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
)

// dirHandle lists a directory from one snapshot of its entries and their
// attributes, read with a single query on the first READDIR(PLUS). go-fuse
// asks for every entry's attributes during READDIRPLUS; they come from the
// snapshot instead of one index query each.
type dirHandle struct {
	dir     *dirNode // read only
	overlay string   // read only: the folder's overlay path, "" for none

	mu      sync.Mutex // protects the following
	loaded  bool
	names   []string
	attrs   []backing.Attr
	views   []catalog.View // computed entries, listed after the stored ones
	pos     int            // index into names of the next entry; 0 and 1 are "." and ".."
	lastIdx int            // index of the entry returned last, for Lookup
}

var (
	_ = (fs.FileReaddirenter)((*dirHandle)(nil))
	_ = (fs.FileSeekdirer)((*dirHandle)(nil))
	_ = (fs.FileLookuper)((*dirHandle)(nil))
	_ = (fs.FileReleasedirer)((*dirHandle)(nil))
	_ = (fs.FileFsyncdirer)((*dirHandle)(nil))
)

// OpendirHandle lets the kernel cache the listing: every change made
// through the mount invalidates it, and the change watcher does the same
// for changes made by other processes.
func (n *dirNode) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	ctx = uninterruptible(ctx)
	p, err := n.overlayPath(ctx)
	if err != nil {
		return nil, 0, n.fsys.toErrno("opendir", n.ino(), err)
	}
	if p != "" {
		return &dirHandle{dir: n, overlay: p}, 0, 0 // computed entries come and go
	}
	return &dirHandle{dir: n}, fuse.FOPEN_CACHE_DIR | fuse.FOPEN_KEEP_CACHE, 0
}

func (h *dirHandle) load(ctx context.Context) syscall.Errno {
	if h.loaded {
		return 0
	}
	names, attrs, err := h.dir.fsys.readDirPlus(ctx, h.dir.ino())
	if err != nil {
		return h.dir.fsys.toErrno("readdir", h.dir.ino(), err)
	}
	h.names, h.attrs, h.loaded = names, attrs, true
	h.views = nil
	if h.overlay != "" {
		views, err := h.dir.fsys.cat.Overlay(ctx, h.overlay)
		if err != nil {
			return h.dir.fsys.toErrno("readdir", h.dir.ino(), err)
		}
		stored := make(map[string]bool, len(names))
		for _, name := range names {
			stored[name] = true
		}
		for _, v := range views {
			if !stored[v.Name] { // a stored file of the same name wins
				h.views = append(h.views, v)
			}
		}
	}
	return 0
}

func (h *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	ctx = uninterruptible(ctx)
	h.mu.Lock()
	defer h.mu.Unlock()
	if errno := h.load(ctx); errno != 0 {
		return nil, errno
	}
	i := h.pos
	h.pos++
	switch {
	case i == 0:
		return &fuse.DirEntry{Name: ".", Ino: h.dir.ino(), Mode: syscall.S_IFDIR, Off: 1}, 0
	case i == 1:
		return &fuse.DirEntry{Name: "..", Mode: syscall.S_IFDIR, Off: 2}, 0
	case i-2 < len(h.names):
		a := &h.attrs[i-2]
		h.lastIdx = i - 2
		return &fuse.DirEntry{Name: h.names[i-2], Ino: a.Ino, Mode: a.Mode, Off: uint64(i + 1)}, 0
	case i-2-len(h.names) < len(h.views):
		h.lastIdx = i - 2
		de := viewDirEntry(h.overlay, &h.views[i-2-len(h.names)])
		de.Off = uint64(i + 1)
		return &de, 0
	}
	h.pos = i
	return nil, 0
}

// Seekdir positions the stream after the entry with offset off.
func (h *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pos = int(off)
	if off == 0 {
		h.loaded = false // rewinddir: see the directory as it is now
	}
	return 0
}

// Lookup answers READDIRPLUS for the entry just returned by Readdirent.
func (h *dirHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	ctx = uninterruptible(ctx)
	h.mu.Lock()
	var a backing.Attr
	found := h.loaded && h.lastIdx < len(h.names) && h.names[h.lastIdx] == name
	if found {
		a = h.attrs[h.lastIdx]
	}
	var view *catalog.View
	if vi := h.lastIdx - len(h.names); h.loaded && vi >= 0 && vi < len(h.views) && h.views[vi].Name == name {
		view = &h.views[vi]
	}
	h.mu.Unlock()
	if view != nil {
		return h.dir.fsys.viewEntry(ctx, h.dir.EmbeddedInode(), h.overlay, view, out)
	}
	if !found {
		return h.dir.Lookup(ctx, name, out)
	}
	return h.dir.entry(ctx, &a, out), 0
}

func (h *dirHandle) Releasedir(ctx context.Context, flags uint32) {}

// Fsyncdir makes the folder's entries durable: they live in the index.
func (h *dirHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	ctx = uninterruptible(ctx)
	return h.dir.fsys.toErrno("fsyncdir", h.dir.ino(), h.dir.fsys.store().Sync(ctx))
}
