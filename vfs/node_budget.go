package vfs

import (
	"context"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
)

// DefaultNodeBudget is how many stored nodes a mount lets the kernel keep
// before it asks it to forget some: about 1 KB of the mount's memory each
// (go-fuse's tables, n4ws's node, the registry, and the garbage collector's
// headroom), so 100,000 nodes are about 100 MB whatever the tree's size.
const DefaultNodeBudget = 100_000

// nodeTrimInterval is how often the budget is checked: a `find` adds
// about 10,000 nodes a second here, so the overshoot stays small.
const nodeTrimInterval = 250 * time.Millisecond

// trimNodes keeps the number of stored nodes the kernel knows near the
// budget until ctx ends. go-fuse drops a node only when the kernel sends
// FORGET, which the kernel does only when it evicts the inode, normally
// under memory pressure: a `find` over a million files would keep a
// million nodes (2 GB) in the mount. Beyond the budget the mount
// invalidates the entries of nodes picked at random (the kernel then drops
// the unused dentries and inodes and sends FORGET); a node still in use
// (an open file, a folder being walked, a cwd) stays, and a name
// invalidated is looked up again on its next use: only speed is at stake.
func (f *fsys) trimNodes(ctx context.Context, budget int, onTrim func(known int)) {
	t := time.NewTicker(nodeTrimInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		victims, known := f.overBudget(budget)
		if len(victims) > 0 {
			f.log.Debug("node budget: asking the kernel to forget entries", "known", known, "budget", budget, "forget", len(victims))
			forgetEntries(victims)
		}
		if onTrim != nil {
			onTrim(known)
		}
	}
}

// overBudget picks nodes to forget when there are more than budget: down
// to three quarters of it, so that a walk does not trim at every tick.
// Open files and the root are skipped; map order is random enough.
func (f *fsys) overBudget(budget int) (victims []*fs.Inode, known int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	known = len(f.nodes)
	excess := known - budget*3/4
	if known <= budget || excess <= 0 {
		return nil, known
	}
	victims = make([]*fs.Inode, 0, excess)
	for ino, in := range f.nodes {
		if len(victims) == excess {
			break
		}
		if _, open := f.open[ino]; open || in.IsRoot() {
			continue
		}
		victims = append(victims, in)
	}
	return victims, known
}

// forgetEntries asks the kernel to drop each node's name. Called outside
// any FUSE request (a notification sent while the kernel waits for the
// request's reply can deadlock), without f.mu (the kernel may look the
// name up again meanwhile, which takes it).
func forgetEntries(victims []*fs.Inode) {
	for _, in := range victims {
		name, parent := in.Parent()
		if parent == nil || name == "" {
			continue // already gone from the tree
		}
		parent.NotifyEntry(name) // ENOENT: the kernel forgot it already
	}
}
