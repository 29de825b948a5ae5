package backing

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Unlinks answered first, written in batches.
//
// An unlink's own transaction is most of what rm -rf costs the mount per
// file (its statements and its COMMIT, about 0.3–0.5 ms of CPU). The mount
// may instead check an unlink against what it knows exactly (the folder's
// listing, vfs/unlink_later.go), answer it, and queue it here: a committer
// goroutine writes the queued unlinks in one transaction per batch while
// rm goes on, and a batch grows by itself while the one before commits.
//
// What still holds:
//   - Order: every write transaction of this Store (updateTx, Sync) commits
//     the queue first, so writes reach the index in the order they were
//     answered.
//   - Readers: Settle commits the queue. The mount calls it before each of
//     its reads of the index, and for a CLI command (the apply socket's
//     "settle"), so no reader sees a name the mount said was gone.
//   - A crash (kill -9 of the mount) between the answer and the commit, a
//     few milliseconds, loses those unlinks: the files are still there
//     after it, as after a power cut on a local file system whose folder
//     was not fsynced. Each batch is one transaction: the store stays
//     consistent. fsync of the folder, sync and unmount commit the queue.
//   - An item whose name reaches another node by then (the CLI replaced
//     it) is left alone: the unlink came before the replacement.

// maxQueuedUnlinks bounds the queue: an unlink that finds it full commits
// it before returning, so the lag and the memory stay bounded.
const maxQueuedUnlinks = 4096

// UnlinkItem is one queued unlink: file Ino, unopened, named Name in Parent.
type UnlinkItem struct {
	Parent uint64
	Name   string
	Ino    uint64
	Time   time.Time // when it was answered: the folder's new mtime and ctime
}

// UnlinkDone is how an item's unlink went.
type UnlinkDone struct {
	UnlinkItem
	Attr    Attr // the node after it (Nlink: its names left in the tree)
	Trashed bool // the node itself went to the trash: not the caller's to purge
	// Err is nil, or ErrNotFound when the name had gone or reached another
	// node by then (nothing to undo), or why the unlink failed: the file
	// is still there although the mount answered that it was gone.
	Err error
}

// UnlinkBatch is one written batch. TreeWritesBefore is TreeWrites just
// before its transaction (0 when it took several): a cache that applied
// the batch's unlinks when they were answered stays exact when the count
// is TreeWritesBefore+1 after it.
type UnlinkBatch struct {
	TreeWritesBefore uint64
	Done             []UnlinkDone
}

// UnlinkFollower follows the batches of UnlinkLater.
type UnlinkFollower interface {
	// Committed is called as soon as a batch is committed and counted,
	// before any other write of this Store can commit, so that a cache
	// can follow it exactly; it must not use the Store nor wait for
	// anything that may. Not called for a batch written one by one.
	Committed(UnlinkBatch)
	// Written is called for every batch afterwards, on the committer's
	// goroutine, holding no lock of the Store.
	Written(UnlinkBatch)
}

// unlinkQueue is the Store's queue of unlinks to write.
type unlinkQueue struct {
	pending  atomic.Int64 // queued, plus those of the batch being written
	commitMu sync.Mutex   // one batch at a time: Settle waits for the one in flight

	mu      sync.Mutex // protects the following
	items   []UnlinkItem
	reports []UnlinkBatch // written, for follow.Written (on the committer)
	follow  UnlinkFollower
	wake    chan struct{} // nil until EnableUnlinkLater
	worker                // the committer
}

// EnableUnlinkLater starts the committer of UnlinkLater, whose batches
// follow sees. Close stops it after writing the queue.
func (s *Store) EnableUnlinkLater(follow UnlinkFollower) {
	q := &s.unlinks
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.wake != nil {
		return
	}
	q.follow = follow
	q.wake = make(chan struct{}, 1)
	q.worker = startWorker()
	go s.runUnlinkCommitter(q.wake, q.stop, q.finished)
}

// UnlinkLater queues the unlink of it, which the caller has checked and
// answered (see the top of this file). Without EnableUnlinkLater it
// writes it at once.
func (s *Store) UnlinkLater(it UnlinkItem) {
	q := &s.unlinks
	q.mu.Lock()
	if q.wake == nil {
		q.mu.Unlock()
		if _, ok := s.commitUnlinks([]UnlinkItem{it}, nil); !ok {
			s.log.Error("an answered unlink could not be written: the index is locked", "name", it.Name)
		}
		return
	}
	q.items = append(q.items, it)
	q.pending.Add(1)
	full := len(q.items) >= maxQueuedUnlinks
	q.mu.Unlock()
	if full {
		s.Settle()
		return
	}
	nudge(q.wake)
}

// Settle writes every unlink queued before it was called. When the index
// stays locked by another process past the busy timeout, it returns with
// them still queued, for the committer to retry: a reader then sees them
// late rather than waiting on the lock for good.
//
// It then writes the creates answered first (create_later.go), after the
// unlinks, which were all answered before them.
func (s *Store) Settle() {
	s.settleUnlinks()
	s.settleCreates()
}

