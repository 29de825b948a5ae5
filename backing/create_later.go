package backing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Creates answered first, written with their content.
//
// open(O_CREAT), write, close cost the mount two write transactions per
// file: CREATE's (the node and its name) and FLUSH's (the content: close
// commits, so that a file whose close returned survives kill -9 of the
// mount). Their BEGINs and COMMITs were most of what a small-file create
// costs the mount. The mount may instead answer CREATE from what it knows
// exactly (the folder's listing, vfs/create_later.go) and hand the create
// here with an inode number reserved in advance (NewFileAttr): the node
// and its name are then written in the transaction of the file's first
// content commit (CommitContent, at FLUSH), or by Settle, whichever comes
// first.
//
// What still holds:
//   - close commits: node, name and content in one transaction, before
//     FLUSH is answered.
//   - Readers: Settle writes the pending creates (as empty files whose
//     content follows at their commit) after the queued unlinks, so no
//     reader sees a folder without a name the mount said was made; a
//     reader waits for a commit in flight. Every write transaction of the
//     Store settles first, so writes stay in the order they were answered.
//   - A crash (kill -9 of the mount) while a new file is still open loses
//     its name, where a local file system would keep it, empty: its
//     content was never committed either way.
//   - Only on a store of one machine (SQLite): another machine of a team
//     store could take the name between the answer and the write.

// createsBatchReserve is how many inode numbers one reservation takes.
const createsBatchReserve = 256

// CreateItem is one create answered first: regular file Attr (its Ino
// reserved, its Ctime the answer's time) named Name in Parent.
type CreateItem struct {
	Parent uint64
	Name   string
	Attr   Attr

	closed *closedFile // its close was answered from the journal (close_journal.go)
}

// CreateFollower follows the pending creates that Settle writes.
type CreateFollower interface {
	// CreatesWritten is called under the store's write lock right after
	// the transaction that wrote them (TreeWrites was treeWritesBefore
	// just before it), before any other write of this Store; failed are
	// the items that could not be written (their files are gone). It must
	// not use the Store.
	CreatesWritten(treeWritesBefore uint64, failed []CreateItem)
}

// createQueue holds the pending creates and the reserved inode numbers.
type createQueue struct {
	pending  atomic.Int64
	commitMu sync.Mutex // held while pending creates are written: readers wait for it

	mu     sync.Mutex // protects the following; taken under the write lock, never held while taking it
	items  map[uint64]CreateItem
	follow CreateFollower

	reserveMu sync.Mutex // protects free; held while reserving more
	free      []uint64   // reserved inode numbers, in order
}

// CreatesLater reports whether this store takes creates answered first:
// an index of one machine.
func (s *Store) CreatesLater() bool { return !s.shared }

// FollowCreates sets who follows the pending creates Settle writes.
func (s *Store) FollowCreates(f CreateFollower) {
	q := &s.creates
	q.mu.Lock()
	q.follow = f
	q.mu.Unlock()
}

// NewFileAttr returns the attributes of a regular file n made now, with an
// inode number of its own reserved for CreateLater.
func (s *Store) NewFileAttr(ctx context.Context, n NewNode) (Attr, error) {
	a, _ := newNodeAttr(n, 0)
	if !a.IsRegular() {
		return a, fmt.Errorf("create later: mode %o: %w", a.Mode, ErrInvalid)
	}
	ino, err := s.reserveIno(ctx)
	a.Ino = ino
	return a, err
}

// CheckName reports why name cannot name an entry, or nil.
func CheckName(name string) error { return checkName(name) }

// CreateLater records the create of it, which the caller has checked
// (the folder's exact listing: the name is free, the folder may change)
// and answered; it is written by it.Attr.Ino's first CommitContent, or by
// Settle.
func (s *Store) CreateLater(it CreateItem) {
	q := &s.creates
	q.mu.Lock()
	if q.items == nil {
		q.items = map[uint64]CreateItem{}
	}
	q.items[it.Attr.Ino] = it
	q.pending.Add(1)
	q.mu.Unlock()
}

// reserveIno hands out one reserved inode number, reserving a batch in a
// transaction of its own when none is left. AUTOINCREMENT never gives a
// number at or below sqlite_sequence's, so no other writer takes them.
func (s *Store) reserveIno(ctx context.Context) (uint64, error) {
	q := &s.creates
	q.reserveMu.Lock()
	defer q.reserveMu.Unlock()
	if len(q.free) == 0 {
		var last uint64
		err := s.writeTx(ctx, false, func(tx *txn) error {
			return tx.queryRow(`UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'nodes' RETURNING seq`,
				createsBatchReserve).Scan(&last)
		})
		if err != nil {
			return 0, fmt.Errorf("reserve inode numbers: %w", err)
		}
		for ino := last - createsBatchReserve + 1; ino <= last; ino++ {
			q.free = append(q.free, ino)
		}
	}
	ino := q.free[0]
	q.free = q.free[1:]
	return ino, nil
}

