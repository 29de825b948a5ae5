package vfs

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
)

// Lock order: fsys.mu before openFile.mu.

// fsys is the state shared by every node of one mount.
type fsys struct {
	st          *backing.Store   // read only; store() for every use but the write counts
	log         *slog.Logger     // read only
	passthrough bool             // read only: try FUSE passthrough for blob reads
	durable     bool             // read only: fsync content on every close
	cat         *catalog.Catalog // read only: computed views; nil serves the bare store
	owner       fuse.Owner       // read only: owner of computed entries (the root's)
	// fixedOverlays maps the skeleton folders with computed entries to
	// their overlay paths. read only
	fixedOverlays map[uint64]string
	native        *nativeTree   // read only: nirs4all's own files at the root
	refreshKick   chan struct{} // read only: wakes refreshCatalog (buffer 1)

	// changes counts the batches of changes by other processes the watcher
	// has seen; a knownContent filled before the last one is stale.
	changes atomic.Uint64

	listings   listingCache // a few folders' entries, for lookups (lookup_cache.go)
	bigListing bigListing   // the last large folder listed, for the next readdir (readdir_cache.go)
	purges     purgeQueue   // forgotten unlinked nodes to delete (purge_queue.go)

	unlinksLater bool          // read only: answer unlinks first (unlink_later.go)
	unlinks      unlinkStats   // how unlinks went
	createsLater bool          // read only: answer creates first (create_later.go)
	noCacheStore atomic.Bool   // the kernel refused to take a small file's bytes (readCacheFlags)
	blobReads    atomic.Uint64 // READ requests of stored files served from their blob

	mu    sync.Mutex           // protects the following
	open  map[uint64]*openFile // files with at least one open handle
	nodes map[uint64]*fs.Inode // inodes the kernel knows, for cache invalidation
	// unlinked holds nodes without a name that the kernel still knows: it
	// may open one it looked up before a rename replaced it, so they are
	// purged when it forgets them.
	unlinked map[uint64]bool
}

func newFsys(store *backing.Store, cat *catalog.Catalog, opts Options) *fsys {
	return &fsys{
		st:            store,
		cat:           cat,
		fixedOverlays: map[uint64]string{},
		log:           opts.Logger,
		passthrough:   opts.Passthrough,
		durable:       opts.Durable,
		unlinksLater:  !opts.Durable,
		createsLater:  !opts.Durable && store.CreatesLater(),
		open:          map[uint64]*openFile{},
		nodes:         map[uint64]*fs.Inode{},
		unlinked:      map[uint64]bool{},
		purges:        purgeQueue{wake: make(chan struct{}, 1)},
		refreshKick:   make(chan struct{}, 1),
	}
}

// newChild makes (or finds, go-fuse merges by inode number) the Inode for a
// stored node.
func (f *fsys) newChild(ctx context.Context, parent *fs.Inode, a *backing.Attr) *fs.Inode {
	var ops fs.InodeEmbedder
	switch fileType(a.Mode) {
	case syscall.S_IFDIR:
		d := &dirNode{storedNode: storedNode{fsys: f}}
		d.last.remember(a)
		ops = d
	case syscall.S_IFREG:
		ops = &fileNode{storedNode: storedNode{fsys: f}}
	case syscall.S_IFLNK:
		ops = &symlinkNode{storedNode{fsys: f}}
	default:
		ops = &storedNode{fsys: f}
	}
	in := parent.NewInode(ctx, ops, fs.StableAttr{Mode: fileType(a.Mode), Ino: a.Ino})
	f.mu.Lock()
	// A node the kernel knows already wins: go-fuse hands the kernel that
	// one, not the fresh Inode made here, so the registry must keep it or
	// invalidations go to a node id the kernel never saw (ENOENT).
	if old := f.nodes[a.Ino]; old == nil || old.StableAttr().Mode != fileType(a.Mode) {
		f.nodes[a.Ino] = in
	}
	f.mu.Unlock()
	return in
}

// forget drops a node from the invalidation registry when the kernel
// forgets it.
func (f *fsys) forget(ino uint64, in *fs.Inode) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.nodes[ino] != in {
		return
	}
	delete(f.nodes, ino)
	if f.unlinked[ino] {
		delete(f.unlinked, ino)
		if of, open := f.open[ino]; open {
			of.unlinked = true // its last release purges it
		} else {
			f.queuePurge(ino)
		}
	}
}

// inode returns the Inode the kernel knows for ino, if any.
func (f *fsys) inode(ino uint64) *fs.Inode {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodes[ino]
}

// store returns the store for a read or write of the index, once the
// unlinks this mount answered and queued are written (unlink_later.go), so
// that no read sees a name the mount said was gone.
func (f *fsys) store() *backing.Store {
	f.st.Settle()
	return f.st
}
