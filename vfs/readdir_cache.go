package vfs

import (
	"context"
	"sync"

	"github.com/n4ws/n4ws/backing"
)

// bigListingMin is the size from which a folder's listing is kept for the
// next readdir: a dataset folder of 10,000 pipelines is listed whole by
// every `ls -l` (the kernel may not cache it, its computed entries come
// and go), and reading it from the index was half of each listing's time.
const bigListingMin = 1000

// bigListing is the last large folder read whole, at stamp (writes,
// changes): exact while neither moved, as for the lookup cache. One slot:
// the listing a user repeats is the one in front of them, and memory
// stays bounded (about 150 bytes an entry).
type bigListing struct {
	mu      sync.Mutex
	dir     uint64
	writes  uint64
	changes uint64
	names   []string       // read only once stored
	attrs   []backing.Attr // read only once stored
}

// readDirPlus lists folder ino with its children's attributes, from the
// kept listing when it is still exact. Callers must not modify the slices.
func (f *fsys) readDirPlus(ctx context.Context, ino uint64) ([]string, []backing.Attr, error) {
	writes, changes := f.settledStamp() // before the query: a write after it makes the result stale
	b := &f.bigListing
	b.mu.Lock()
	if b.names != nil && b.dir == ino && b.writes == writes && b.changes == changes {
		names, attrs := b.names, b.attrs
		b.mu.Unlock()
		return names, attrs, nil
	}
	b.mu.Unlock()
	names, attrs, err := f.store().ReadDirPlus(ctx, ino)
	if err != nil || len(names) < bigListingMin {
		return names, attrs, err
	}
	b.mu.Lock()
	b.dir, b.writes, b.changes, b.names, b.attrs = ino, writes, changes, names, attrs
	b.mu.Unlock()
	return names, attrs, nil
}