// takeCreates removes and returns the pending creates, in inode order.
func (q *createQueue) takeCreates() []CreateItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := make([]CreateItem, 0, len(q.items))
	for _, it := range q.items {
		items = append(items, it)
	}
	clear(q.items)
	slices.SortFunc(items, func(a, b CreateItem) int { return cmp.Compare(a.Attr.Ino, b.Attr.Ino) })
	return items
}

// takeClosed removes and returns the pending creates whose close was
// answered (close_journal.go), in inode order.
func (q *createQueue) takeClosed() []CreateItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	var items []CreateItem
	for ino, it := range q.items {
		if it.closed != nil {
			items = append(items, it)
			delete(q.items, ino)
		}
	}
	slices.SortFunc(items, func(a, b CreateItem) int { return cmp.Compare(a.Attr.Ino, b.Attr.Ino) })
	return items
}

// CreatePending reports whether file ino's create was answered and not
// written yet: its name is not in the index.
func (s *Store) CreatePending(ino uint64) bool {
	q := &s.creates
	if q.pending.Load() == 0 {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.items[ino]
	return ok
}

// takeCreate removes and returns the pending create of file ino.
func (q *createQueue) takeCreate(ino uint64) (CreateItem, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.items[ino]
	if ok {
		delete(q.items, ino)
	}
	return it, ok
}

// settleCreates writes the pending creates, or waits for the commit that
// is writing them.
func (s *Store) settleCreates() {
	q := &s.creates
	if q.pending.Load() == 0 {
		return
	}
	q.commitMu.Lock()
	defer q.commitMu.Unlock()
	s.writeCreates(q.takeCreates())
}

// writeCreates writes items as empty files, in one transaction, or when
// that fails each in one of its own; an item that cannot be written is
// logged (its file is gone from the tree) and told to the follower. When
// the transaction cannot even start (another process holds the index's
// write lock past the busy timeout) the items stay pending, for the next
// reader or their close: a reader then sees them late rather than never.
func (s *Store) writeCreates(items []CreateItem) {
	if len(items) == 0 {
		return
	}
	ctx := context.Background() // what was answered must be written
	began, err := s.writeCreatesTx(ctx, items, nil)
	if !began {
		s.log.Warn("pending creates not written yet: the index is locked", "count", len(items), "err", err)
		s.creates.requeue(items...)
		return
	}
	if err != nil {
		var failed []CreateItem
		for _, it := range items {
			if _, err := s.writeCreatesTx(ctx, []CreateItem{it}, nil); err != nil {
				s.log.Error("a create the mount answered could not be written: the file is gone",
					"dir", it.Parent, "name", it.Name, "ino", it.Attr.Ino, "err", err)
				failed = append(failed, it)
			}
		}
		if len(failed) > 0 { // those written told the follower themselves
			s.createsWritten(0, failed)
			s.journalGaveUp(failed)
		}
	}
	s.creates.pending.Add(-int64(len(items)))
}

// requeue makes items pending again (they still count in pending).
func (q *createQueue) requeue(items ...CreateItem) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.items == nil {
		q.items = map[uint64]CreateItem{}
	}
	for _, it := range items {
		q.items[it.Attr.Ino] = it
	}
}

// writeCreatesTx writes items, then runs fn, in one write transaction;
// the follower hears of it when it commits, unless fn is a content
// commit, whose caller follows it (vfs: noteCommitted). began is false
// when the transaction could not start: nothing was written.
func (s *Store) writeCreatesTx(ctx context.Context, items []CreateItem, fn func(tx *txn) error) (began bool, err error) {
	var journaled uint64
	err = s.writeTx(ctx, true, func(tx *txn) error {
		began = true
		before := s.treeWrites.Load() // wmu held: no other write moves it
		for _, it := range items {
			if err := tx.writePending(it); err != nil {
				return fmt.Errorf("create %q in %d: %w", it.Name, it.Parent, err)
			}
		}
		if fn == nil {
			tx.afterCommit = func() { s.createsWritten(before, nil) }
		} else if err := fn(tx); err != nil {
			return err
		}
		journaled = tx.journalSeq
		return tx.noteJournalSeq()
	})
	if err == nil && journaled > 0 {
		s.noteJournalWritten(journaled)
	}
	return began, err
}

