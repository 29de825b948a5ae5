package vfs

import (
	"context"

	"github.com/n4ws/n4ws/backing"
)

// knownContent is what a read-only open of a file found in the index: a
// warm small-file read (open, pages from the kernel's cache, close) then
// costs no index query. It is exact while no write transaction of this
// process that may change the tree and no change logged by another
// process came after it: the store's tree-write count and the mount's
// change count tell.
type knownContent struct {
	size    int64
	digest  backing.Digest
	inline  bool
	writes  uint64 // store.TreeWrites() before the query
	changes uint64 // fsys.changes before the query
}

// openBlob returns file ino's size and digest (in a partial Attr) and its
// open blob, from what node knows when it is still exact, else from the
// index, remembering the answer. first says that this is the node's first
// open: an inline blob then comes with its bytes, read with the node, for
// readCacheFlags to hand to the kernel.
func (f *fsys) openBlob(ctx context.Context, node *fileNode, ino uint64, first bool) (backing.Attr, *backing.Blob, error) {
	writes, changes := f.stamp()
	st := node.state()
	st.mu.Lock()
	k := st.known
	st.mu.Unlock()
	if k != nil && k.writes == writes && k.changes == changes {
		a := backing.Attr{Ino: ino, Size: k.size, Blob: k.digest}
		if k.digest.IsZero() {
			return a, nil, nil
		}
		if blob, err := f.store().OpenKnownBlob(k.digest, k.inline); err == nil {
			return a, blob, nil
		}
		// The blob went away under a stale entry: ask the index.
	}
	store := f.store()
	open := store.OpenFile
	if first {
		open = store.OpenFileData // readCacheFlags gives the kernel its bytes
	}
	a, blob, err := open(ctx, ino)
	if err != nil {
		return a, nil, err
	}
	k = &knownContent{size: a.Size, digest: a.Blob, inline: blob != nil && blob.File() == nil,
		writes: writes, changes: changes}
	st.mu.Lock()
	st.known = k
	st.mu.Unlock()
	return a, blob, nil
}
