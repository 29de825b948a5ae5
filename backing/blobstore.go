package backing

import (
	"context"
	"io"
	"os"
	"time"
)

// AgedLister is a BlobStore that knows when each blob was stored. A
// remote store's writers upload a blob before the transaction that
// references it (Store.upload), so gc and fsck leave an unreferenced blob
// younger than BlobGrace alone: it may be one a writer on another machine
// is about to commit.
type AgedLister interface {
	ListAged(ctx context.Context, fn func(d Digest, size int64, stored time.Time) error) error
}

// BlobGrace is how long an unreferenced blob of a remote store is kept.
const BlobGrace = time.Hour

// BlobStore is the seam between the store and where blob bytes live: a
// local folder (LocalBlobs, the embedded default) or an object store
// (backing/s3blobs). Blobs are content-addressed: a blob is named by the
// SHA-256 of its bytes, written once and never changed, so engines need no
// update operation and caches of them are never stale.
//
// The index (SQLite) says which blobs are referenced; a BlobStore only
// holds bytes. Every engine passes the one conformance suite in
// backing/blobtest. Errors for a blob that is not there wrap
// fs.ErrNotExist.
type BlobStore interface {
	// PutFile stores blob d from the local file at path, which holds
	// exactly size bytes hashing to d (the caller vouches for it: a spool
	// file hashed while it was written). The file must not change
	// afterwards: the local engine hard-links it. Storing a blob that is
	// there already is a no-op.
	PutFile(ctx context.Context, d Digest, size int64, path string) error
	// Put stores blob d from r, checking that the bytes hash to d and
	// number size; on a mismatch nothing is stored and the error wraps
	// ErrCorrupt.
	Put(ctx context.Context, d Digest, size int64, r io.Reader) error
	// Open opens blob d for reading. It is always a local file, so that
	// FUSE can hand it to the kernel for passthrough reads: the blob file
	// itself, or a file of a local read cache for remote engines.
	Open(ctx context.Context, d Digest) (*os.File, error)
	// Stat returns blob d's size.
	Stat(ctx context.Context, d Digest) (int64, error)
	// Delete removes blob d; a blob that is not there is no error.
	Delete(ctx context.Context, d Digest) error
	// List calls fn for every stored blob, in no particular order, for gc
	// and fsck. An error from fn stops the listing and is returned.
	List(ctx context.Context, fn func(d Digest, size int64) error) error
}
