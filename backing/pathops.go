package backing

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"syscall"
	"time"
)

// Path operations for the CLI and tests: they name places by slash paths
// from the store's root and work without a mount. They go through the same
// checks as the mount (read-only places, pinned folders, name rules).

// splitPath cleans p and returns its components; the root has none.
func splitPath(p string) []string {
	p = path.Clean("/" + p)
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

// splitParent returns the parent path and the last name of p.
func splitParent(p string) (string, string) {
	dir, name := path.Split(path.Clean("/" + p))
	return dir, name
}

// ResolvePath returns the attributes of the node at slash path p ("" or
// "/" is the root). A symlink is not followed, as with lstat.
func (s *Store) ResolvePath(ctx context.Context, p string) (Attr, error) {
	a, err := s.GetAttr(ctx, RootIno)
	if err != nil {
		return a, fmt.Errorf("resolve %q: %w", p, err)
	}
	for _, name := range splitPath(p) {
		if !a.IsDir() {
			return a, fmt.Errorf("resolve %q: %w", p, ErrNotDir)
		}
		if a, err = s.Lookup(ctx, a.Ino, name); err != nil {
			return a, fmt.Errorf("resolve %q: %w", p, err)
		}
	}
	return a, nil
}

// MkdirAll creates directory p and any missing parents with permission
// bits mode (used as given: the caller applies its umask), and returns the
// attributes of p. Existing directories are left as they are. A path that
// exists costs reads only (answered from what is known during an index
// outage); missing folders are made in one write transaction (Tx.MkdirAll).
func (s *Store) MkdirAll(ctx context.Context, p string, mode uint32) (Attr, error) {
	a, err := s.ResolvePath(ctx, p)
	switch {
	case err == nil && !a.IsDir():
		return a, fmt.Errorf("mkdir -p %q: %w", p, ErrNotDir)
	case err == nil:
		return a, nil
	case !errors.Is(err, ErrNotFound):
		return a, fmt.Errorf("mkdir -p %q: %w", p, err)
	}
	err = s.update(ctx, func(tx *txn) error {
		a, err = (&Tx{tx}).MkdirAll(p, mode)
		return err
	})
	return a, err
}

// newNode describes a node owned by the calling user.
func (s *Store) newNode(mode uint32) NewNode {
	return NewNode{Mode: mode, Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid())}
}

// WriteFile stores r's bytes as the content of the regular file p,
// creating p (permission bits mode) and its parents as needed, or replacing
// the content of the file already there (its mode unchanged). A zero mtime
// means now.
func (s *Store) WriteFile(ctx context.Context, p string, r io.Reader, mode uint32, mtime time.Time) (Attr, error) {
	dir, name := splitParent(p)
	if err := checkName(name); err != nil {
		return Attr{}, fmt.Errorf("write %q: %w", p, err)
	}
	parent, err := s.MkdirAll(ctx, dir, 0o755)
	if err != nil {
		return Attr{}, fmt.Errorf("write %q: %w", p, err)
	}
	// Refuse before streaming, so that a large copy into a read-only place
	// fails at once instead of after the last byte.
	old, err := s.Lookup(ctx, parent.Ino, name)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, ErrNotFound):
		return Attr{}, fmt.Errorf("write %q: %w", p, err)
	case parent.Flags&FlagReadOnly != 0 || exists && old.Flags&FlagReadOnly != 0:
		return Attr{}, fmt.Errorf("write %q: %w", p, ErrReadOnly)
	case exists && old.IsDir():
		return Attr{}, fmt.Errorf("write %q: %w", p, ErrIsDir)
	case exists && !old.IsRegular():
		return Attr{}, fmt.Errorf("write %q: not a regular file: %w", p, ErrInvalid)
	}
	f, c, err := s.spoolFrom(ctx, old.Ino, r)
	if err != nil {
		return Attr{}, fmt.Errorf("write %q: %w", p, err)
	}
	// The committed blob is a hard link to the spool file (or a copy of
	// identical content), so dropping the spool name is always safe.
	defer os.Remove(f.Name())
	defer f.Close()
	c.Mtime = mtime
	a, err := s.commitAt(ctx, parent.Ino, name, mode, old, exists, c)
	if err != nil {
		return a, fmt.Errorf("write %q: %w", p, err)
	}
	return a, nil
}

// spoolFrom copies r into a new spool file while hashing it.
func (s *Store) spoolFrom(ctx context.Context, ino uint64, r io.Reader) (*os.File, Content, error) {
	f, err := s.NewSpool(ino)
	if err != nil {
		return nil, Content{}, err
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(f, h), ctxReader{ctx, r}, make([]byte, 1<<20))
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, Content{}, fmt.Errorf("spool: %w", err)
	}
	c := Content{File: f.Name(), Size: n}
	if n > 0 {
		h.Sum(c.Digest[:0])
	}
	return f, c, nil
}

// commitAt points (parent, name) at content c. A file it creates gets its
// name and its content in one transaction: a process killed at any moment
// (an import, a library save) never leaves an empty or partial file under
// a final name.
func (s *Store) commitAt(ctx context.Context, parent uint64, name string, mode uint32, old Attr, exists bool, c Content) (Attr, error) {
	if exists {
		return s.CommitContent(ctx, old.Ino, c)
	}
	var a Attr
	if err := s.upload(ctx, &c); err != nil {
		return a, err
	}
	err := s.update(ctx, func(tx *txn) error {
		made, err := tx.mknod(parent, name, s.newNode(syscall.S_IFREG|mode&0o7777), 0)
		if err != nil {
			return err
		}
		a, err = tx.commitContent(made.Ino, c)
		return err
	})
	if errors.Is(err, ErrExists) { // another writer made it meanwhile: replace its content
		if a, err = s.Lookup(ctx, parent, name); err == nil && !a.IsRegular() {
			err = ErrExists
		}
		if err != nil {
			return a, err
		}
		return s.CommitContent(ctx, a.Ino, c)
	}
	if err != nil {
		return a, fmt.Errorf("create %q in %d: %w", name, parent, err)
	}
	return a, nil
}

// Symlink creates the symbolic link p pointing at target, creating the
// parents of p as needed.
func (s *Store) Symlink(ctx context.Context, p, target string) (Attr, error) {
	dir, name := splitParent(p)
	switch {
	case target == "":
		return Attr{}, fmt.Errorf("symlink %q: empty target: %w", p, ErrInvalid)
	case len(target) >= syscall.PathMax:
		return Attr{}, fmt.Errorf("symlink %q: target of %d bytes: %w", p, len(target), ErrNameTooLong)
	}
	if err := checkName(name); err != nil {
		return Attr{}, fmt.Errorf("symlink %q: %w", p, err)
	}
	parent, err := s.MkdirAll(ctx, dir, 0o755)
	if err != nil {
		return Attr{}, fmt.Errorf("symlink %q: %w", p, err)
	}
	n := s.newNode(syscall.S_IFLNK | 0o777)
	n.Target = target
	a, err := s.Mknod(ctx, parent.Ino, name, n)
	if err != nil {
		return a, fmt.Errorf("symlink %q: %w", p, err)
	}
	return a, nil
}
