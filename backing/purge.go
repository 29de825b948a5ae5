package backing

import (
	"context"
	"fmt"
)

// Purge deletes node ino if no entry names it any more (Nlink 0), dropping
// its blob reference. The mount calls it when the last open handle of an
// unlinked file closes.
func (s *Store) Purge(ctx context.Context, ino uint64) error {
	err := s.update(ctx, func(tx *txn) error { return tx.purge(ino) })
	if err != nil {
		return fmt.Errorf("purge %d: %w", ino, err)
	}
	return nil
}

func (tx *txn) purge(ino uint64) error {
	a, err := tx.getAttr(ino)
	if err == ErrNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if a.Nlink > 0 {
		return nil
	}
	if err := tx.unrefBlob(a.Blob); err != nil {
		return err
	}
	if _, err := tx.exec(`DELETE FROM xattrs WHERE ino = ?`, ino); err != nil {
		return err
	}
	_, err = tx.exec(`DELETE FROM nodes WHERE ino = ?`, ino)
	return err
}

// PurgeUnlinked deletes every node left without a name, such as files that
// were unlinked while open when the mount stopped. The mount runs it at
// start, before anything can hold such a node open.
func (s *Store) PurgeUnlinked(ctx context.Context) (int, error) {
	var n int
	err := s.update(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT ino FROM nodes WHERE nlink = 0`)
		if err != nil {
			return err
		}
		var inos []uint64
		for rows.Next() {
			var ino uint64
			if err := rows.Scan(&ino); err != nil {
				rows.Close()
				return err
			}
			inos = append(inos, ino)
		}
		rows.Close()
		for _, ino := range inos {
			if err := tx.purge(ino); err != nil {
				return err
			}
		}
		n = len(inos)
		return rows.Err()
	})
	if err != nil {
		return 0, fmt.Errorf("purge unlinked nodes: %w", err)
	}
	return n, nil
}

// PurgeAll is Purge of every node of inos, in one transaction: the mount
// purges the files an rm -rf removed in batches, not one commit each.
func (s *Store) PurgeAll(ctx context.Context, inos []uint64) error {
	err := s.update(ctx, func(tx *txn) error {
		for _, ino := range inos {
			if err := tx.purge(ino); err != nil {
				return fmt.Errorf("node %d: %w", ino, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("purge %d nodes: %w", len(inos), err)
	}
	return nil
}
