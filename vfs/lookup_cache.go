package vfs

import (
	"context"
	"sync"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// Listing cache: a few directories' names and their children's attributes,
// read in one query, so that a burst of lookups in one folder (stat or
// read of many files after a remount, the negative lookup before each
// create) costs no index query each.
//
// A listing is exact while no write transaction of this process that may
// change the tree and no change logged by another process came after it
// was read (the store's tree-write count and the mount's change count
// tell, as for knownContent): the catalog's bookkeeping does not count.
// The mount's own creates, unlinks and content commits, the writes that a
// burst is made of, apply themselves to the listing of their folder
// instead of making it stale, when theirs was the only transaction in
// between (ownWrite). Every other write makes every listing stale.
const (
	// listingStreak is how many index lookups in a row in one folder
	// make the mount read the whole folder (more for a large one, see
	// noteIndexLookup): one stat of a file in a large folder must not pay
	// for reading it all.
	listingStreak = 8
	// listingMax is the largest folder kept (about 200 bytes a name).
	listingMax = 50000
	// listingSlots is how many folders are kept: bursts go one folder at
	// a time, and memory stays bounded whatever the tree's size.
	listingSlots = 4
)

// listing is one folder's entries at stamp (writes, changes).
type listing struct {
	dir     uint64
	writes  uint64
	changes uint64
	attrs   map[string]backing.Attr
	names   map[uint64]string // child ino → its name, for content commits
	// self is the folder's own attributes: its mode and group decide a new
	// child's group, and the kernel asks for them after every create and
	// unlink in it (default_permissions). The writes a listing follows
	// change only its times and link count, which they set in place.
	self backing.Attr
}

// listingCache holds the listings and each folder's lookup streak.
type listingCache struct {
	mu     sync.Mutex
	slots  []*listing // most recent last
	streak struct {   // index lookups in a row in one folder, and their stamp
		dir, writes, changes uint64
		n                    int
	}
	unlinkStreak struct { // unlinks in a row in one folder without an exact listing
		dir uint64
		n   int
	}
	// applied counts the creates and unlinks applied to a listing ahead
	// of the index (answered first): a listing read from the index while
	// one was applied may miss it, although no write moved the stamp.
	applied uint64
}

// stamp is the store's tree-write count and the mount's change count now.
func (f *fsys) stamp() (uint64, uint64) { return f.st.TreeWrites(), f.changes.Load() }

// cachedLookup answers a lookup of name in dir from a listing that is still
// exact: found tells whether the folder holds the name. ok is false when
// no exact listing of dir is at hand.
func (f *fsys) cachedLookup(dir uint64, name string) (a backing.Attr, found, ok bool) {
	writes, changes := f.stamp()
	c := &f.listings
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.exact(dir, writes, changes)
	if l == nil {
		return a, false, false
	}
	a, found = l.attrs[name]
	return a, found, true
}

// noteIndexLookup counts a lookup in dir that asked the index, stamped
// (writes, changes) before it. After listingStreak of them in a row with
// no write in between other than the mount's own applied ones (a create
// burst), and one more for every 16 entries the folder had when last read
// (re-reading a large folder made stale by a write the mount cannot apply,
// such as a catalog refresh, must cost less than the queries it saves),
// it reads the whole folder.
func (f *fsys) noteIndexLookup(ctx context.Context, dir, writes, changes uint64) {
	c := &f.listings
	c.mu.Lock()
	s := &c.streak
	if s.dir != dir || s.writes != writes || s.changes != changes {
		s.dir, s.writes, s.changes, s.n = dir, writes, changes, 0
	}
	s.n++
	size := 0
	if l := c.find(dir); l != nil {
		size = len(l.attrs)
	}
	load := s.n == max(listingStreak, size/16)
	c.mu.Unlock()
	if load {
		f.loadListing(ctx, dir)
	}
}

// loadListing reads folder dir whole into a listing.
func (f *fsys) loadListing(ctx context.Context, dir uint64) {
	applied := f.listings.appliedCount() // before the queues are written: see putRead
	writes, changes := f.settledStamp()  // before the query: a write during it makes the listing stale
	names, attrs, err := f.store().ReadDirPlus(ctx, dir)
	if err == nil {
		f.keepListing(ctx, dir, applied, writes, changes, names, attrs)
	}
}

// keepListing stores names and attrs, dir's entries read at stamp (writes,
// changes), as its listing, with the folder's own attributes, unless a
// create or unlink was applied ahead of the index since applied.
func (f *fsys) keepListing(ctx context.Context, dir, applied, writes, changes uint64, names []string, attrs []backing.Attr) {
	if len(names) > listingMax {
		return
	}
	self, err := f.store().GetAttr(ctx, dir)
	if err != nil {
		return
	}
	l := &listing{dir: dir, writes: writes, changes: changes, self: self,
		attrs: make(map[string]backing.Attr, len(names)), names: make(map[uint64]string, len(names))}
	for i, name := range names {
		l.add(name, attrs[i])
	}
	f.listings.putRead(l, applied)
}

// appliedCount is the count of creates and unlinks applied ahead of the
// index so far.
func (c *listingCache) appliedCount() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.applied
}

// putRead keeps l, read from the index after the count of applied creates
// and unlinks was applied, unless one was applied since: the read may
// have missed it (it was queued after the queues were written) while the
// stamp did not move, and the listing would then contradict an answer.
func (c *listingCache) putRead(l *listing, applied uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.applied == applied {
		c.putLocked(l)
	}
}

// noteApplied counts a create or unlink applied ahead of the index, once
// it is queued: a listing read after that sees it once the queue is
// written, which every read does first.
func (c *listingCache) noteApplied() {
	c.mu.Lock()
	c.applied++
	c.mu.Unlock()
}

