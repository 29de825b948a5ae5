package backing

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// NewNode describes a node to create.
type NewNode struct {
	Mode   uint32 // type bits | permissions (the caller applied the umask)
	Uid    uint32
	Gid    uint32
	Rdev   uint32
	Target string // for symlinks
	// UniquePrefix, when set, makes the create fail with ErrExists if any
	// entry of the directory starts with it (pipeline numbers: "0042_").
	UniquePrefix string
}

// Mknod creates a file, directory, symlink or special node named name in
// directory parent.
func (s *Store) Mknod(ctx context.Context, parent uint64, name string, n NewNode) (Attr, error) {
	var a Attr
	if err := checkName(name); err != nil {
		return a, fmt.Errorf("create %q: %w", name, err)
	}
	err := s.update(ctx, func(tx *txn) error {
		var err error
		a, err = tx.create(parent, name, n)
		return err
	})
	if err != nil {
		return a, fmt.Errorf("create %q in %d: %w", name, parent, err)
	}
	return a, nil
}

// create is mknod for a transaction that ends with it, in four statements
// (the mount's every create): the parent is checked by the update of its
// times (RETURNING its type and flags), and the name is checked free by the
// insert of its entry, whose primary key conflict is ErrExists. The failed
// insert leaves the transaction to be rolled back (PostgreSQL aborts it):
// code that goes on after ErrExists inside its transaction uses mknod.
func (tx *txn) create(parent uint64, name string, n NewNode) (Attr, error) {
	a, dirDelta := newNodeAttr(n, 0)
	err := tx.touchWritableDir(parent, a.Ctime.UnixNano(), dirDelta)
	if err != nil && !storedAtRoot(parent, name) {
		return a, err
	}
	if err := tx.checkUniquePrefix(parent, n.UniquePrefix); err != nil {
		return a, err
	}
	if a.Ino, err = tx.insertNode(a); err != nil {
		return a, err
	}
	return a, tx.addNewEntry(parent, name, a.Ino)
}

func (tx *txn) mknod(parent uint64, name string, n NewNode, flags NodeFlags) (Attr, error) {
	if _, err := tx.writableDir(parent); err != nil && flags == 0 && !storedAtRoot(parent, name) {
		return Attr{}, err
	}
	if _, err := tx.lookup(parent, name); err == nil {
		return Attr{}, ErrExists
	} else if err != ErrNotFound {
		return Attr{}, err
	}
	if err := tx.checkUniquePrefix(parent, n.UniquePrefix); err != nil {
		return Attr{}, err
	}
	a, dirDelta := newNodeAttr(n, flags)
	ino, err := tx.insertNode(a)
	if err != nil {
		return a, err
	}
	a.Ino = ino
	if err := tx.addEntry(parent, name, ino); err != nil {
		return a, err
	}
	return a, tx.touchDir(parent, a.Ctime.UnixNano(), dirDelta)
}

// newNodeAttr returns the attributes of node n made now, and by how much
// it moves its directory's link count.
func newNodeAttr(n NewNode, flags NodeFlags) (a Attr, dirDelta int) {
	now := time.Unix(0, nowNs())
	a = Attr{Mode: n.Mode, Uid: n.Uid, Gid: n.Gid, Rdev: n.Rdev, Nlink: 1, Flags: flags,
		Atime: now, Mtime: now, Ctime: now, Target: n.Target}
	switch n.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		a.Nlink, dirDelta = 2, 1
	case syscall.S_IFLNK:
		a.Size = int64(len(n.Target))
	case 0:
		a.Mode |= syscall.S_IFREG
	}
	return a, dirDelta
}

// Link adds the name newName in directory newParent for the existing node ino.
func (s *Store) Link(ctx context.Context, ino, newParent uint64, newName string) (Attr, error) {
	var a Attr
	if err := checkName(newName); err != nil {
		return a, fmt.Errorf("link %q: %w", newName, err)
	}
	err := s.update(ctx, func(tx *txn) error {
		var err error
		if a, err = tx.getAttr(ino); err != nil {
			return err
		}
		if a.IsDir() {
			return ErrPermission
		}
		if _, err := tx.writableDir(newParent); err != nil {
			return err
		}
		if _, err := tx.lookup(newParent, newName); err == nil {
			return ErrExists
		}
		now := nowNs()
		if _, err := tx.exec(`UPDATE nodes SET nlink = nlink + 1, ctime_ns = ? WHERE ino = ?`, now, ino); err != nil {
			return err
		}
		if err := tx.addEntry(newParent, newName, ino); err != nil {
			return err
		}
		if err := tx.touchDir(newParent, now, 0); err != nil {
			return err
		}
		a, err = tx.getAttr(ino)
		return err
	})
	if err != nil {
		return a, fmt.Errorf("link %d as %q in %d: %w", ino, newName, newParent, err)
	}
	return a, nil
}

// Unlink removes the non-directory entry name from parent. It returns the
// node's attributes afterwards: with Nlink 0 the caller purges it once no
// open handle needs it. Below runs/, a copy goes to the trash (trash.go).
func (s *Store) Unlink(ctx context.Context, parent uint64, name string) (Attr, error) {
	a, _, err := s.unlink(ctx, parent, name, keepCopy)
	return a, err
}

