package backing

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// NewSpool creates an empty, unnamed-to-the-index file in the spool
// directory, for content being written. Its name carries the node number
// for whoever looks at a spool left by a crash.
func (s *Store) NewSpool(ino uint64) (*os.File, error) {
	f, err := os.CreateTemp(s.spoolDir(), strconv.FormatUint(ino, 10)+"-*")
	if err != nil {
		return nil, fmt.Errorf("new spool for %d: %w", ino, err)
	}
	return f, nil
}

// CopyBlobInto fills the empty file dst with blob d's bytes, sharing
// extents (reflink) where the filesystem can and copying in the kernel
// otherwise.
func (s *Store) CopyBlobInto(ctx context.Context, dst *os.File, d Digest) error {
	if d.IsZero() {
		return nil
	}
	b, err := s.OpenBlob(ctx, d)
	if err != nil {
		return err
	}
	defer b.Close()
	if b.file == nil {
		if err := b.load(); err != nil {
			return err
		}
		if _, err := dst.Write(b.data); err != nil {
			return fmt.Errorf("copy blob %s: %w", d, err)
		}
		return nil
	}
	if err := unix.IoctlFileClone(int(dst.Fd()), int(b.file.Fd())); err == nil {
		return nil
	}
	if _, err := io.Copy(dst, b.file); err != nil { // uses copy_file_range
		return fmt.Errorf("copy blob %s: %w", d, err)
	}
	return nil
}

// HashFile computes the digest and size of a file's content.
func HashFile(f *os.File) (Digest, int64, error) {
	var d Digest
	h := sha256.New()
	n, err := io.Copy(h, io.NewSectionReader(f, 0, 1<<62))
	if err != nil {
		return d, 0, fmt.Errorf("hash %s: %w", f.Name(), err)
	}
	if n > 0 {
		h.Sum(d[:0])
	}
	return d, n, nil
}

// CleanSpool removes every spool file. Only the mount (holding the store
// lock) may call it: spool files belong to files open in a mount, and when
// none runs they are leftovers of a crash whose content was never closed.
func (s *Store) CleanSpool() (int, error) {
	entries, err := os.ReadDir(s.spoolDir())
	if err != nil {
		return 0, fmt.Errorf("clean spool: %w", err)
	}
	var errs []error
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(s.spoolDir(), e.Name())))
	}
	return len(entries), errors.Join(errs...)
}
