package backing

import (
	"context"
	"errors"
	"sync"
)

// lastKnown keeps, for a store on a shared index (a database server), the
// last answer of the reads a mount makes most: attributes, lookups,
// listings, which files are inline and small inline contents. It is read
// only when the server cannot be reached (outage), so that files this
// machine has seen keep reading while the database is down: the answers
// may be as old as the outage, never older. Writes fail meanwhile.
type lastKnown struct {
	mu      sync.Mutex // protects the following
	attrs   map[uint64]Attr
	inline  map[uint64]bool // OpenFile's answer: the file's blob is inline
	lookups map[entryKey]uint64
	dirs    map[uint64]listing
	data    map[Digest][]byte
	dataLen int
}

type entryKey struct {
	parent uint64
	name   string
}

type listing struct {
	names []string
	attrs []Attr
}

// Bounds of the last-known answers: past them, everything is forgotten
// and filled again from the next reads.
const (
	lastKnownEntries = 200_000
	lastKnownBytes   = 64 << 20
)

// outage reports whether err means the index could not be asked (rather
// than answered: not found, cancelled).
func outage(err error) bool {
	return err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, context.Canceled) &&
		!errors.Is(err, context.DeadlineExceeded)
}

func (k *lastKnown) reset() {
	k.attrs, k.inline, k.lookups, k.dirs = map[uint64]Attr{}, map[uint64]bool{}, map[entryKey]uint64{}, map[uint64]listing{}
	k.data, k.dataLen = map[Digest][]byte{}, 0
}

// full makes room; call with mu held.
func (k *lastKnown) full() {
	if k.attrs == nil || len(k.attrs)+len(k.lookups)+len(k.dirs) > lastKnownEntries || k.dataLen > lastKnownBytes {
		k.reset()
	}
}

func (k *lastKnown) putAttr(a Attr) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.full()
	k.attrs[a.Ino] = a
}

func (k *lastKnown) attr(ino uint64) (Attr, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	a, ok := k.attrs[ino]
	return a, ok
}

func (k *lastKnown) putLookup(parent uint64, name string, a Attr) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.full()
	k.lookups[entryKey{parent, name}] = a.Ino
	k.attrs[a.Ino] = a
}

func (k *lastKnown) lookup(parent uint64, name string) (Attr, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ino, ok := k.lookups[entryKey{parent, name}]
	if !ok {
		return Attr{}, false
	}
	a, ok := k.attrs[ino]
	return a, ok
}

func (k *lastKnown) putDir(ino uint64, names []string, attrs []Attr) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.full()
	k.dirs[ino] = listing{names, attrs}
	for i, a := range attrs {
		k.lookups[entryKey{ino, names[i]}] = a.Ino
		k.attrs[a.Ino] = a
	}
}

func (k *lastKnown) dir(ino uint64) (listing, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.dirs[ino]
	return l, ok
}

func (k *lastKnown) putFile(a Attr, inline bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.full()
	k.attrs[a.Ino] = a
	k.inline[a.Ino] = inline
}

func (k *lastKnown) file(ino uint64) (Attr, bool, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	a, ok := k.attrs[ino]
	inline, ok2 := k.inline[ino]
	return a, inline, ok && ok2
}

func (k *lastKnown) putData(d Digest, data []byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.full()
	if _, ok := k.data[d]; !ok {
		k.data[d] = data
		k.dataLen += len(data)
	}
}

func (k *lastKnown) blobData(d Digest) ([]byte, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	data, ok := k.data[d]
	return data, ok
}
