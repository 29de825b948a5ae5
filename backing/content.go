package backing

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"
)

// DefaultInlineMax is the largest blob kept inside the index instead of as a file
// of its own. Small files are most of a nirs4all workspace (JSON, YAML,
// metrics, short CSVs); in SQLite they cost one row instead of a file
// create, a link and a directory entry, and they read back from its page
// cache (see sqlite.org/fasterthanfs.html for the same measurement).
const DefaultInlineMax = 32 << 10

// MaxFileSize is the largest file the store takes: 1 TiB. A commit hashes
// every byte of the content, holes included, so a sparse file of the size
// a filesystem allows (16 TiB on ext4, more elsewhere) would keep close(2)
// busy for hours; beyond this size writes and truncates fail with EFBIG.
const MaxFileSize int64 = 1 << 40

// Content is a file's new content, ready to be committed: the bytes are in
// Data, or in File (a spool file of this store), with digest Digest and
// length Size.
type Content struct {
	Data   []byte // the bytes, for content held in memory
	File   string
	Digest Digest // zero when Size is 0
	Size   int64
	Mtime  time.Time // zero: now

	uploaded bool // placed in a remote blob store before the transaction (upload)
}

// upload stores c's blob in a remote blob store before the transaction
// that references it, so that the store-wide write lock is not held for
// the upload's time (gc leaves unreferenced objects younger than
// BlobGrace alone, for this window). A local folder places the blob
// inside the transaction (a hard link, no wait), and small content goes
// into the index.
func (s *Store) upload(ctx context.Context, c *Content) error {
	if s.local != nil || c.Digest.IsZero() || c.Size <= s.opts.InlineMax || c.File == "" {
		return nil
	}
	if fi, err := os.Stat(c.File); err != nil || fi.Size() != c.Size {
		return fmt.Errorf("upload blob %s: spool %s is not the %d bytes hashed (%v): %w", c.Digest, c.File, c.Size, err, ErrCorrupt)
	}
	if err := s.blobs.PutFile(ctx, c.Digest, c.Size, c.File); err != nil {
		return fmt.Errorf("upload blob %s: %w", c.Digest, err)
	}
	c.uploaded = true
	return nil
}

// CommitContent points regular file ino at new content. The blob is placed
// (hard-linked from the spool file, or skipped when identical content is
// stored already) inside the transaction that references it.
func (s *Store) CommitContent(ctx context.Context, ino uint64, c Content) (Attr, error) {
	a, _, err := s.CommitContentOrJournal(ctx, ino, c)
	return a, err
}

// CommitContentOrJournal is CommitContent, except that the close of a new
// file with small content may be answered from the close journal
// (close_journal.go): journaled then says that the index does not hold it
// yet (Settle writes it), so that no write transaction moved TreeWrites.
func (s *Store) CommitContentOrJournal(ctx context.Context, ino uint64, c Content) (a Attr, journaled bool, err error) {
	if err := s.upload(ctx, &c); err != nil {
		return a, false, fmt.Errorf("commit content of %d: %w", ino, err)
	}
	if a, pending, journaled, err := s.commitCreated(ctx, ino, c); pending {
		if err != nil {
			return a, false, fmt.Errorf("commit content of new file %d: %w", ino, err)
		}
		return a, journaled, nil
	}
	err = s.update(ctx, func(tx *txn) error {
		var err error
		a, err = tx.commitContent(ino, c)
		return err
	})
	if err != nil {
		return a, false, fmt.Errorf("commit content of %d: %w", ino, err)
	}
	return a, false, nil
}

func (tx *txn) commitContent(ino uint64, c Content) (Attr, error) {
	a, err := tx.getAttr(ino)
	switch {
	case err != nil:
		return a, err
	case !a.IsRegular():
		return a, ErrInvalid
	case a.Flags&FlagReadOnly != 0:
		return a, ErrReadOnly
	case c.Size > MaxFileSize:
		return a, ErrFileTooBig
	}
	if err := tx.storeBlob(c); err != nil {
		return a, err
	}
	if err := tx.unrefBlob(a.Blob); err != nil {
		return a, err
	}
	now := time.Unix(0, nowNs())
	if c.Mtime.IsZero() {
		c.Mtime = now
	}
	a.Blob, a.Size, a.Mtime, a.Ctime = c.Digest, c.Size, c.Mtime, now
	_, err = tx.exec(`UPDATE nodes SET blob = ?, size = ?, mtime_ns = ?, ctime_ns = ? WHERE ino = ?`,
		c.Digest.dbValue(), c.Size, c.Mtime.UnixNano(), now.UnixNano(), ino)
	tx.noteIno(ino)
	if err != nil {
		return a, err
	}
	return a, tx.markParentsDirty(ino)
}

