package vfs

import (
	"context"
	"hash/fnv"
	"strings"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
)

// Overlays: some stored folders also hold computed entries (runs/<ds>/
// has best_<pipeline>.csv and run_summary.json; exports/, its
// best_predictions/ and catalog/ have computed files or folders). A
// folder's overlay path says which; "" means none.

// overlayState caches a stored folder's overlay path. Renames clear it.
type overlayState struct {
	mu    sync.Mutex // protects the following
	known bool
	path  string
}

// overlayPath returns the folder's overlay path, working it out once:
// fixed for the skeleton folders, "runs/<name>" for a folder in runs/.
func (n *dirNode) overlayPath(ctx context.Context) (string, error) {
	n.overlay.mu.Lock()
	defer n.overlay.mu.Unlock()
	if n.overlay.known {
		return n.overlay.path, nil
	}
	f := n.fsys
	p, ok := f.fixedOverlays[n.ino()]
	if !ok && f.cat != nil && n.ino() != backing.RootIno { // the root has no parent entry
		parent, name, err := f.store().ParentOf(ctx, n.ino())
		if err != nil && !isNotFound(err) { // not found: removed while open, no overlay
			return "", err
		}
		if err == nil && parent == f.cat.RunsIno() {
			p = "runs/" + name
		}
	}
	n.overlay.known, n.overlay.path = true, p
	return p, nil
}

// forgetOverlay makes the folder work its overlay path out again (after
// it moved).
func (n *dirNode) forgetOverlay() {
	n.overlay.mu.Lock()
	n.overlay.known = false
	n.overlay.mu.Unlock()
}

// views returns the folder's computed entries.
func (n *dirNode) views(ctx context.Context) ([]catalog.View, error) {
	p, err := n.overlayPath(ctx)
	if err != nil || p == "" {
		return nil, err
	}
	return n.fsys.cat.Overlay(ctx, p)
}

// findView returns the view called name in the overlay at dir.
func findView(views []catalog.View, name string) (catalog.View, bool) {
	for _, v := range views {
		if v.Name == name {
			return v, true
		}
	}
	return catalog.View{}, false
}

// viewIno gives a computed entry a stable inode number of its own, far
// above the store's (which count up from 1).
func viewIno(path string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(path))
	return h.Sum64() | 1<<63
}

// isComputedName reports whether a name in an overlay folder is one the
// catalog owns, so that users cannot create it there.
func isComputedName(views []catalog.View, name string) bool {
	_, ok := findView(views, name)
	return ok
}

// joinPath joins overlay path parts.
func joinPath(parts ...string) string { return strings.Join(parts, "/") }

// viewEntry fills a lookup reply for computed entry v of the folder at
// overlay path dir and returns its inode. Timeouts are zero: the kernel
// asks again at every use, so a renamed best file is never served stale.
func (f *fsys) viewEntry(ctx context.Context, parent *fs.Inode, dir string, v *catalog.View, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	path := joinPath(dir, v.Name)
	ino := viewIno(path)
	if err := f.fillViewAttr(v, ino, &out.Attr); err != nil {
		return nil, f.toErrno("lookup view", ino, err)
	}
	out.SetEntryTimeout(0)
	out.SetAttrTimeout(0)
	var ops fs.InodeEmbedder = &viewFile{fsys: f, dir: dir, name: v.Name}
	mode := uint32(syscall.S_IFREG)
	if v.Dir {
		ops, mode = &viewDir{fsys: f, path: path}, syscall.S_IFDIR
	}
	return parent.NewInode(ctx, ops, fs.StableAttr{Mode: mode, Ino: ino}), 0
}

// viewDirEntry lists computed entry v of the folder at overlay path dir.
func viewDirEntry(dir string, v *catalog.View) fuse.DirEntry {
	mode := uint32(syscall.S_IFREG)
	if v.Dir {
		mode = syscall.S_IFDIR
	}
	return fuse.DirEntry{Name: v.Name, Ino: viewIno(joinPath(dir, v.Name)), Mode: mode}
}

// splitLast splits "a/b/c" into "a/b" and "c".
func splitLast(p string) (string, string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}
