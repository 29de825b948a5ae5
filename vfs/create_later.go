package vfs

import (
	"context"

	"github.com/n4ws/n4ws/backing"
)

// Creates answered from the folder's listing (backing/create_later.go).
//
// open(O_CREAT) of a name that the folder's exact listing (lookup_cache.go)
// says is free, in a folder that may change, is answered with an inode
// number the store reserved beforehand; the listing applies the create at
// once (the GETATTR of the folder that follows is answered from memory),
// and the node, its name and its first content are written in the one
// transaction of the file's close (FLUSH). Every read of the index writes
// the pending creates first (fsys.store), so what the mount reads agrees
// with what it answered. The close itself may be answered from the store's
// close journal, the file written in a batch with others a moment later
// (applyCloseToListing). Durable mounts and team stores create at once.

// createLater answers the create of regular file nn, named name in folder
// dir, when the folder's listing can vouch for it, and hands it to the
// store; false: the caller creates it now. The caller checked that the
// listing was exact and free of name (dirNode.createLater), so that the
// inode number reserved here is rarely wasted.
func (f *fsys) createLater(ctx context.Context, dir uint64, name string, nn backing.NewNode) (backing.Attr, bool) {
	if dir == backing.RootIno || backing.CheckName(name) != nil {
		return backing.Attr{}, false
	}
	a, err := f.st.NewFileAttr(ctx, nn)
	if err != nil {
		f.log.Warn("create: no inode number reserved, creating at once", "err", err)
		return a, false
	}
	return a, f.applyCreateToListing(dir, name, a)
}

// applyCreateToListing adds name (new file a) to dir's exact listing and
// hands the create to the store, both under the listings' lock, so that
// no listing read from the index meanwhile can miss it (putRead).
func (f *fsys) applyCreateToListing(dir uint64, name string, a backing.Attr) bool {
	writes, changes := f.stamp()
	c := &f.listings
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.exact(dir, writes, changes)
	if l == nil || l.self.Flags&backing.FlagReadOnly != 0 {
		return false
	}
	if _, taken := l.attrs[name]; taken {
		return false
	}
	l.add(name, a)
	l.touched(a.Ctime, false)
	// A listing of the folder's parent holds the folder's attributes,
	// which changed: it goes.
	c.keepOnly(func(o *listing) bool {
		_, holdsDir := o.names[dir]
		return !holdsDir
	})
	f.st.CreateLater(backing.CreateItem{Parent: dir, Name: name, Attr: a})
	c.applied++ // after it is queued (noteApplied), under the same lock
	return true
}

// applyCloseToListing shows new file a's content, its close answered from
// the store's close journal (backing/close_journal.go), in the listings
// that hold it: no write moved their stamp, and the index shows it once the
// store writes it (Settle, before every read).
func (f *fsys) applyCloseToListing(a backing.Attr) {
	c := &f.listings
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keepOnly(func(l *listing) bool { return l.showContent(a) })
	c.applied++ // a listing read meanwhile may lack it: not kept (putRead)
}

// createFollower keeps the listings exact when the store writes pending
// creates for a reader (backing.CreateFollower): they show them already.
type createFollower struct{ f *fsys }

func (c createFollower) CreatesWritten(before uint64, failed []backing.CreateItem) {
	if len(failed) == 0 {
		c.f.ownWrite(before, func(*listing) bool { return true })
		return
	}
	gone := map[uint64]bool{}
	for _, it := range failed {
		gone[it.Parent] = true
	}
	c.f.dropListings(gone) // they show a file that is not there
}

// dropListings forgets the listings of folders dirs.
func (f *fsys) dropListings(dirs map[uint64]bool) {
	c := &f.listings
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keepOnly(func(l *listing) bool { return !dirs[l.dir] })
}
