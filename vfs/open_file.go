package vfs

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// openFile is the state of a file with open handles. All write handles of
// one file share its spool, so they see each other's writes as POSIX wants.
//
// The spool starts as a copy of the committed blob (or empty for O_TRUNC).
// Commit hashes it and hard-links it into the blob store; from then on the
// spool is "sealed" (it IS the blob's inode), and the next write first moves
// to a fresh copy so that a stored blob never changes.
type openFile struct {
	ino  uint64 // read only
	fsys *fsys  // read only

	handles int // open handles of any kind; protected by fsys.mu

	mu      sync.Mutex // protects the following
	spool   *os.File   // nil while nobody writes
	sealed  bool       // spool is linked into the blob store
	dirty   bool       // spool differs from the committed content
	size    int64
	mtime   time.Time
	hasher  hash.Hash // running hash of spool[0:hashed], valid while hashOK
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
	f.mu.Lock()
	of.handles--
	last := of.handles == 0
	if last {
		delete(f.open, of.ino)
	}
	f.mu.Unlock()
	if !last {
		return nil
	}
	err := of.commit(ctx)
	of.mu.Lock()
	if of.spool != nil {
		of.dropSpool()
	}
	of.mu.Unlock()
	if a, gerr := f.store.GetAttr(ctx, of.ino); gerr == nil && a.Nlink == 0 && !a.IsDir() {
		err = errors.Join(err, f.store.Purge(ctx, of.ino))
	}
	return err
}

// purgeIfUnused deletes an unlinked node now, or leaves it to the release of
// its last open handle.
func (f *fsys) purgeIfUnused(ctx context.Context, a *backing.Attr) {
	if a.Nlink > 0 || a.IsDir() {
		return
	}
	f.mu.Lock()
	_, open := f.open[a.Ino]
	f.mu.Unlock()
	if open {
		return
	}
	if err := f.store.Purge(ctx, a.Ino); err != nil {
		f.log.Error("purge unlinked node", "ino", a.Ino, "err", err)
	}
}

// overlay shows uncommitted size and mtime in a node's attributes.
func (of *openFile) overlay(a *backing.Attr) {
	of.mu.Lock()
	defer of.mu.Unlock()
	if of.spool != nil {
		a.Size = of.size
		if of.dirty {
			a.Mtime = of.mtime
		}
	}
}

func (of *openFile) setMtime(t time.Time) {
	of.mu.Lock()
	of.mtime = t
	of.mu.Unlock()
}

// startWriting makes sure a spool exists, filled with the committed content
// or empty when trunc. Call with of.mu held.
func (of *openFile) startWriting(ctx context.Context, trunc bool) error {
	if of.spool != nil {
		if trunc {
			return of.truncateLocked(0)
		}
		return nil
	}
	a, err := of.fsys.store.GetAttr(ctx, of.ino)
	if err != nil {
		return err
	}
	sp, err := of.fsys.store.NewSpool(of.ino)
	if err != nil {
		return err
	}
	of.spool, of.sealed, of.mtime = sp, false, a.Mtime
	of.hasher, of.hashed, of.hashOK = sha256.New(), 0, true
	if trunc || a.Size == 0 {
		of.size = 0
		of.dirty = trunc && a.Size > 0
		return nil
	}
	if err := of.fsys.store.CopyBlobInto(sp, a.Blob); err != nil {
		of.dropSpool()
		return err
	}
	of.size, of.hashOK = a.Size, false
	return nil
}

// unseal moves writing to a private copy of a spool that became a blob.
// Call with of.mu held.
func (of *openFile) unseal() error {
	if !of.sealed {
		return nil
	}
	sp, err := of.fsys.store.NewSpool(of.ino)
	if err != nil {
		return err
	}
	if _, err := io.Copy(sp, io.NewSectionReader(of.spool, 0, of.size)); err != nil {
		sp.Close()
		os.Remove(sp.Name())
		return fmt.Errorf("copy sealed spool: %w", err)
	}
	of.dropSpool()
	of.spool, of.sealed = sp, false
	return nil
}

// dropSpool closes and removes the spool's name (a committed blob keeps its
// own name). Call with of.mu held.
func (of *openFile) dropSpool() {
	of.spool.Close()
	os.Remove(of.spool.Name())
	of.spool = nil
}

func (of *openFile) write(data []byte, off int64) (int, error) {
	of.mu.Lock()
	defer of.mu.Unlock()
	if err := of.unseal(); err != nil {
		return 0, err
	}
	n, err := of.spool.WriteAt(data, off)
	if n > 0 {
		of.dirty, of.mtime = true, time.Now()
		if end := off + int64(n); end > of.size {
			of.size = end
		}
		if of.hashOK && off == of.hashed {
			of.hasher.Write(data[:n])
			of.hashed += int64(n)
		} else {
			of.hashOK = false // out of order: hash the whole spool at commit
		}
	}
	return n, err
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
	n, err := of.spool.ReadAt(dest, off)
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// truncateLocked sets the spool's length. Call with of.mu held.
func (of *openFile) truncateLocked(size int64) error {
	if err := of.unseal(); err != nil {
		return err
	}
	if err := of.spool.Truncate(size); err != nil {
		return fmt.Errorf("truncate spool: %w", err)
	}
	if size != of.size {
		of.dirty, of.mtime = true, time.Now()
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
	if of.spool == nil || !of.dirty {
		return nil
	}
	var d backing.Digest
	if of.size > 0 {
		if of.hashOK && of.hashed == of.size {
			of.hasher.Sum(d[:0])
		} else {
			var err error
			if d, _, err = backing.HashFile(of.spool); err != nil {
				return err
			}
		}
	}
	c := backing.Content{File: of.spool.Name(), Digest: d, Size: of.size, Mtime: of.mtime}
	if _, err := of.fsys.store.CommitContent(ctx, of.ino, c); err != nil {
		return err
	}
	of.dirty, of.sealed = false, of.size > 0
	return nil
}
