package backing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
)

// Blob is an open blob: a file in the blob directory or bytes inline in
// the index. Inline bytes are read on first use: a reader whose pages the
// kernel already caches never needs them.
type Blob struct {
	file *os.File // nil for an inline blob

	mu     sync.Mutex // protects the following
	store  *Store     // to load inline bytes; nil once loaded
	digest Digest
	data   []byte
	err    error
}

// OpenBlob opens blob d for reading.
func (s *Store) OpenBlob(ctx context.Context, d Digest) (*Blob, error) {
	var data []byte
	err := s.stmts.blobData.QueryRowContext(ctx, d[:]).Scan(&data)
	if s.known != nil {
		if err == nil && data != nil {
			s.known.putData(d, data)
		} else if k, ok := s.known.blobData(d); ok && err != nil && !errors.Is(err, sql.ErrNoRows) && outage(err) {
			data, err = k, nil
		}
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("open blob %s: %w", d, err)
	}
	if data != nil {
		return &Blob{data: data}, nil
	}
	f, err := s.blobs.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	return &Blob{file: f}, nil
}

// Writes returns how many write transactions this process has ended. A
// caller that read index rows while Writes returned n may reuse what it
// read for as long as Writes still returns n, unless another process (the
// change log) changed the store in between.
func (s *Store) Writes() uint64 { return s.writes.Load() }

// TreeWrites returns how many write transactions this process has ended
// that may have changed the tree (entries, attributes, xattrs, content):
// Writes without the catalog's bookkeeping. A cache of entries or
// attributes read while it returned n is exact for as long as it still
// returns n, unless another process (the change log) changed the store.
func (s *Store) TreeWrites() uint64 { return s.treeWrites.Load() }

// OpenKnownBlob opens blob d, which OpenFile reported as inline or not,
// without a query: inline bytes are read on first use, as OpenFile's are.
func (s *Store) OpenKnownBlob(d Digest, inline bool) (*Blob, error) {
	if inline {
		return &Blob{store: s, digest: d}, nil
	}
	f, err := s.blobs.Open(context.Background(), d)
	if err != nil {
		return nil, err
	}
	return &Blob{file: f}, nil
}

// OpenFile returns regular file ino's attributes and its open blob (nil
// when the file is empty), reading both with one query.
func (s *Store) OpenFile(ctx context.Context, ino uint64) (Attr, *Blob, error) {
	var inline bool
	a, err := scanAttr(s.stmts.openFile.QueryRowContext(ctx, ino), &inline)
	if s.known != nil {
		if err == nil {
			s.known.putFile(a, inline)
		} else if k, kin, ok := s.known.file(ino); ok && outage(err) {
			a, inline, err = k, kin, nil
		}
	}
	if err != nil {
		return a, nil, fmt.Errorf("open %d: %w", ino, err)
	}
	switch {
	case a.Blob.IsZero():
		return a, nil, nil
	case inline:
		return a, &Blob{store: s, digest: a.Blob}, nil
	}
	return s.openBlobFile(ctx, ino, a)
}

// OpenFileData is OpenFile for a reader about to read the whole file: an
// inline blob comes with its bytes, read by the same query. (A store that
// keeps its last known rows for outages, a team store, opens as OpenFile.)
func (s *Store) OpenFileData(ctx context.Context, ino uint64) (Attr, *Blob, error) {
	if s.known != nil {
		return s.OpenFile(ctx, ino)
	}
	var data []byte
	a, err := scanAttr(s.stmts.openData.QueryRowContext(ctx, ino), &data)
	switch {
	case err != nil:
		return a, nil, fmt.Errorf("open %d: %w", ino, err)
	case a.Blob.IsZero():
		return a, nil, nil
	case data != nil:
		return a, &Blob{data: data}, nil
	}
	return s.openBlobFile(ctx, ino, a)
}

// openBlobFile returns file ino (attributes a) with its blob file open.
func (s *Store) openBlobFile(ctx context.Context, ino uint64, a Attr) (Attr, *Blob, error) {
	f, err := s.blobs.Open(ctx, a.Blob)
	if err != nil {
		return a, nil, s.missingContent(ctx, ino, a.Blob, err)
	}
	return a, &Blob{file: f}, nil
}

// missingContent tells apart, for a team store, a blob missing from the
// object store while file ino still names it: content this machine
// cannot read (another machine's --writeback upload has not landed yet),
// not a missing file, so no longer an error matching fs.ErrNotExist (EIO
// at the FUSE edge, not ENOENT). A file changed since keeps the
// not-found error: its opener looks again.
func (s *Store) missingContent(ctx context.Context, ino uint64, d Digest, err error) error {
	if s.local != nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if now, aerr := s.GetAttr(ctx, ino); aerr != nil || now.Blob != d {
		return err
	}
	return fmt.Errorf("open %d: its content is not in the object store (an upload from another machine that has not landed yet, or lost): %v", ino, err)
}

// ReadAt reads like io.ReaderAt.
func (b *Blob) ReadAt(p []byte, off int64) (int, error) {
	if b.file != nil {
		return b.file.ReadAt(p, off)
	}
	if err := b.load(); err != nil {
		return 0, err
	}
	if off >= int64(len(b.data)) {
		return 0, io.EOF
	}
	n := copy(p, b.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// load reads inline bytes once.
func (b *Blob) load() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.store == nil {
		return b.err
	}
	err := b.store.stmts.blobData.QueryRow(b.digest[:]).Scan(&b.data)
	if k := b.store.known; k != nil {
		if err == nil {
			k.putData(b.digest, b.data)
		} else if data, ok := k.blobData(b.digest); ok && outage(err) {
			b.data, err = data, nil
		}
	}
	if err != nil {
		b.err = fmt.Errorf("read blob %s: %w", b.digest, err)
	}
	b.store = nil
	return b.err
}

// Inline returns an inline blob's bytes (read from the index on first
// use), or nil and no error for a blob that is a file.
func (b *Blob) Inline() ([]byte, error) {
	if b.file != nil {
		return nil, nil
	}
	if err := b.load(); err != nil {
		return nil, err
	}
	return b.data, nil
}

// File returns the blob's file, or nil when it is inline.
func (b *Blob) File() *os.File { return b.file }

// Close releases the blob.
func (b *Blob) Close() error {
	if b.file != nil {
		return b.file.Close()
	}
	return nil
}

// InlineMax returns the size up to which blobs are kept in the index
// (negative: never).
func (s *Store) InlineMax() int64 { return s.opts.InlineMax }

// ReadBlob returns the content of blob d, of the given size, in memory.
func (s *Store) ReadBlob(ctx context.Context, d Digest, size int64) ([]byte, error) {
	b, err := s.OpenBlob(ctx, d)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	buf := make([]byte, size)
	n, err := b.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read blob %s: %w", d, err)
	}
	if int64(n) != size {
		return nil, fmt.Errorf("read blob %s: %d bytes, want %d: %w", d, n, size, ErrCorrupt)
	}
	return buf, nil
}