// writePending writes pending create it: an empty file, or when its close
// was answered from the journal, the file as answered with its content.
func (tx *txn) writePending(it CreateItem) error {
	cf := it.closed
	if cf == nil {
		return tx.createNode(it, it.Attr)
	}
	tx.journalSeq = max(tx.journalSeq, cf.seq)
	return tx.writeNew(it, cf.a, cf.c)
}

// writeNew writes new file a, named it.Name in it.Parent, with content c.
func (tx *txn) writeNew(it CreateItem, a Attr, c Content) error {
	if err := tx.storeBlob(c); err != nil {
		return err
	}
	if err := tx.createNode(it, a); err != nil {
		return err
	}
	tx.noteIno(a.Ino)
	tx.markDirty(it.Parent) // the new node's only folder
	return nil
}

// createsWritten tells the follower of a transaction that wrote pending
// creates, or (before 0) of creates that failed.
func (s *Store) createsWritten(before uint64, failed []CreateItem) {
	s.creates.mu.Lock()
	follow := s.creates.follow
	s.creates.mu.Unlock()
	if follow != nil {
		follow.CreatesWritten(before, failed)
	}
}

// createWithContent writes the node of a create answered first with its
// content c, its name and the folder's times, and returns the node.
func (tx *txn) createWithContent(it CreateItem, c Content) (Attr, error) {
	a := it.Attr
	if c.Size > MaxFileSize {
		return a, ErrFileTooBig
	}
	now := time.Unix(0, nowNs())
	if c.Mtime.IsZero() {
		c.Mtime = now
	}
	a.Blob, a.Size, a.Mtime, a.Ctime = c.Digest, c.Size, c.Mtime, now
	if it.closed != nil { // closed before, from the journal: this content replaces it
		tx.journalSeq = max(tx.journalSeq, it.closed.seq)
	}
	return a, tx.writeNew(it, a, c)
}

// createNode writes node a named it.Name in it.Parent, which gets the
// time the create was answered.
func (tx *txn) createNode(it CreateItem, a Attr) error {
	if err := tx.touchWritableDir(it.Parent, it.Attr.Ctime.UnixNano(), 0); err != nil {
		return err
	}
	if err := tx.insertNodeAt(a); err != nil {
		return err
	}
	return tx.addNewEntry(it.Parent, it.Name, a.Ino)
}

// commitCreated is CommitContent of a file whose create is pending: the
// pending creates, this one last, and its content in one transaction.
// pending is false when ino's create is not pending (written already);
// journaled says that the close was answered from the close journal.
func (s *Store) commitCreated(ctx context.Context, ino uint64, c Content) (a Attr, pending, journaled bool, err error) {
	q := &s.creates
	if q.pending.Load() == 0 {
		return a, false, false, nil
	}
	if a, ok := s.closeLater(ino, c); ok {
		return a, true, true, nil
	}
	q.commitMu.Lock()
	defer q.commitMu.Unlock()
	it, pending := q.takeCreate(ino)
	if !pending {
		return a, false, false, nil
	}
	s.settleUnlinks() // writes stay in the order they were answered
	others := q.takeCreates()
	commit := func(tx *txn) error {
		var err error
		a, err = tx.createWithContent(it, c)
		return err
	}
	began, err := s.writeCreatesTx(ctx, others, commit)
	if err != nil && began && len(others) > 0 {
		// One of the others may be what failed: they go their own way,
		// and this file alone.
		s.writeCreates(others)
		others = nil
		began, err = s.writeCreatesTx(ctx, nil, commit)
	}
	switch {
	case err == nil:
		q.pending.Add(-int64(len(others) + 1))
		return a, true, false, nil
	case !began || !permanent(err):
		// Not written (the index locked, the disk full): the file stays
		// pending, as an empty file would have stayed before its close,
		// and so do the others.
		q.requeue(append(others, it)...)
	default:
		q.pending.Add(-int64(len(others) + 1)) // others is empty: see above
		s.log.Error("a file the mount created could not be written: its name is gone",
			"dir", it.Parent, "name", it.Name, "err", err)
		s.createsWritten(0, []CreateItem{it})
		s.journalGaveUp([]CreateItem{it})
	}
	return a, true, false, noSpace(err)
}

// permanent reports whether a create failed for good: its name or folder
// was taken or changed by another process, which a retry cannot undo.
func permanent(err error) bool {
	for _, e := range []error{ErrExists, ErrNotFound, ErrNotDir, ErrReadOnly} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
