package backing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Xattr flags, with Linux's setxattr values.
const (
	XattrCreate  uint32 = 1
	XattrReplace uint32 = 2
)

// GetXattr returns the value of extended attribute name of node ino.
func (s *Store) GetXattr(ctx context.Context, ino uint64, name string) ([]byte, error) {
	var v []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT value FROM xattrs WHERE ino = ? AND name = ?`, ino, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("getxattr %s of %d: %w", name, ino, err)
	}
	return v, nil
}

// ListXattr returns the names of node ino's extended attributes.
func (s *Store) ListXattr(ctx context.Context, ino uint64) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT name FROM xattrs WHERE ino = ? ORDER BY name`, ino)
	if err != nil {
		return nil, fmt.Errorf("listxattr %d: %w", ino, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("listxattr %d: %w", ino, err)
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// SetXattr sets extended attribute name of node ino.
func (s *Store) SetXattr(ctx context.Context, ino uint64, name string, value []byte, flags uint32) error {
	err := s.update(ctx, func(tx *txn) error {
		a, err := tx.getAttr(ino)
		if err != nil {
			return err
		}
		if a.Flags&FlagReadOnly != 0 {
			return ErrReadOnly
		}
		var exists int
		tx.queryRow(`SELECT count(*) FROM xattrs WHERE ino = ? AND name = ?`, ino, name).Scan(&exists)
		if flags&XattrCreate != 0 && exists > 0 {
			return ErrExists
		}
		if flags&XattrReplace != 0 && exists == 0 {
			return ErrNotFound
		}
		if value == nil {
			value = []byte{}
		}
		if _, err := tx.exec(`INSERT INTO xattrs (ino, name, value) VALUES (?, ?, ?) ON CONFLICT (ino, name) DO UPDATE SET value = excluded.value`, ino, name, value); err != nil {
			return err
		}
		_, err = tx.exec(`UPDATE nodes SET ctime_ns = ? WHERE ino = ?`, nowNs(), ino)
		tx.noteIno(ino)
		return err
	})
	if err != nil {
		return fmt.Errorf("setxattr %s of %d: %w", name, ino, err)
	}
	return nil
}

// RemoveXattr deletes extended attribute name of node ino.
func (s *Store) RemoveXattr(ctx context.Context, ino uint64, name string) error {
	err := s.update(ctx, func(tx *txn) error {
		if a, err := tx.getAttr(ino); err != nil {
			return err
		} else if a.Flags&FlagReadOnly != 0 {
			return ErrReadOnly // as SetXattr: read-only places stay unchanged
		}
		res, err := tx.exec(`DELETE FROM xattrs WHERE ino = ? AND name = ?`, ino, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		tx.noteIno(ino)
		return nil
	})
	if err != nil {
		return fmt.Errorf("removexattr %s of %d: %w", name, ino, err)
	}
	return nil
}
