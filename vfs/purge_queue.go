package vfs

import (
	"context"
	"sync"
	"time"
)

// purgeBatchDelay is how long the purger waits after the first queued
// node, for more to come: the kernel forgets the files of an rm -rf one
// by one, and a transaction per file held the index's write lock for as
// long as the unlinks that rm waits for.
const purgeBatchDelay = 10 * time.Millisecond

// purgeQueue holds unlinked nodes the kernel has forgotten, or did not
// hold when they lost their last name, to be purged from the index in
// batches. Nodes left in it when the mount stops have no name and are
// purged at the next mount (Store.PurgeUnlinked).
type purgeQueue struct {
	mu   sync.Mutex
	inos []uint64
	wake chan struct{} // buffered, 1
}

// queuePurge adds ino, which no name reaches any more, to the nodes the
// purger deletes unless a handle or the kernel holds it by then.
func (f *fsys) queuePurge(ino uint64) {
	q := &f.purges
	q.mu.Lock()
	q.inos = append(q.inos, ino)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// runPurger purges queued nodes until ctx ends.
func (f *fsys) runPurger(ctx context.Context) {
	q := &f.purges
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(purgeBatchDelay):
		}
		q.mu.Lock()
		queued := q.inos
		q.inos = nil
		q.mu.Unlock()
		batch := f.stillUnused(queued)
		if len(batch) == 0 {
			continue
		}
		if err := f.store().PurgeAll(ctx, batch); err != nil && ctx.Err() == nil {
			f.log.Error("purge unlinked nodes", "count", len(batch), "err", err)
		}
	}
}

// stillUnused returns the queued nodes that nothing holds now: a node the
// kernel was handed meanwhile (by a lookup that read its name before the
// unlink) or opened is left to its forget or last release instead.
func (f *fsys) stillUnused(queued []uint64) []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	free := queued[:0]
	for _, ino := range queued {
		if !f.leaveToHandlesLocked(ino) {
			free = append(free, ino)
		}
	}
	return free
}
