package vfs

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/n4ws/n4ws/backing"
)

// fileNode is a stored regular file. A mount knows a node for every file
// the kernel looked up (a find of a large tree: hundreds of thousands), and
// opens few of them, so the state of opened files lives apart, made on the
// first open: a node is 144 bytes instead of 248.
type fileNode struct {
	storedNode
	st atomic.Pointer[fileState] // nil until the file is first opened
}

// fileState is what a fileNode keeps once it has been opened.
type fileState struct {
	pt ptState

	mu     sync.Mutex     // protects the following
	cached backing.Digest // the blob whose pages the kernel may hold
	known  *knownContent  // what the last read-only open found in the index
	opened bool           // a handle was opened: the kernel may hold pages of the file
}

// state returns the node's open state, making it on first use.
func (n *fileNode) state() *fileState {
	if s := n.st.Load(); s != nil {
		return s
	}
	n.st.CompareAndSwap(nil, new(fileState))
	return n.st.Load()
}

var _ = (fs.NodeOpener)((*fileNode)(nil))

func (n *fileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	ctx = uninterruptible(ctx)
	fh, fl, errno := n.fsys.openNode(ctx, n, n.ino(), flags)
	if errno == syscall.ENOENT {
		// The kernel looked the name up before a rename or unlink took this
		// node away. ESTALE makes it look the name up again (the VFS retries
		// an open once with LOOKUP_REVAL), so an open racing with a
		// rename-over finds the new file, as on a local disk, and a name that
		// is really gone still answers ENOENT from that lookup.
		errno = syscall.ESTALE
	}
	return fh, fl, errno
}

// firstOpen records that a handle of the file is being opened and reports
// whether it is the first since the kernel learnt of the node: before it,
// the kernel holds no page of the file (pages come only from reads and
// maps through handles; a node the kernel forgets takes its pages along).
func (s *fileState) firstOpen() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := !s.opened
	s.opened = true
	return first
}

// passthroughMinSize is the smallest blob read through FUSE passthrough.
// Smaller files gain little (warm reads come from the page cache either
// way), and keeping them out of passthrough keeps them out of its one
// restriction: while a passthrough reader has a file open, the kernel
// refuses to open it for writing (EIO).
const passthroughMinSize = 128 << 10

// openNode opens file ino: for writing through the shared spool, for
// reading from the spool while someone writes, else straight from the blob.
//
// Spool handles use direct I/O. The kernel lets direct-I/O opens coexist
// with passthrough opens of the same inode, while cached opens would make a
// passthrough open fail until the kernel has finished releasing them.
func (f *fsys) openNode(ctx context.Context, node *fileNode, ino uint64, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	writing := flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0
	first := node.state().firstOpen()
	of := f.acquire(ino)
	if writing {
		node.state().pt.startOther()
		return f.openForWrite(ctx, node, of, flags, nil)
	}
	of.mu.Lock()
	writing = of.active
	of.mu.Unlock()
	if writing {
		node.state().pt.startOther()
		return &spoolHandle{of: of, node: node}, fuse.FOPEN_DIRECT_IO | fuse.FOPEN_NOFLUSH, 0
	}
	a, blob, err := f.openBlob(ctx, node, ino, first)
	if err != nil {
		f.release(ctx, of, false)
		return nil, 0, f.toErrno("open", ino, err)
	}
	h := blobHandle{of: of, node: node, blob: blob, digest: a.Blob}
	if f.passthrough && a.Size >= passthroughMinSize && blob != nil && blob.File() != nil {
		if node.state().pt.startPassthrough(a.Blob) {
			return &passthroughHandle{h}, fuse.FOPEN_NOFLUSH, 0
		}
	} else {
		node.state().pt.startOther()
	}
	// Nothing to commit when a reader closes: the kernel may skip FLUSH.
	return &h, f.readCacheFlags(node, blob, a, first) | fuse.FOPEN_NOFLUSH, 0
}

