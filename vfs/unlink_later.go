package vfs

import (
	"context"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"

	"github.com/n4ws/n4ws/backing"
)

// Unlinks answered from the folder's listing (backing/unlink_later.go).
//
// The unlink of a file that no handle has open and no other name reaches
// is answered as soon as the folder's exact listing (lookup_cache.go) says
// that the name is that file and that the folder and the file may change;
// the store writes it in its next batch. The listing applies the unlink at
// once, so the GETATTR of the folder that follows it is answered from
// memory too, and every read of the index first writes the queue
// (fsys.store). Durable mounts unlink at once: an answered unlink is then
// on disk.

// unlinkStats counts how unlinks went, for the debug log of each batch.
type unlinkStats struct {
	later atomic.Int64 // answered first, written in a batch
	now   atomic.Int64 // written before the answer
}

// unlinkLater answers the unlink of child, named name in folder dir, when
// the folder's listing can vouch for it, and queues it; false: the caller
// unlinks it now.
func (f *fsys) unlinkLater(ctx context.Context, dir uint64, name string, child *fs.Inode) bool {
	if !f.unlinksLater || child == nil || child.StableAttr().Mode&syscall.S_IFMT != syscall.S_IFREG {
		return false
	}
	ino := child.StableAttr().Ino
	if f.openFileOf(ino) != nil {
		return false // an open file keeps its POSIX life: unlinked at once
	}
	if f.st.CreatePending(ino) {
		// Not in the index yet (its close answered from the journal):
		// unlinked at once, after the write of its create, which a
		// queued unlink would otherwise precede.
		return false
	}
	now, ok, first, load := f.applyUnlinkToListing(dir, name, ino)
	if !ok && first && f.smallFolder(ctx, dir) {
		// The first unlink in a folder without an exact listing (after
		// a remount: rm -rf of old pipeline folders of ten files each):
		// a small folder is read at once.
		f.loadListing(ctx, dir)
		now, ok, _, _ = f.applyUnlinkToListing(dir, name, ino)
	}
	if !ok {
		f.unlinks.now.Add(1)
		if load {
			// Unlinks in a row in a large folder without an exact
			// listing: read it now, before this unlink, which then
			// applies itself to it (noteUnlinked), so that the next
			// ones are answered first.
			f.loadListing(ctx, dir)
		}
		return false
	}
	f.unlinks.later.Add(1)
	f.st.UnlinkLater(backing.UnlinkItem{Parent: dir, Name: name, Ino: ino, Time: now})
	f.listings.noteApplied()
	return true
}

// smallFolderMax is the largest folder read whole at its first unlink.
const smallFolderMax = 64

// smallFolder reports whether folder dir has at most smallFolderMax entries.
func (f *fsys) smallFolder(ctx context.Context, dir uint64) bool {
	more, err := f.store().HasMoreEntries(ctx, dir, smallFolderMax)
	return err == nil && !more
}

// applyUnlinkToListing removes name (file ino) from dir's exact listing
// when the unlink may be answered from it, and returns the folder's new
// times. Without an exact listing, first says that this is the first
// unlink in the folder in a row, and load that the caller should read it:
// unlinks in a row found none.
func (f *fsys) applyUnlinkToListing(dir uint64, name string, ino uint64) (now time.Time, ok, first, load bool) {
	writes, changes := f.stamp()
	c := &f.listings
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.exact(dir, writes, changes)
	if l == nil {
		s := &c.unlinkStreak
		if s.dir != dir {
			s.dir, s.n = dir, 0
		}
		s.n++
		return now, false, s.n == 1, s.n%listingStreak == 0
	}
	a, found := l.attrs[name]
	if !found || a.Ino != ino || a.Mode&syscall.S_IFMT != syscall.S_IFREG || a.Nlink != 1 || a.Flags != 0 ||
		l.self.Flags&backing.FlagReadOnly != 0 {
		return now, false, false, false // the store says why (or the name went meanwhile)
	}
	now = time.Now()
	delete(l.attrs, name)
	delete(l.names, ino)
	l.touched(now, false)
	// Every other listing may hold this folder's attributes or show the
	// trash, which the batch changes: they go.
	c.keepOnly(func(o *listing) bool { return o == l })
	return now, true, false, false
}

// unlinkFollower keeps the mount's caches and purges in step with the
// batches the store writes (backing.UnlinkFollower).
type unlinkFollower struct{ f *fsys }

// Committed: the listings applied the batch's unlinks when they were
// answered, and the batch is the only write since; they stay exact, but
// for folders where an item did not go as answered.
func (u unlinkFollower) Committed(b backing.UnlinkBatch) {
	exact := map[uint64]bool{}
	for i := range b.Done {
		d := &b.Done[i]
		if _, seen := exact[d.Parent]; !seen || d.Err != nil {
			exact[d.Parent] = d.Err == nil
		}
	}
	u.f.ownWrite(b.TreeWritesBefore, func(l *listing) bool { return exact[l.dir] })
}

// Written: files that left the tree without going to the trash are purged
// once unused, and an unlink that could not be written is logged.
func (u unlinkFollower) Written(b backing.UnlinkBatch) {
	f := u.f
	for i := range b.Done {
		d := &b.Done[i]
		switch {
		case d.Err == nil:
			if !d.Trashed {
				f.purgeIfUnused(&d.Attr)
			}
		case backing.IsGone(d.Err):
			f.log.Debug("answered unlink: the name had gone already", "dir", d.Parent, "name", d.Name)
		default:
			f.log.Error("an unlink the mount answered could not be written: the file is still there",
				"dir", d.Parent, "name", d.Name, "err", d.Err)
		}
	}
	f.log.Debug("unlinks written", "batch", len(b.Done),
		"answered_first", f.unlinks.later.Load(), "at_once", f.unlinks.now.Load())
}