// UnlinkUnopened is Unlink of file ino, which no handle has open: below
// runs/ the trash keeps the node itself when no other name reaches it, and
// trashed reports so. The returned Nlink is still the file's count of
// names in the tree (0 when it left it), but a trashed node is the
// trash's: the caller does not purge it. When name is no longer ino, it
// is Unlink.
func (s *Store) UnlinkUnopened(ctx context.Context, parent uint64, name string, ino uint64) (a Attr, trashed bool, err error) {
	return s.unlink(ctx, parent, name, keepNode(ino))
}

// keep says what the trash keeps of a node removed below runs/.
type keep struct {
	trash bool   // false: nothing (the caller empties the trash itself)
	node  uint64 // the node that may go there itself (not open); 0: a copy
}

var (
	keepNothing = keep{}
	keepCopy    = keep{trash: true}
)

// keepNode is the keep of UnlinkUnopened: node ino is not open.
func keepNode(ino uint64) keep { return keep{trash: true, node: ino} }

// unlink is Unlink, keeping what k says in the trash.
func (s *Store) unlink(ctx context.Context, parent uint64, name string, k keep) (a Attr, trashed bool, err error) {
	err = s.update(ctx, func(tx *txn) error {
		var err error
		a, trashed, err = tx.unlink(parent, name, k, nowNs())
		return err
	})
	if err != nil {
		return a, false, fmt.Errorf("unlink %q in %d: %w", name, parent, err)
	}
	return a, trashed, nil
}

// unlink removes the entry name from parent inside the transaction, at
// time now (ns): checkUnlink, then applyUnlink.
func (tx *txn) unlink(parent uint64, name string, k keep, now int64) (a Attr, trashed bool, err error) {
	if a, err = tx.checkUnlink(parent, name); err != nil {
		return a, false, err
	}
	return tx.applyUnlink(parent, name, a, k, now)
}

// checkUnlink returns the node that name in parent reaches, when it may be
// unlinked. It only reads: after an error the transaction can go on.
func (tx *txn) checkUnlink(parent uint64, name string) (Attr, error) {
	a, err := tx.lookup(parent, name)
	if err == nil && a.IsDir() {
		err = ErrIsDir
	} else if err == nil && a.Flags&FlagPinned != 0 {
		err = ErrPermission
	}
	if err != nil {
		// A directory that may not change says so first, as before
		// any lookup.
		if _, werr := tx.writableDir(parent); werr != nil {
			return a, werr
		}
	}
	return a, err
}

// applyUnlink removes name (node a) from parent, checked by checkUnlink,
// keeping what k says in the trash.
func (tx *txn) applyUnlink(parent uint64, name string, a Attr, k keep, now int64) (_ Attr, trashed bool, err error) {
	if k.trash {
		if trashed, err = tx.keepInTrash(parent, name, a, now, k.node == a.Ino); err != nil {
			return a, false, fmt.Errorf("keep in trash: %w", err)
		}
	}
	if err := tx.removeEntry(parent, name); err != nil {
		return a, false, err
	}
	if trashed {
		tx.noteIno(a.Ino) // its one link is the trash's now
	} else if err := tx.dropLink(a, now); err != nil {
		return a, false, err
	}
	a.Nlink--
	a.Ctime = time.Unix(0, now) // also the directory's new mtime and ctime
	// Last: the trash copied the directory's times from before the
	// removal. The check of the directory comes with the update.
	return a, trashed, tx.touchWritableDir(parent, now, 0)
}

// Rmdir removes the empty directory name from parent. Below runs/, a copy
// goes to the trash (trash.go).
func (s *Store) Rmdir(ctx context.Context, parent uint64, name string) error {
	return s.rmdir(ctx, parent, name, true)
}

// rmdir is Rmdir, keeping a copy in the trash when keep is set.
func (s *Store) rmdir(ctx context.Context, parent uint64, name string, keep bool) error {
	err := s.update(ctx, func(tx *txn) error {
		if _, err := tx.writableDir(parent); err != nil && !storedAtRoot(parent, name) {
			return err
		}
		a, err := tx.lookup(parent, name)
		if err != nil {
			return err
		}
		if !a.IsDir() {
			return ErrNotDir
		}
		if a.Flags&FlagPinned != 0 {
			return ErrPermission
		}
		if empty, err := tx.isEmptyDir(a.Ino); err != nil {
			return err
		} else if !empty {
			return ErrNotEmpty
		}
		now := nowNs()
		if keep {
			if _, err := tx.keepInTrash(parent, name, a, now, false); err != nil {
				return fmt.Errorf("keep in trash: %w", err)
			}
		}
		if err := tx.removeEntry(parent, name); err != nil {
			return err
		}
		if err := tx.dropLink(a, now); err != nil {
			return err
		}
		return tx.touchDir(parent, now, -1)
	})
	if err != nil {
		return fmt.Errorf("rmdir %q in %d: %w", name, parent, err)
	}
	return nil
}