// settledStamp is stamp once the queued unlinks are written (fsys.store):
// taken before a read of the index, it then covers what the read sees.
func (f *fsys) settledStamp() (uint64, uint64) {
	f.st.Settle()
	return f.stamp()
}

// startListing records that folder dir, just made by this mount's write
// that started at stamp (before, changes), is empty: a new folder's
// negative lookups (each create in it) then cost no query. Only when that
// write was the only change since.
func (f *fsys) startListing(a *backing.Attr, before, changes uint64) {
	if w, c := f.stamp(); w != before+1 || c != changes {
		return
	}
	f.listings.put(&listing{dir: a.Ino, writes: before + 1, changes: changes, self: *a,
		attrs: map[string]backing.Attr{}, names: map[uint64]string{}})
}

// cachedOwner returns folder dir's mode and gid from an exact listing.
func (f *fsys) cachedOwner(dir uint64) (mode, gid uint32, ok bool) {
	a, ok := f.cachedSelf(dir)
	return a.Mode, a.Gid, ok
}

// cachedSelf returns folder dir's own attributes from an exact listing.
func (f *fsys) cachedSelf(dir uint64) (backing.Attr, bool) {
	writes, changes := f.stamp()
	c := &f.listings
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.exact(dir, writes, changes)
	if l == nil {
		return backing.Attr{}, false
	}
	return l.self, true
}

func (l *listing) add(name string, a backing.Attr) {
	l.attrs[name] = a
	if _, dup := l.names[a.Ino]; dup || a.Nlink > 1 && !a.IsDir() {
		l.names[a.Ino] = "" // a hard link: a commit cannot tell which names to update
	} else {
		l.names[a.Ino] = name
	}
}

// ownWrite applies this mount's write, which started at write count
// before, to the listings. When it was the only transaction since, apply
// updates the listings it concerns (returning false drops one) and every
// listing exact before stays exact; otherwise they are all stale already.
func (f *fsys) ownWrite(before uint64, apply func(l *listing) bool) {
	writes, changes := f.stamp()
	if writes != before+1 {
		return
	}
	c := &f.listings
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := &c.streak; s.writes == before && s.changes == changes {
		s.writes = writes // an applied write does not break a streak
	}
	c.keepOnly(func(l *listing) bool {
		if l.writes != before || l.changes != changes {
			return false // stale: drop it
		}
		if apply(l) {
			l.writes = writes
			return true
		}
		return false
	})
}

// keepOnly drops the listings keep refuses. Call with c.mu held.
func (c *listingCache) keepOnly(keep func(l *listing) bool) {
	kept := c.slots[:0]
	for _, l := range c.slots {
		if keep(l) {
			kept = append(kept, l)
		}
	}
	clear(c.slots[len(kept):])
	c.slots = kept
}

// noteCreated applies the create of name (attributes a) in dir. The
// folder's own attributes changed: a listing of its parent goes.
func (f *fsys) noteCreated(before, dir uint64, name string, a backing.Attr) {
	f.ownWrite(before, func(l *listing) bool {
		if l.dir != dir {
			_, holdsDir := l.names[dir]
			return !holdsDir
		}
		l.add(name, a)
		l.touched(a.Ctime, a.IsDir())
		return true
	})
}

// touched applies a change of the folder's entries at time t (the time
// the store gave the folder, which is the new or unlinked node's ctime),
// one subfolder more when subdir is set.
func (l *listing) touched(t time.Time, subdir bool) {
	l.self.Mtime, l.self.Ctime = t, t
	if subdir {
		l.self.Nlink++
	}
}

// noteUnlinked applies the unlink of name in dir; a is the node after it.
// Only dir's listing stays: below runs/ the unlink also filled the trash.
func (f *fsys) noteUnlinked(before, dir uint64, name string, a backing.Attr) {
	f.ownWrite(before, func(l *listing) bool {
		if l.dir != dir {
			return false
		}
		if a.Nlink > 0 { // other names of the node changed too
			return false
		}
		delete(l.attrs, name)
		delete(l.names, a.Ino)
		l.touched(a.Ctime, false)
		return true
	})
}

// noteCommitted applies a content commit of file a (its attributes after).
func (f *fsys) noteCommitted(before uint64, a backing.Attr) {
	f.ownWrite(before, func(l *listing) bool { return l.showContent(a) })
}

// showContent puts file a's attributes after a content commit in l, if l
// holds it; false when l cannot tell which of its names is a (several
// links): l must go.
func (l *listing) showContent(a backing.Attr) bool {
	name, held := l.names[a.Ino]
	if !held {
		return true
	}
	if name == "" {
		return false
	}
	l.attrs[name] = a
	return true
}

func (c *listingCache) find(dir uint64) *listing {
	for _, l := range c.slots {
		if l.dir == dir {
			return l
		}
	}
	return nil
}

// exact returns dir's listing if it is exact at stamp (writes, changes).
func (c *listingCache) exact(dir, writes, changes uint64) *listing {
	if l := c.find(dir); l != nil && l.writes == writes && l.changes == changes {
		return l
	}
	return nil
}

// put adds l, replacing dir's previous listing or the oldest one.
func (c *listingCache) put(l *listing) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(l)
}

func (c *listingCache) putLocked(l *listing) {
	for i, old := range c.slots {
		if old.dir == l.dir {
			c.slots = append(c.slots[:i], c.slots[i+1:]...)
			break
		}
	}
	if len(c.slots) == listingSlots {
		c.slots = append(c.slots[:0], c.slots[1:]...)
	}
	c.slots = append(c.slots, l)
}
