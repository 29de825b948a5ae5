package backing

import (
	"context"
	"fmt"
)

// Dirty directories: every transaction that adds, removes or renames an
// entry, or commits a file's content, marks the directories involved in
// the same transaction. Derived views (the catalog) take the marks, catch
// up, and clear them; a mark made again meanwhile has a newer seq and
// survives the clear, so no change is ever lost, even across a crash.

// DirtyDir is a directory marked as changed.
type DirtyDir struct {
	Ino uint64
	Seq int64
}

func (tx *txn) markDirty(dir uint64) {
	tx.touchTree()
	if tx.dirty == nil {
		tx.dirty = map[uint64]bool{}
	}
	tx.dirty[dir] = true
}

// markParentsDirty marks every directory that names file ino.
func (tx *txn) markParentsDirty(ino uint64) error {
	rows, err := tx.QueryContext(tx.ctx, `SELECT parent FROM entries WHERE child = ?`, ino)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var p uint64
		if err := rows.Scan(&p); err != nil {
			return err
		}
		tx.markDirty(p)
	}
	return rows.Err()
}

func (tx *txn) flushDirty() error {
	for ino := range tx.dirty {
		_, err := tx.exec(`INSERT INTO dirty (ino, seq) VALUES (?, (SELECT coalesce(max(seq), 0) + 1 FROM dirty))
			ON CONFLICT (ino) DO UPDATE SET seq = excluded.seq`, ino)
		if err != nil {
			return fmt.Errorf("mark %d dirty: %w", ino, err)
		}
	}
	return nil
}

// DirtyDirs lists the directories marked as changed.
func (s *Store) DirtyDirs(ctx context.Context) ([]DirtyDir, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT ino, seq FROM dirty ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("list dirty dirs: %w", err)
	}
	defer rows.Close()
	var out []DirtyDir
	for rows.Next() {
		var d DirtyDir
		if err := rows.Scan(&d.Ino, &d.Seq); err != nil {
			return nil, fmt.Errorf("list dirty dirs: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// HasDirty reports cheaply whether any directory is marked.
func (s *Store) HasDirty(ctx context.Context) (bool, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM dirty LIMIT 1) AS one`).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check dirty dirs: %w", err)
	}
	return n > 0, nil
}

// ClearDirty removes the marks in ds that were not made again since.
func (tx *Tx) ClearDirty(ds []DirtyDir) error {
	for _, d := range ds {
		if _, err := tx.exec(`DELETE FROM dirty WHERE ino = ? AND seq = ?`, d.Ino, d.Seq); err != nil {
			return fmt.Errorf("clear dirty %d: %w", d.Ino, err)
		}
	}
	return nil
}