// settleUnlinks is Settle of the unlinks alone.
func (s *Store) settleUnlinks() {
	if s.unlinks.pending.Load() > 0 {
		s.commitQueued()
	}
}

// runUnlinkCommitter writes the queue whenever woken, and reports the
// batches, until stop; then it writes what is left. A batch that could
// not start (the index locked by another process) is tried again a
// second later.
func (s *Store) runUnlinkCommitter(wake, stop, finished chan struct{}) {
	defer close(finished)
	var retry <-chan time.Time
	for {
		select {
		case <-wake:
		case <-retry:
		case <-stop:
			if !s.commitQueued() {
				s.log.Error("answered unlinks could not be written before the store closed: those files are still there",
					"count", s.unlinks.pending.Load())
			}
			s.reportUnlinks()
			return
		}
		retry = nil
		if !s.commitQueued() {
			retry = time.After(unlinkRetryDelay)
		}
		s.reportUnlinks()
	}
}

// unlinkRetryDelay spaces the attempts to write a batch while another
// process holds the index's write lock (each waits for the busy timeout).
const unlinkRetryDelay = time.Second

// stopUnlinkLater writes the queue and stops the committer (Close).
func (s *Store) stopUnlinkLater() {
	q := &s.unlinks
	if !halt(&q.mu, &q.worker) {
		s.Settle()
	}
}

// commitQueued writes the items queued so far as one batch; false when
// its transaction could not start, the items queued again in front.
func (s *Store) commitQueued() bool {
	q := &s.unlinks
	q.commitMu.Lock()
	defer q.commitMu.Unlock()
	q.mu.Lock()
	items, follow := q.items, q.follow
	q.items = nil
	q.mu.Unlock()
	if len(items) == 0 {
		return true
	}
	b, ok := s.commitUnlinks(items, follow)
	if !ok {
		q.mu.Lock()
		q.items = append(items, q.items...)
		q.mu.Unlock()
		return false
	}
	q.pending.Add(-int64(len(items)))
	q.mu.Lock()
	if follow != nil {
		q.reports = append(q.reports, b)
	}
	wake := q.wake
	q.mu.Unlock()
	if wake != nil {
		nudge(wake) // the committer reports it
	}
	return true
}

// reportUnlinks hands the written batches to follow.Written.
func (s *Store) reportUnlinks() {
	q := &s.unlinks
	q.mu.Lock()
	reports, follow := q.reports, q.follow
	q.reports = nil
	q.mu.Unlock()
	for _, b := range reports {
		follow.Written(b)
	}
}

// commitUnlinks writes items in one transaction; when that fails, each in
// a transaction of its own, so that one bad item costs no other. ok is
// false when the transaction could not even start (the index locked by
// another process past the busy timeout): nothing was written.
func (s *Store) commitUnlinks(items []UnlinkItem, follow UnlinkFollower) (_ UnlinkBatch, ok bool) {
	ctx := context.Background() // what was answered must be written
	b := UnlinkBatch{Done: make([]UnlinkDone, len(items))}
	began := false
	err := s.writeTx(ctx, true, func(tx *txn) error {
		began = true
		b.TreeWritesBefore = s.treeWrites.Load() // wmu held: no other write moves it
		for i, it := range items {
			b.Done[i] = UnlinkDone{UnlinkItem: it}
			if err := tx.unlinkItem(it, &b.Done[i]); err != nil {
				return err
			}
		}
		if follow != nil {
			tx.afterCommit = func() { follow.Committed(b) }
		}
		return nil
	})
	if err == nil {
		return b, true
	}
	if !began {
		s.log.Warn("answered unlinks wait: their batch could not start", "count", len(items), "err", err)
		return b, false
	}
	s.log.Warn("a batch of unlinks failed; writing them one by one", "count", len(items), "err", err)
	b.TreeWritesBefore = 0 // several transactions: no cache follows them
	for i, it := range items {
		b.Done[i] = UnlinkDone{UnlinkItem: it}
		if err := s.writeTx(ctx, true, func(tx *txn) error { return tx.unlinkItem(it, &b.Done[i]) }); err != nil {
			b.Done[i].Err = fmt.Errorf("unlink %q in %d: %w", it.Name, it.Parent, noSpace(err))
		}
	}
	return b, true
}

// unlinkItem unlinks it, recording how in d. A name gone or reaching
// another node is recorded, not returned: the transaction goes on.
func (tx *txn) unlinkItem(it UnlinkItem, d *UnlinkDone) error {
	a, err := tx.checkUnlink(it.Parent, it.Name)
	if err == nil && a.Ino != it.Ino {
		err = ErrNotFound // replaced since: the unlink came first
	}
	if err != nil {
		d.Attr, d.Err = a, err
		return nil
	}
	d.Attr, d.Trashed, err = tx.applyUnlink(it.Parent, it.Name, a, keepNode(it.Ino), it.Time.UnixNano())
	return err
}

// nudge wakes a goroutine waiting on c (buffer 1) without blocking.
func nudge(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// IsGone reports whether a queued unlink's error only says that the name
// was gone already: nothing to undo.
func IsGone(err error) bool { return errors.Is(err, ErrNotFound) }
