package backing

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LocalBlobs is the local-folder BlobStore, the embedded default: blob d is
// the file <dir>/aa/bb/<hex of d>, read only (mode 0400) so that a slip
// elsewhere cannot change content that other files share.
type LocalBlobs struct {
	dir     string // read only
	durable bool   // fsync blob content and its folder before returning
}

var _ BlobStore = (*LocalBlobs)(nil)

// NewLocalBlobs returns the blob folder dir as a BlobStore. With durable,
// a stored blob is on disk (fsynced) before Put or PutFile returns.
func NewLocalBlobs(dir string, durable bool) *LocalBlobs {
	return &LocalBlobs{dir: dir, durable: durable}
}

// Path returns where blob d lives.
func (b *LocalBlobs) Path(d Digest) string { return filepath.Join(b.dir, d.relPath()) }

// PutFile hard-links the file at path as blob d: the spool file becomes the
// blob without copying a byte.
func (b *LocalBlobs) PutFile(_ context.Context, d Digest, _ int64, path string) error {
	dst := b.Path(d)
	if _, err := os.Stat(dst); err == nil {
		return nil // stored already: deduplicated
	}
	if b.durable {
		if err := syncPath(path); err != nil {
			return fmt.Errorf("place blob %s: %w", d, err)
		}
	}
	err := os.Link(path, dst)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return fmt.Errorf("place blob %s: %w", d, err)
		}
		err = os.Link(path, dst)
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("place blob %s: %w", d, err)
	}
	if err := os.Chmod(dst, 0o400); err != nil {
		return fmt.Errorf("place blob %s: %w", d, err)
	}
	if b.durable {
		return syncPath(filepath.Dir(dst))
	}
	return nil
}

// Put writes blob d from r through a temporary file beside it, checking
// its hash and size before the rename makes it visible.
func (b *LocalBlobs) Put(_ context.Context, d Digest, size int64, r io.Reader) error {
	if _, err := os.Stat(b.Path(d)); err == nil {
		return nil
	}
	return b.writeBlob(d, func(w io.Writer) error {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), r)
		if err != nil {
			return err
		}
		if got := Digest(h.Sum(nil)); n != size || got != d {
			return fmt.Errorf("content is %d bytes hashing to %s, want %d bytes: %w", n, got, size, ErrCorrupt)
		}
		return nil
	})
}

// writeBytes places content held in memory (whose digest the caller
// computed) as blob d.
func (b *LocalBlobs) writeBytes(d Digest, data []byte) error {
	return b.writeBlob(d, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeBlob places blob d: written by fill to a temporary file in its
// folder, then renamed into place, so that a reader never sees part of it.
func (b *LocalBlobs) writeBlob(d Digest, fill func(io.Writer) error) error {
	dst := b.Path(d)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("place blob %s: %w", d, err)
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return fmt.Errorf("place blob %s: %w", d, err)
	}
	err = fill(f)
	if err == nil && b.durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o400)
	}
	if err == nil {
		err = os.Rename(f.Name(), dst)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("place blob %s: %w", d, err)
	}
	return nil
}

// Open opens the blob file itself.
func (b *LocalBlobs) Open(_ context.Context, d Digest) (*os.File, error) {
	f, err := os.Open(b.Path(d))
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", d, err)
	}
	return f, nil
}

// Stat returns the blob file's size.
func (b *LocalBlobs) Stat(_ context.Context, d Digest) (int64, error) {
	fi, err := os.Stat(b.Path(d))
	if err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", d, err)
	}
	return fi.Size(), nil
}

// Delete removes the blob file.
func (b *LocalBlobs) Delete(_ context.Context, d Digest) error {
	if err := os.Remove(b.Path(d)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete blob %s: %w", d, err)
	}
	return nil
}

// List walks the blob folder. Files that are not blobs at their place
// (temporary files of an interrupted write, strays) are skipped: fsck
// reports those from its own walk.
func (b *LocalBlobs) List(ctx context.Context, fn func(Digest, int64) error) error {
	err := filepath.WalkDir(b.dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == b.dir && errors.Is(err, fs.ErrNotExist) {
				return nil // no blob yet
			}
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			return ctx.Err()
		}
		d, perr := ParseDigest(e.Name())
		if rel, _ := filepath.Rel(b.dir, p); perr != nil || rel != d.relPath() || !e.Type().IsRegular() {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		return fn(d, fi.Size())
	})
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	return nil
}
