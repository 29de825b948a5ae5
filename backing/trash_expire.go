package backing

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// TrashDropped says what ExpireTrash or EmptyTrash removed for good.
type TrashDropped struct {
	Items        int   `json:"items"`
	Files        int64 `json:"files"`
	LogicalBytes int64 `json:"bytes"`
	// Pending are files that lost their last name while a mount runs: the
	// mount purges them (at once, or at their last close) and gc frees
	// their content after that. Without a mount they are purged here.
	Pending []uint64 `json:"-"`
}

// ExpireTrash removes for good the items whose latest removal is older
// than cutoff.
func (s *Store) ExpireTrash(ctx context.Context, cutoff time.Time) (TrashDropped, error) {
	return s.dropTrash(ctx, `SELECT id FROM trash WHERE last_ns < ? ORDER BY id`, cutoff.UnixNano())
}

// EmptyTrash removes for good item id, or every item when id is 0.
func (s *Store) EmptyTrash(ctx context.Context, id uint64) (TrashDropped, error) {
	if id == 0 {
		return s.dropTrash(ctx, `SELECT id FROM trash ORDER BY id`)
	}
	d, err := s.dropTrash(ctx, `SELECT id FROM trash WHERE id = ?`, id)
	if err == nil && d.Items == 0 {
		err = fmt.Errorf("empty trash item %d: %w", id, ErrNotFound)
	}
	return d, err
}

func (s *Store) dropTrash(ctx context.Context, query string, args ...any) (TrashDropped, error) {
	var d TrashDropped
	locked := s.IsLocked() // a mount may hold files of moved folders open
	err := s.update(ctx, func(tx *txn) error {
		d = TrashDropped{}
		var ids []uint64
		if err := queryEach(ctx, tx, query, args, func(r rowScanner) error {
			var id uint64
			ids = append(ids, id)
			return r.Scan(&ids[len(ids)-1])
		}); err != nil {
			return err
		}
		tr, err := tx.trashRoot(false)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := tx.dropItem(tr, id, locked, &d); err != nil {
				return fmt.Errorf("item %d: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return d, fmt.Errorf("drop trash: %w", err)
	}
	return d, nil
}

func (tx *txn) dropItem(tr, id uint64, locked bool, d *TrashDropped) error {
	var root uint64
	if err := tx.queryRow(`SELECT root FROM trash WHERE id = ?`, id).Scan(&root); err != nil {
		return err
	}
	a, err := tx.getAttr(root)
	if err != nil {
		return err
	}
	if err := tx.unlinkQuiet(tr, strconv.FormatUint(id, 10), a.IsDir()); err != nil {
		return err
	}
	if err := tx.dropTree(a, locked, d); err != nil {
		return err
	}
	if _, err := tx.exec(`DELETE FROM trash WHERE id = ?`, id); err != nil {
		return err
	}
	d.Items++
	return nil
}

// dropTree removes node a, which just lost one entry in the trash, and
// everything below it.
func (tx *txn) dropTree(a Attr, locked bool, d *TrashDropped) error {
	if !a.IsDir() {
		d.Files++
		d.LogicalBytes += a.Size
		if _, err := tx.exec(`UPDATE nodes SET nlink = nlink - 1 WHERE ino = ?`, a.Ino); err != nil {
			return err
		}
		var left int
		if err := tx.queryRow(`SELECT nlink FROM nodes WHERE ino = ?`, a.Ino).Scan(&left); err != nil || left > 0 {
			return err // named elsewhere too (a hard link)
		}
		if locked {
			tx.noteIno(a.Ino) // the running mount purges it when unused
			d.Pending = append(d.Pending, a.Ino)
			return nil
		}
		return tx.purge(a.Ino)
	}
	kids, err := tx.children(a.Ino)
	if err != nil {
		return err
	}
	if _, err := tx.exec(`DELETE FROM entries WHERE parent = ?`, a.Ino); err != nil {
		return err
	}
	for _, k := range kids {
		if err := tx.dropTree(k.a, locked, d); err != nil {
			return err
		}
	}
	if _, err := tx.exec(`DELETE FROM xattrs WHERE ino = ?`, a.Ino); err != nil {
		return err
	}
	_, err = tx.exec(`DELETE FROM nodes WHERE ino = ?`, a.Ino)
	return err
}

// Unpurged returns how many of the nodes inos still exist.
func (s *Store) Unpurged(ctx context.Context, inos []uint64) (int, error) {
	n := 0
	for _, ino := range inos {
		var one int
		err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM nodes WHERE ino = ?`, ino).Scan(&one)
		if err != nil {
			return 0, fmt.Errorf("count unpurged: %w", err)
		}
		n += one
	}
	return n, nil
}
