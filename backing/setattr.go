package backing

import (
	"context"
	"fmt"
	"syscall"
	"time"
)

// SetAttrIn lists the attributes to change; nil fields stay as they are.
type SetAttrIn struct {
	Mode  *uint32 // permission bits only; the type never changes
	Uid   *uint32
	Gid   *uint32
	Atime *time.Time
	Mtime *time.Time
	// ClearSetID drops S_ISUID, and S_ISGID when the group may execute (a
	// set-group-ID bit without group execute marks mandatory locking and
	// stays), as the kernel does when an unprivileged user writes a file.
	ClearSetID bool
}

// ClearSetID returns mode without the set-user/group-ID bits a write by an
// unprivileged user, or a chown, removes.
func ClearSetID(mode uint32) uint32 {
	mode &^= syscall.S_ISUID
	if mode&(syscall.S_ISGID|syscall.S_IXGRP) == syscall.S_ISGID|syscall.S_IXGRP {
		mode &^= syscall.S_ISGID
	}
	return mode
}

// HasSetID reports whether mode has a bit that ClearSetID would remove.
func HasSetID(mode uint32) bool { return ClearSetID(mode) != mode }

// SetAttr changes the metadata of node ino and returns the new attributes.
// Size changes go through CommitContent, since they change the content.
func (s *Store) SetAttr(ctx context.Context, ino uint64, in SetAttrIn) (Attr, error) {
	var a Attr
	err := s.update(ctx, func(tx *txn) error {
		var err error
		if a, err = tx.getAttr(ino); err != nil {
			return err
		}
		if a.Flags&FlagReadOnly != 0 {
			return ErrReadOnly
		}
		if in.Mode != nil {
			a.Mode = a.Mode&syscall.S_IFMT | *in.Mode&^uint32(syscall.S_IFMT)
		}
		if in.ClearSetID {
			a.Mode = ClearSetID(a.Mode)
		}
		if in.Uid != nil {
			a.Uid = *in.Uid
		}
		if in.Gid != nil {
			a.Gid = *in.Gid
		}
		if in.Atime != nil {
			a.Atime = *in.Atime
		}
		if in.Mtime != nil {
			a.Mtime = *in.Mtime
		}
		a.Ctime = time.Unix(0, nowNs())
		_, err = tx.exec(`UPDATE nodes SET mode = ?, uid = ?, gid = ?, atime_ns = ?, mtime_ns = ?, ctime_ns = ? WHERE ino = ?`,
			a.Mode, a.Uid, a.Gid, a.Atime.UnixNano(), a.Mtime.UnixNano(), a.Ctime.UnixNano(), ino)
		tx.noteIno(ino)
		return err
	})
	if err != nil {
		return a, fmt.Errorf("setattr %d: %w", ino, err)
	}
	return a, nil
}
