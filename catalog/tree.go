package catalog

// Tree is how catalog/bundle and catalog/importer see the store: a few
// calls by slash path, so that their logic is tested on a map. It lives in
// the core so that neither of them needs the other.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"syscall"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// TreeEntry is one name in a folder listing.
type TreeEntry struct {
	Name    string
	Dir     bool
	Symlink bool
	Target  string // of a symlink
	Size    int64
	Mtime   time.Time
	Digest  backing.Digest // content of a regular file; zero when empty
}

// Tree is the part of the store bundles and imports need, by slash paths from the
// store's root. A missing path is an error wrapping fs.ErrNotExist.
type Tree interface {
	List(ctx context.Context, dir string) ([]TreeEntry, error) // sorted by name
	Stat(ctx context.Context, p string) (TreeEntry, error)
	Open(ctx context.Context, p string) (io.ReadCloser, error)
}

// WritableTree adds what import needs.
type WritableTree interface {
	Tree
	WriteFile(ctx context.Context, p string, r io.Reader) error
	Symlink(ctx context.Context, p, target string) error
	RemoveAll(ctx context.Context, p string) error
}

// StoreTree is a Tree over a store.
type StoreTree struct{ S *backing.Store }

func notExist(err error) error {
	if errors.Is(err, backing.ErrNotFound) {
		return fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	return err
}

func entryOf(name string, a *backing.Attr) TreeEntry {
	return TreeEntry{Name: name, Dir: a.IsDir(), Symlink: a.Mode&syscall.S_IFMT == syscall.S_IFLNK,
		Target: a.Target, Size: a.Size, Mtime: a.Mtime, Digest: a.Blob}
}

// List lists folder dir.
func (t StoreTree) List(ctx context.Context, dir string) ([]TreeEntry, error) {
	a, err := t.S.ResolvePath(ctx, dir)
	if err != nil {
		return nil, notExist(err)
	}
	if !a.IsDir() {
		return nil, fmt.Errorf("%s: %w", dir, backing.ErrNotDir)
	}
	names, attrs, err := t.S.ReadDirPlus(ctx, a.Ino)
	if err != nil {
		return nil, err
	}
	out := make([]TreeEntry, len(names))
	for i := range names {
		out[i] = entryOf(names[i], &attrs[i])
	}
	return out, nil
}

// Stat describes p without following a symlink.
func (t StoreTree) Stat(ctx context.Context, p string) (TreeEntry, error) {
	a, err := t.S.ResolvePath(ctx, p)
	if err != nil {
		return TreeEntry{}, notExist(err)
	}
	return entryOf(p, &a), nil
}

// Open reads the regular file p.
func (t StoreTree) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	a, err := t.S.ResolvePath(ctx, p)
	if err != nil {
		return nil, notExist(err)
	}
	if !a.IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	_, b, err := t.S.OpenFile(ctx, a.Ino)
	if err != nil || b == nil {
		return io.NopCloser(eofReader{}), err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(b, 0, a.Size), b}, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// WriteFile stores r as the file p (mode 0644), creating its folders.
func (t StoreTree) WriteFile(ctx context.Context, p string, r io.Reader) error {
	_, err := t.S.WriteFile(ctx, p, r, 0o644, time.Time{})
	return err
}

// Symlink creates the symbolic link p.
func (t StoreTree) Symlink(ctx context.Context, p, target string) error {
	_, err := t.S.Symlink(ctx, p, target)
	return err
}

// RemoveAll deletes p and everything below it.
func (t StoreTree) RemoveAll(ctx context.Context, p string) error {
	_, err := t.S.RemoveAll(ctx, p)
	return err
}
