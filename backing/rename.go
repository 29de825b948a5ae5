package backing

import (
	"context"
	"fmt"
)

// Rename flags, with Linux's renameat2 values.
const (
	RenameNoReplace uint32 = 1
	RenameExchange  uint32 = 2
)

// Rename moves entry (p1, n1) to (p2, n2) atomically. If it replaces an
// existing non-directory, the replaced node's attributes are returned (Nlink
// already decremented) so that the caller can purge it when unused.
func (s *Store) Rename(ctx context.Context, p1 uint64, n1 string, p2 uint64, n2 string, flags uint32) (*Attr, error) {
	var replaced *Attr
	if err := checkName(n2); err != nil {
		return nil, fmt.Errorf("rename to %q: %w", n2, err)
	}
	err := s.update(ctx, func(tx *txn) error {
		var err error
		replaced, err = tx.rename(p1, n1, p2, n2, flags)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("rename %q in %d to %q in %d: %w", n1, p1, n2, p2, err)
	}
	return replaced, nil
}

func (tx *txn) rename(p1 uint64, n1 string, p2 uint64, n2 string, flags uint32) (*Attr, error) {
	if flags&^(RenameNoReplace|RenameExchange) != 0 || flags == RenameNoReplace|RenameExchange {
		return nil, ErrInvalid
	}
	for _, p := range []uint64{p1, p2} {
		if _, err := tx.writableDir(p); err != nil {
			return nil, err
		}
	}
	src, err := tx.lookup(p1, n1)
	if err != nil {
		return nil, err
	}
	if src.Flags&FlagPinned != 0 {
		return nil, ErrPermission
	}
	dst, err := tx.lookup(p2, n2)
	dstExists := err == nil
	if err != nil && err != ErrNotFound {
		return nil, err
	}
	if dstExists && dst.Flags&FlagPinned != 0 {
		return nil, ErrPermission
	}
	if src.IsDir() && p1 != p2 {
		// A directory cannot move into itself or below itself.
		if inside, err := tx.isAncestor(src.Ino, p2); err != nil {
			return nil, err
		} else if inside {
			return nil, ErrInvalid
		}
	}
	now := nowNs()
	if flags&RenameExchange != 0 {
		if !dstExists {
			return nil, ErrNotFound
		}
		return nil, tx.exchange(p1, n1, src, p2, n2, dst, now)
	}
	if dstExists {
		if flags&RenameNoReplace != 0 {
			return nil, ErrExists
		}
		if dst.Ino == src.Ino {
			return nil, nil // two links to one file: POSIX says do nothing
		}
		if err := tx.checkReplace(src, dst); err != nil {
			return nil, err
		}
		if err := tx.removeEntry(p2, n2); err != nil {
			return nil, err
		}
		if err := tx.dropLink(dst, now); err != nil {
			return nil, err
		}
		if dst.IsDir() {
			if err := tx.touchDir(p2, now, -1); err != nil {
				return nil, err
			}
		}
	}
	if err := tx.moveEntry(p1, n1, p2, n2, src, now); err != nil {
		return nil, err
	}
	if dstExists && !dst.IsDir() {
		dst.Nlink--
		return &dst, nil
	}
	return nil, nil
}

// checkReplace applies rename(2)'s rules for replacing dst by src.
func (tx *txn) checkReplace(src, dst Attr) error {
	switch {
	case src.IsDir() && !dst.IsDir():
		return ErrNotDir
	case !src.IsDir() && dst.IsDir():
		return ErrIsDir
	case dst.IsDir():
		if empty, err := tx.isEmptyDir(dst.Ino); err != nil {
			return err
		} else if !empty {
			return ErrNotEmpty
		}
	}
	return nil
}

// moveEntry points (p2, n2) at src and removes (p1, n1).
func (tx *txn) moveEntry(p1 uint64, n1 string, p2 uint64, n2 string, src Attr, now int64) error {
	if _, err := tx.exec(`UPDATE entries SET parent = ?, name = ? WHERE parent = ? AND name = ?`,
		p2, []byte(n2), p1, []byte(n1)); err != nil {
		return err
	}
	tx.noteEntry(p1, n1)
	tx.noteEntry(p2, n2)
	delta := 0
	if src.IsDir() && p1 != p2 {
		delta = 1
	}
	if err := tx.touchDir(p1, now, -delta); err != nil {
		return err
	}
	if p2 != p1 {
		if err := tx.touchDir(p2, now, delta); err != nil {
			return err
		}
	}
	_, err := tx.exec(`UPDATE nodes SET ctime_ns = ? WHERE ino = ?`, now, src.Ino)
	return err
}

// exchange swaps the nodes behind two entries (RENAME_EXCHANGE).
func (tx *txn) exchange(p1 uint64, n1 string, src Attr, p2 uint64, n2 string, dst Attr, now int64) error {
	if dst.IsDir() && p1 != p2 {
		if inside, err := tx.isAncestor(dst.Ino, p1); err != nil {
			return err
		} else if inside {
			return ErrInvalid
		}
	}
	for _, e := range []struct {
		parent uint64
		name   string
		child  uint64
	}{{p1, n1, dst.Ino}, {p2, n2, src.Ino}} {
		if _, err := tx.exec(`UPDATE entries SET child = ? WHERE parent = ? AND name = ?`, e.child, e.parent, []byte(e.name)); err != nil {
			return err
		}
		tx.noteEntry(e.parent, e.name)
	}
	// A directory that changes parent moves one link between them.
	delta := 0
	if p1 != p2 {
		if src.IsDir() {
			delta--
		}
		if dst.IsDir() {
			delta++
		}
	}
	if err := tx.touchDir(p1, now, delta); err != nil {
		return err
	}
	if p1 != p2 {
		if err := tx.touchDir(p2, now, -delta); err != nil {
			return err
		}
	}
	_, err := tx.exec(`UPDATE nodes SET ctime_ns = ? WHERE ino IN (?, ?)`, now, src.Ino, dst.Ino)
	return err
}
