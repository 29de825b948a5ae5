package backing

import (
	"context"
	"fmt"
)

// Change is one place changed by another process: an entry (Parent, Name)
// or the content/attributes of node Ino.
type Change struct {
	Seq    int64
	Parent uint64
	Name   string
	Ino    uint64
	// Own is set for a change this process made itself (on a shared
	// index every process logs its changes, the mount's own included):
	// its caches are already right, only the sequence number matters.
	Own bool
}

type change struct {
	parent uint64
	name   string
	ino    uint64
}

func (tx *txn) noteEntry(parent uint64, name string) {
	tx.touchTree()
	tx.markDirty(parent)
	if tx.s.opts.LogChanges {
		tx.changes = append(tx.changes, change{parent: parent, name: name})
	}
}

func (tx *txn) noteIno(ino uint64) {
	tx.touchTree()
	if tx.s.opts.LogChanges {
		tx.changes = append(tx.changes, change{ino: ino})
	}
}

func (tx *txn) flushChanges() error {
	if len(tx.changes) > 0 {
		tx.s.logged.Store(true)
	}
	for _, c := range tx.changes {
		var name any
		if c.name != "" {
			name = []byte(c.name)
		}
		if !tx.s.shared {
			if _, err := tx.exec(`INSERT INTO changes (parent, name, ino) VALUES (?, ?, ?)`, c.parent, name, c.ino); err != nil {
				return fmt.Errorf("log change: %w", err)
			}
			continue
		}
		seq, err := tx.insertID("seq", `INSERT INTO changes (parent, name, ino) VALUES (?, ?, ?)`, c.parent, name, c.ino)
		if err != nil {
			return fmt.Errorf("log change: %w", err)
		}
		tx.ownSeqs = append(tx.ownSeqs, seq)
	}
	return nil
}

// noteOwn remembers the change log rows a committed transaction wrote.
func (s *Store) noteOwn(seqs []int64) {
	if len(seqs) == 0 {
		return
	}
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	if s.own == nil {
		s.own = map[int64]struct{}{}
	}
	for _, q := range seqs {
		s.own[q] = struct{}{}
	}
}

// markOwn sets Own on the changes this process made, and forgets them:
// the reader of the log reads on from the last one.
func (s *Store) markOwn(cs []Change) {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	for i := range cs {
		if _, ok := s.own[cs[i].Seq]; ok {
			cs[i].Own = true
			delete(s.own, cs[i].Seq)
		}
	}
}

// LoggedChanges reports whether this process wrote to the change log, so
// that a running mount has changes of ours to apply.
func (s *Store) LoggedChanges() bool { return s.logged.Load() }

// ChangesSince returns the changes logged after seq, oldest first.
func (s *Store) ChangesSince(ctx context.Context, seq int64) ([]Change, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, parent, name, ino FROM changes WHERE seq > ? ORDER BY seq LIMIT 10000`, seq)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var name []byte
		if err := rows.Scan(&c.Seq, &c.Parent, &name, &c.Ino); err != nil {
			return nil, fmt.Errorf("read changes: %w", err)
		}
		c.Name = string(name)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.markOwn(out)
	return out, nil
}

// LastChange returns the sequence number of the newest logged change.
func (s *Store) LastChange(ctx context.Context) (int64, error) {
	var seq int64
	err := s.rdb.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM changes`).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("read changes: %w", err)
	}
	return seq, nil
}

// sharedChangeLogKeep is how many of the newest changes a shared index
// keeps: its log has a reader per mount, and one mount must not delete
// what another has not read yet. A mount reads within a second of a
// change (Changes), so it never lags this far behind.
const sharedChangeLogKeep = 100_000

// Changes returns a channel that receives when the index may have changed
// (a commit, by any process), until ctx ends: read the change log then.
// For a team store it is PostgreSQL's LISTEN/NOTIFY, not polling.
func (s *Store) Changes(ctx context.Context) <-chan struct{} { return s.idx.Changes(ctx) }

// TrimChanges deletes logged changes up to and including seq. On a shared
// index it keeps the newest sharedChangeLogKeep of them for the other
// mounts.
func (s *Store) TrimChanges(ctx context.Context, seq int64) error {
	if s.shared {
		seq -= sharedChangeLogKeep
		if seq <= 0 {
			return nil
		}
	}
	// Bookkeeping: the tree is as it was (the caches stay exact).
	return noSpace(s.updateTx(ctx, false, func(tx *txn) error {
		_, err := tx.exec(`DELETE FROM changes WHERE seq <= ?`, seq)
		return err
	}))
}
