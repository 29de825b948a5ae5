package vfs

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"golang.org/x/sys/unix"

	"github.com/n4ws/n4ws/backing"
)

// openFile is the state of a file with open handles. All write handles of
// one file share its spool, so they see each other's writes as POSIX wants.
//
// Content being written lives in memory while it is small (up to the
// store's inline size: it will be stored in the index, so a file on disk
// would only cost a create and an unlink), and in a spool file beyond.
// The spool starts as a copy of the committed blob (or empty for O_TRUNC).
// Commit hashes it and hard-links it into the blob store; from then on the
// spool is "sealed" (it IS the blob's inode), and the next write first moves
// to a fresh copy so that a stored blob never changes.
type openFile struct {
	ino  uint64 // read only
	fsys *fsys  // read only

	handles  int  // open handles of any kind; protected by fsys.mu
	unlinked bool // its last name went while open: purge at the last release; protected by fsys.mu

	mu      sync.Mutex // protects the following
	active  bool       // someone writes: the content is in mem or spool
	mem     []byte     // the content while small and spool is nil
	spool   *os.File   // the content once large
	sealed  bool       // spool is linked into the blob store
	dirty   bool       // spool differs from the committed content
	size    int64
	mtime   time.Time
	ctime   time.Time   // last change of the uncommitted content
	setID   bool        // the file has a set-ID bit that a write by an unprivileged user clears
	hasher  *pipeHasher // running hash of the content's first hashed bytes, valid while hashOK
	hashed  int64
	hashOK  bool
	writers int // handles that may write
}

// openFileOf returns the open state of ino, or nil.
func (f *fsys) openFileOf(ino uint64) *openFile {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open[ino]
}

// acquire registers a new handle of ino.
func (f *fsys) acquire(ino uint64) *openFile {
	f.mu.Lock()
	defer f.mu.Unlock()
	of := f.open[ino]
	if of == nil {
		of = &openFile{ino: ino, fsys: f}
		f.open[ino] = of
	}
	of.handles++
	return of
}

// release drops a handle; the last one commits what is left, removes the
// spool and purges the node if it was unlinked meanwhile.
func (f *fsys) release(ctx context.Context, of *openFile, writer bool) error {
	of.mu.Lock()
	if writer {
		of.writers--
	}
	of.mu.Unlock()
	// All under f.mu: no open of the node may start while its last handle
	// goes. The commit is almost always empty (FLUSH committed at close).
	f.mu.Lock()
	defer f.mu.Unlock()
	of.handles--
	if of.handles > 0 {
		return nil
	}
	delete(f.open, of.ino)
	err := of.commit(ctx)
	of.mu.Lock()
	of.stopWriting()
	of.mu.Unlock()
	if of.unlinked || f.unlinked[of.ino] { // Purge checks again that no name came back (a link)
		delete(f.unlinked, of.ino)
		err = errors.Join(err, f.store().Purge(ctx, of.ino))
	}
	return err
}

// unlink removes name, whose node the kernel knows as child (nil when it
// does not), from directory dir. A file no handle has open may go to the
// trash itself rather than as a copy (Store.UnlinkUnopened); trashed says
// it did, and the node is then the trash's, not to be purged.
func (f *fsys) unlink(ctx context.Context, dir uint64, child *fs.Inode, name string) (a backing.Attr, trashed bool, err error) {
	if child != nil {
		if ino := child.StableAttr().Ino; f.openFileOf(ino) == nil {
			return f.store().UnlinkUnopened(ctx, dir, name, ino)
		}
	}
	a, err = f.store().Unlink(ctx, dir, name)
	return a, false, err
}

