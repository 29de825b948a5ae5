package backing

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Content is a file's new content, ready to be committed: the bytes are in
// File (a spool file of this store), with digest Digest and length Size.
type Content struct {
	File   string
	Digest Digest // zero when Size is 0
	Size   int64
	Mtime  time.Time // zero: now
}

// CommitContent points regular file ino at new content. The blob is placed
// (hard-linked from the spool file, or skipped when identical content is
// stored already) inside the transaction that references it.
func (s *Store) CommitContent(ctx context.Context, ino uint64, c Content) (Attr, error) {
	var a Attr
	err := s.update(ctx, func(tx *txn) error {
		var err error
		if a, err = tx.getAttr(ino); err != nil {
			return err
		}
		if !a.IsRegular() {
			return ErrInvalid
		}
		if a.Flags&FlagReadOnly != 0 {
			return ErrReadOnly
		}
		if err := s.placeBlob(c); err != nil {
			return err
		}
		if err := tx.refBlob(c.Digest, c.Size); err != nil {
			return err
		}
		if err := tx.unrefBlob(a.Blob); err != nil {
			return err
		}
		now := time.Unix(0, nowNs())
		if c.Mtime.IsZero() {
			c.Mtime = now
		}
		a.Blob, a.Size, a.Mtime, a.Ctime = c.Digest, c.Size, c.Mtime, now
		_, err = tx.exec(`UPDATE nodes SET blob = ?, size = ?, mtime_ns = ?, ctime_ns = ? WHERE ino = ?`,
			c.Digest.dbValue(), c.Size, c.Mtime.UnixNano(), now.UnixNano(), ino)
		tx.noteIno(ino)
		return err
	})
	if err != nil {
		return a, fmt.Errorf("commit content of %d: %w", ino, err)
	}
	return a, nil
}

// BlobPath returns where blob d lives.
func (s *Store) BlobPath(d Digest) string { return filepath.Join(s.blobsDir(), d.relPath()) }

// OpenBlob opens blob d for reading.
func (s *Store) OpenBlob(d Digest) (*os.File, error) {
	f, err := os.Open(s.BlobPath(d))
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", d, err)
	}
	return f, nil
}

// placeBlob makes sure blob c.Digest exists, taking c.File's bytes. Call with
// the write transaction open, so that gc cannot remove the blob in between.
func (s *Store) placeBlob(c Content) error {
	if c.Digest.IsZero() {
		return nil
	}
	dst := s.BlobPath(c.Digest)
	if _, err := os.Stat(dst); err == nil {
		return nil // stored already: deduplicated
	}
	if s.opts.Durable {
		if err := syncPath(c.File); err != nil {
			return fmt.Errorf("place blob %s: %w", c.Digest, err)
		}
	}
	err := os.Link(c.File, dst)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return fmt.Errorf("place blob %s: %w", c.Digest, err)
		}
		err = os.Link(c.File, dst)
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("place blob %s: %w", c.Digest, err)
	}
	// Blobs are immutable: no write bit, so that a slip elsewhere cannot
	// change content that other files share.
	if err := os.Chmod(dst, 0o400); err != nil {
		return fmt.Errorf("place blob %s: %w", c.Digest, err)
	}
	if s.opts.Durable {
		return syncPath(filepath.Dir(dst))
	}
	return nil
}

func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