// BlobPath returns where blob d lives in a local blob folder, "" when the
// blobs are elsewhere (an object store).
func (s *Store) BlobPath(d Digest) string {
	if s.local == nil {
		return ""
	}
	return s.local.Path(d)
}

// storeBlob adds a reference to blob c.Digest, storing its bytes first if
// they are new: inline when small, else as a file placed from c.File.
func (tx *txn) storeBlob(c Content) error {
	if c.Digest.IsZero() {
		return nil
	}
	if c.Size <= tx.s.opts.InlineMax {
		return tx.storeSmallBlob(c)
	}
	var inline int
	err := tx.queryRow(`SELECT count(data) FROM blobs WHERE hash = ?`, c.Digest[:]).Scan(&inline)
	if err != nil {
		return err
	}
	if inline == 0 { // content stored inline when the limit was higher stays so
		if err := tx.s.placeBlob(c); err != nil {
			return err
		}
	}
	return tx.refBlob(c.Digest, c.Size)
}

// storeSmallBlob is storeBlob of content small enough to be inline, in one
// statement: insert the row with its bytes, or add a reference to the row
// there already. A row without bytes is a blob file stored when the inline
// limit was lower: the file must then be there (as storeBlob makes sure).
func (tx *txn) storeSmallBlob(c Content) error {
	data, err := c.bytes()
	if err != nil {
		return err
	}
	var isFile bool
	err = tx.queryRow(`INSERT INTO blobs (hash, size, refcount, data) VALUES (?, ?, 1, ?)
		ON CONFLICT (hash) DO UPDATE SET refcount = blobs.refcount + 1 RETURNING data IS NULL`,
		c.Digest[:], c.Size, data).Scan(&isFile)
	if err != nil || !isFile {
		return err
	}
	return tx.s.placeBlob(c)
}

// bytes returns small content, reading it from its spool file if needed.
func (c Content) bytes() ([]byte, error) {
	if c.Data != nil || c.Size == 0 {
		if int64(len(c.Data)) != c.Size {
			return nil, fmt.Errorf("content has %d bytes, says %d: %w", len(c.Data), c.Size, ErrInvalid)
		}
		return c.Data, nil
	}
	data, err := os.ReadFile(c.File)
	if err != nil {
		return nil, fmt.Errorf("read spool: %w", err)
	}
	if int64(len(data)) != c.Size {
		return nil, fmt.Errorf("spool %s has %d bytes, want %d: %w", c.File, len(data), c.Size, ErrCorrupt)
	}
	return data, nil
}

// placeBlob makes sure blob c.Digest exists, taking c.File's bytes. Call with
// the write transaction open, so that gc cannot remove the blob in between.
func (s *Store) placeBlob(c Content) error {
	if c.Digest.IsZero() {
		return nil
	}
	if c.uploaded {
		// Uploaded before the lock: still there unless gc removed it as
		// the garbage of an older file meanwhile (then upload it again).
		if _, err := s.blobs.Stat(context.Background(), c.Digest); err == nil {
			return nil
		}
	}
	if c.File == "" {
		if int64(len(c.Data)) != c.Size {
			return fmt.Errorf("place blob %s: content has %d bytes, says %d: %w", c.Digest, len(c.Data), c.Size, ErrInvalid)
		}
		if _, err := s.blobs.Stat(context.Background(), c.Digest); err == nil {
			return nil // stored already: deduplicated
		}
		if s.local != nil {
			return s.local.writeBytes(c.Digest, c.Data)
		}
		return s.blobs.Put(context.Background(), c.Digest, c.Size, bytes.NewReader(c.Data))
	}
	// The spool must hold exactly the content that was hashed: a write
	// that failed half-way (a full disk) may have left more bytes.
	if fi, err := os.Stat(c.File); err != nil || fi.Size() != c.Size {
		return fmt.Errorf("place blob %s: spool %s is not the %d bytes hashed (%v): %w", c.Digest, c.File, c.Size, err, ErrCorrupt)
	}
	return s.blobs.PutFile(context.Background(), c.Digest, c.Size, c.File)
}

func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