// readCacheFlags lets the kernel keep the pages it has for this file when
// they hold blob (content of a), and makes it drop them otherwise. It also
// fills the kernel's page cache with a small file's bytes
// the first time: the READ that would follow is then not sent. A cold
// read of a small file cost LOOKUP, OPEN and READ, three round trips the
// reader waits for; the bytes are at hand here (inline blobs live in the
// index, and OpenFileData read them with the node). The kernel keeps what
// it was given only with FOPEN_KEEP_CACHE (without it the open drops the
// file's pages), which is right once every page of the file holds blob's
// bytes: the store covers [0, size). It runs under the node's lock, with
// the check that blob is still the one the kernel may hold, so that two
// opens racing with a commit cannot leave older bytes behind newer ones,
// and only at the node's first open (firstOpen).
// The kernel may still drop what it was given: with AUTO_INVAL_DATA, a
// read that refreshes attributes the mount's own write made stale finds
// a new mtime and drops the pages (the READ is then sent as before), so
// the gain is for files the kernel looked up fresh: after a mount, or
// changed by another process.
// When the kernel refuses the bytes (the inode gone meanwhile, an old
// kernel), the open drops the pages as before and READ fetches them.
func (f *fsys) readCacheFlags(node *fileNode, blob *backing.Blob, a backing.Attr, first bool) uint32 {
	s := node.state()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached == a.Blob {
		return fuse.FOPEN_KEEP_CACHE
	}
	s.cached = a.Blob
	// Only at the node's first open, into a cache with no page of the
	// file: bytes stored over pages of older content (read through a
	// handle still open, or a writer's private map), with the kernel's
	// size from older attributes, would show the old bytes past the new
	// end.
	if !first || blob == nil || blob.File() != nil || a.Size == 0 || f.noCacheStore.Load() {
		return 0
	}
	data, err := blob.Inline()
	if err != nil || int64(len(data)) != a.Size {
		return 0 // READ reports it
	}
	switch errno := node.WriteCache(0, data); errno {
	case 0:
		return fuse.FOPEN_KEEP_CACHE
	case syscall.ENOSYS:
		f.noCacheStore.Store(true) // this kernel does not take it: stop trying
	}
	return 0
}

// openCreated opens file a, which this request has just made, for
// writing: the index has nothing to tell that a does not (it is empty,
// writable and has no set-ID bit to clear).
func (f *fsys) openCreated(ctx context.Context, node *fileNode, a *backing.Attr, flags uint32, pending bool) (fs.FileHandle, uint32, syscall.Errno) {
	node.state().firstOpen()
	of := f.acquire(a.Ino)
	node.state().pt.startOther()
	fh, fuseFlags, errno := f.openForWrite(ctx, node, of, flags|syscall.O_TRUNC, a)
	if errno == 0 && pending {
		// Its create is written with its first commit: close must commit,
		// even with nothing written (touch).
		of.mu.Lock()
		of.dirty = true
		of.mu.Unlock()
	}
	return fh, fuseFlags, errno
}

// openForWrite opens of for writing; known, when set, is the file's
// attributes, which the request has just made.
func (f *fsys) openForWrite(ctx context.Context, node *fileNode, of *openFile, flags uint32, known *backing.Attr) (fs.FileHandle, uint32, syscall.Errno) {
	var a backing.Attr
	var err error
	if known != nil {
		a = *known
	} else {
		a, err = f.store().GetAttr(ctx, of.ino)
	}
	if err == nil && a.Flags&backing.FlagReadOnly != 0 {
		err = backing.ErrReadOnly
	}
	// Truncating an existing file is a write (see setid.go). Create passes
	// O_TRUNC too, with O_CREAT: a new file keeps the mode it was made with.
	if err == nil && flags&syscall.O_TRUNC != 0 && flags&syscall.O_CREAT == 0 &&
		backing.HasSetID(a.Mode) && !mayKeepSetID(ctx) {
		if _, err = f.store().SetAttr(ctx, of.ino, backing.SetAttrIn{ClearSetID: true}); err == nil {
			f.forgetAttr(of.ino)
		}
	}
	if err == nil {
		of.mu.Lock()
		err = of.startWriting(ctx, flags&syscall.O_TRUNC != 0, known)
		if err == nil {
			of.writers++
		}
		of.mu.Unlock()
	}
	if err != nil {
		node.state().pt.endHandle(false)
		f.release(ctx, of, false)
		return nil, 0, f.toErrno("open", of.ino, err)
	}
	return &spoolHandle{of: of, node: node, writer: true}, fuse.FOPEN_DIRECT_IO, 0
}

// truncate sets the length of file ino: through the open spool when there
// is one, else by committing a truncated copy at once (truncate(2) has no
// close to wait for).
func (f *fsys) truncate(ctx context.Context, ino uint64, fh fs.FileHandle, size int64) syscall.Errno {
	of := f.acquire(ino)
	of.mu.Lock()
	err := of.startWriting(ctx, size == 0, nil)
	if err == nil {
		err = of.truncateLocked(size)
	}
	of.mu.Unlock()
	if err == nil && fh == nil {
		err = of.commit(ctx)
	}
	return f.toErrno("truncate", ino, joinErr(err, f.release(ctx, of, false)))
}