// purgeIfUnused leaves an unlinked node to the release of its last open
// handle, or to the kernel's forget when it still knows the node (an open
// racing with the rename that replaced it must still work), or else to the
// purger, a few milliseconds later: a lookup that read the name just
// before the unlink may still be about to hand the node to the kernel, and
// the purger checks again (purge_queue.go).
func (f *fsys) purgeIfUnused(a *backing.Attr) {
	if a.Nlink > 0 || a.IsDir() {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.leaveToHandlesLocked(a.Ino) {
		f.queuePurge(a.Ino)
	}
}

// leaveToHandlesLocked marks an unlinked node for the release of its last
// open handle or the kernel's forget of it, and says whether it did; false
// means nothing holds it and it may be purged. f.mu held.
func (f *fsys) leaveToHandlesLocked(ino uint64) bool {
	if of, open := f.open[ino]; open {
		of.unlinked = true
		return true
	}
	if _, known := f.nodes[ino]; known {
		f.unlinked[ino] = true
		return true
	}
	return false
}

// overlay shows uncommitted size and mtime in a node's attributes.
func (of *openFile) overlay(a *backing.Attr) {
	of.mu.Lock()
	defer of.mu.Unlock()
	if of.active {
		a.Size = of.size
		if of.dirty {
			a.Mtime = of.mtime
			if of.ctime.After(a.Ctime) {
				a.Ctime = of.ctime
			}
		}
	}
}

func (of *openFile) setMtime(t time.Time) {
	of.mu.Lock()
	of.mtime = t
	of.mu.Unlock()
}

// startWriting makes sure the content is open for writing, filled with the
// committed content or empty when trunc. Call with of.mu held.
func (of *openFile) startWriting(ctx context.Context, trunc bool, known *backing.Attr) error {
	if of.active {
		if trunc {
			return of.truncateLocked(0)
		}
		return nil
	}
	var a backing.Attr
	var err error
	if known != nil {
		a = *known
	} else if a, err = of.fsys.store().GetAttr(ctx, of.ino); err != nil {
		return err
	}
	of.mtime, of.ctime, of.sealed = a.Mtime, a.Ctime, false
	of.setID = backing.HasSetID(a.Mode)
	of.hasher, of.hashed, of.hashOK = newPipeHasher(), 0, true
	switch {
	case trunc || a.Size == 0:
		of.mem, of.size = nil, 0
		of.dirty = trunc && a.Size > 0
		if of.dirty { // open(O_TRUNC) changes the content: new mtime and ctime
			of.touch()
		}
	case a.Size <= of.memMax():
		if of.mem, err = of.fsys.store().ReadBlob(ctx, a.Blob, a.Size); err != nil {
			return err
		}
		of.size, of.hashOK = a.Size, false
	default:
		sp, err := of.fsys.st.NewSpool(of.ino)
		if err != nil {
			return err
		}
		if err := of.fsys.store().CopyBlobInto(ctx, sp, a.Blob); err != nil {
			sp.Close()
			os.Remove(sp.Name())
			return err
		}
		of.spool, of.size, of.hashOK = sp, a.Size, false
	}
	of.active = true
	return nil
}

// memMax is the largest content kept in memory while it is written.
func (of *openFile) memMax() int64 { return max(of.fsys.st.InlineMax(), 0) }

// spill moves in-memory content to a spool file. Call with of.mu held.
func (of *openFile) spill() error {
	sp, err := of.fsys.st.NewSpool(of.ino)
	if err != nil {
		return err
	}
	if _, err := sp.Write(of.mem); err != nil {
		sp.Close()
		os.Remove(sp.Name())
		return fmt.Errorf("spill to spool: %w", err)
	}
	of.spool, of.mem, of.sealed = sp, nil, false
	return nil
}

// unseal moves writing to a private copy of a spool that became a blob.
// Call with of.mu held.
func (of *openFile) unseal() error {
	if !of.sealed {
		return nil
	}
	sp, err := of.fsys.st.NewSpool(of.ino)
	if err != nil {
		return err
	}
	if _, err := io.Copy(sp, io.NewSectionReader(of.spool, 0, of.size)); err != nil {
		sp.Close()
		os.Remove(sp.Name())
		return fmt.Errorf("copy sealed spool: %w", err)
	}
	of.spool.Close()
	os.Remove(of.spool.Name())
	of.spool, of.sealed = sp, false
	return nil
}

// stopWriting drops the in-memory content or closes and removes the
// spool's name (a committed blob keeps its own name). Call with of.mu held.
func (of *openFile) stopWriting() {
	if of.hasher != nil {
		of.hasher.Close()
	}
	if of.spool != nil {
		of.spool.Close()
		os.Remove(of.spool.Name())
		of.spool = nil
	}
	of.mem, of.active = nil, false
}

// prepareWrite makes room for writing [off, end). Call with of.mu held.
func (of *openFile) prepareWrite(end int64) error {
	if of.spool == nil && end > of.memMax() {
		return of.spill()
	}
	return of.unseal()
}

// touch records a change of the content now. Call with of.mu held.
func (of *openFile) touch() {
	of.mtime = time.Now()
	of.ctime = of.mtime
}

// checkSize refuses content longer than the store takes.
func checkSize(end int64) error {
	if end < 0 || end > backing.MaxFileSize {
		return fmt.Errorf("content of %d bytes: %w", end, backing.ErrFileTooBig)
	}
	return nil
}

func (of *openFile) write(data []byte, off int64) (int, error) {
	of.mu.Lock()
	defer of.mu.Unlock()
	end := off + int64(len(data))
	if err := checkSize(end); err != nil {
		return 0, err
	}
	if err := of.prepareWrite(end); err != nil {
		return 0, err
	}
	n := len(data)
	var err error
	if of.spool != nil {
		n, err = pwrite(of.spool, data, off)
	} else {
		if end > int64(len(of.mem)) {
			of.mem = append(of.mem, make([]byte, end-int64(len(of.mem)))...)
		}
		copy(of.mem[off:], data)
	}
	if n > 0 {
		of.dirty = true
		of.touch()
		if e := off + int64(n); e > of.size {
			of.size = e
		}
		if of.hashOK && off == of.hashed {
			of.hasher.Write(data[:n])
			of.hashed += int64(n)
		} else {
			of.hashOK = false // out of order: hash the whole content at commit
		}
	}
	return n, err
}

// pwrite is os.File.WriteAt, but it counts the bytes a failing call (a full
// disk) wrote before it failed, which WriteAt does not report: the size and
// the running hash must cover every byte in the spool.
func pwrite(f *os.File, data []byte, off int64) (int, error) {
	n := 0
	for n < len(data) {
		m, err := unix.Pwrite(int(f.Fd()), data[n:], off+int64(n))
		if err == unix.EINTR {
			continue
		}
		if m > 0 {
			n += m
		}
		if err != nil {
			return n, fmt.Errorf("write spool: %w", err)
		}
		if m == 0 {
			return n, io.ErrShortWrite
		}
	}
	return n, nil
}

func (of *openFile) read(dest []byte, off int64) (int, error) {
	of.mu.Lock()
	defer of.mu.Unlock()
	if off >= of.size {
		return 0, nil
	}
	if max := of.size - off; int64(len(dest)) > max {
		dest = dest[:max]
	}
	if of.spool == nil {
		return copy(dest, of.mem[off:]), nil
	}
	n, err := of.spool.ReadAt(dest, off)
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// truncateLocked sets the content's length. Call with of.mu held.
func (of *openFile) truncateLocked(size int64) error {
	if err := checkSize(size); err != nil {
		return err
	}
	if err := of.prepareWrite(size); err != nil {
		return err
	}
	if of.spool != nil {
		if err := of.spool.Truncate(size); err != nil {
			return fmt.Errorf("truncate spool: %w", err)
		}
	} else if size <= int64(len(of.mem)) {
		of.mem = of.mem[:size]
	} else {
		of.mem = append(of.mem, make([]byte, size-int64(len(of.mem)))...)
	}
	if size != of.size {
		of.dirty = true
		of.touch()
	}
	switch {
	case size == 0:
		of.hasher.Reset()
		of.hashed, of.hashOK = 0, true
	case size < of.hashed || size > of.size:
		of.hashOK = false
	}
	of.size = size
	return nil
}

// commit stores the spool's content as the file's content if it changed.
func (of *openFile) commit(ctx context.Context) error {
	of.mu.Lock()
	defer of.mu.Unlock()
	if !of.active || !of.dirty {
		return nil
	}
	c := backing.Content{Size: of.size, Mtime: of.mtime}
	if of.spool != nil {
		c.File = of.spool.Name()
	} else {
		c.Data = of.mem
	}
	if of.size > 0 {
		switch {
		case of.hashOK && of.hashed == of.size:
			of.hasher.Sum(c.Digest[:0])
		case of.spool == nil:
			c.Digest = sha256.Sum256(of.mem)
		default:
			var err error
			if c.Digest, _, err = backing.HashFile(of.spool); err != nil {
				return err
			}
		}
	}
	if !of.fsys.st.CreatePending(of.ino) {
		// The commit writes what is pending first (closed new files, in
		// a batch); written before the stamp, that batch does not make
		// this commit look like someone else's write to the listings.
		of.fsys.st.Settle()
	}
	writes, _ := of.fsys.stamp()
	// Not fsys.store(): CommitContent writes the queues first itself,
	// and a new file's pending create with its content (create_later.go).
	a, journaled, err := of.fsys.st.CommitContentOrJournal(ctx, of.ino, c)
	if err != nil {
		return err
	}
	if journaled {
		of.fsys.applyCloseToListing(a)
	} else {
		of.fsys.noteCommitted(writes, a)
	}
	of.dirty, of.sealed = false, of.spool != nil && of.size > 0
	return nil
}
