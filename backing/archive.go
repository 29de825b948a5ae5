package backing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// Archives: files n4ws itself writes where users cannot (catalog/archives/,
// library zips made by the CLI). They are read-only and pinned in the
// mount; only these calls create or remove them.

// WriteArchive stores r as the read-only file p. Its folder must exist;
// read-only folders are allowed. An existing p is an ErrExists.
func (s *Store) WriteArchive(ctx context.Context, p string, r io.Reader, mtime time.Time) (Attr, error) {
	dir, name := splitParent(p)
	if err := checkName(name); err != nil {
		return Attr{}, fmt.Errorf("write archive %q: %w", p, err)
	}
	parent, err := s.ResolvePath(ctx, dir)
	if err != nil {
		return Attr{}, fmt.Errorf("write archive %q: %w", p, err)
	}
	f, c, err := s.spoolFrom(ctx, 0, r)
	if err != nil {
		return Attr{}, fmt.Errorf("write archive %q: %w", p, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if mtime.IsZero() {
		mtime = time.Now()
	}
	var a Attr
	if err := s.upload(ctx, &c); err != nil {
		return Attr{}, fmt.Errorf("write archive %q: %w", p, err)
	}
	err = s.update(ctx, func(tx *txn) error {
		n := s.newNode(syscall.S_IFREG | 0o444)
		if a, err = tx.mknod(parent.Ino, name, n, FlagReadOnly|FlagPinned); err != nil {
			return err
		}
		if err := tx.storeBlob(c); err != nil {
			return err
		}
		a.Blob, a.Size, a.Mtime = c.Digest, c.Size, mtime
		_, err := tx.exec(`UPDATE nodes SET blob = ?, size = ?, mtime_ns = ? WHERE ino = ?`,
			c.Digest.dbValue(), c.Size, mtime.UnixNano(), a.Ino)
		return err
	})
	if err != nil {
		return a, fmt.Errorf("write archive %q: %w", p, err)
	}
	return a, nil
}

// RemoveArchive deletes the archive file p (one WriteArchive made).
func (s *Store) RemoveArchive(ctx context.Context, p string) error {
	dir, name := splitParent(p)
	parent, err := s.ResolvePath(ctx, dir)
	if err != nil {
		return fmt.Errorf("remove archive %q: %w", p, err)
	}
	err = s.update(ctx, func(tx *txn) error {
		a, err := tx.lookup(parent.Ino, name)
		if err != nil {
			return err
		}
		if !a.IsRegular() || a.Flags&FlagReadOnly == 0 {
			return fmt.Errorf("not an archive: %w", ErrInvalid)
		}
		now := nowNs()
		if err := tx.removeEntry(parent.Ino, name); err != nil {
			return err
		}
		if err := tx.dropLink(a, now); err != nil {
			return err
		}
		if err := tx.touchDir(parent.Ino, now, 0); err != nil {
			return err
		}
		return tx.purge(a.Ino)
	})
	if err != nil {
		return fmt.Errorf("remove archive %q: %w", p, err)
	}
	return nil
}

// RemoveAll deletes p and everything below it for good, as rm -rf would
// through the mount but without keeping anything in the trash (read-only
// and pinned entries refuse), and returns how many entries it removed. A
// file still open in a mount is purged when closed. Trash moves a folder
// of runs/ to the trash instead.
func (s *Store) RemoveAll(ctx context.Context, p string) (int, error) {
	a, err := s.ResolvePath(ctx, p)
	if err != nil {
		return 0, fmt.Errorf("remove %q: %w", p, err)
	}
	dir, name := splitParent(p)
	parent, err := s.ResolvePath(ctx, dir)
	if err != nil {
		return 0, fmt.Errorf("remove %q: %w", p, err)
	}
	n, err := s.removeTree(ctx, parent.Ino, name, a)
	if err != nil {
		return n, fmt.Errorf("remove %q: %w", p, err)
	}
	return n, nil
}

func (s *Store) removeTree(ctx context.Context, parent uint64, name string, a Attr) (int, error) {
	if !a.IsDir() {
		un, _, err := s.unlink(ctx, parent, name, keepNothing)
		if err == nil && un.Nlink == 0 && !s.IsLocked() {
			err = s.Purge(ctx, un.Ino) // no mount can hold it open
		}
		return 1, err
	}
	names, attrs, err := s.ReadDirPlus(ctx, a.Ino)
	if err != nil {
		return 0, err
	}
	n := 0
	for i := range names {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, err := s.removeTree(ctx, a.Ino, names[i], attrs[i])
		n += m
		if err != nil && !errors.Is(err, ErrNotFound) {
			return n, err
		}
	}
	return n + 1, s.rmdir(ctx, parent, name, false)
}
