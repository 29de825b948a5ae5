package backing

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
)

// Digest is the SHA-256 of a blob's content: its address in the blob store.
// The zero Digest means "no blob" (an empty file).
type Digest [sha256.Size]byte

// ParseDigest reads the 64-hex-digit form produced by Digest.String.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*sha256.Size {
		return d, fmt.Errorf("parse digest %q: want %d hex digits: %w", s, 2*sha256.Size, ErrInvalid)
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("parse digest %q: %w", s, ErrInvalid)
	}
	return d, nil
}

// String returns the lowercase hex form.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// IsZero reports whether d is the "no blob" digest.
func (d Digest) IsZero() bool { return d == Digest{} }

// relPath is where the blob lives below the blobs directory: aa/bb/<hex>.
func (d Digest) relPath() string {
	h := d.String()
	return filepath.Join(h[0:2], h[2:4], h)
}

// digestFromBytes converts a database column; nil or a wrong length is zero.
func digestFromBytes(b []byte) Digest {
	var d Digest
	if len(b) == len(d) {
		copy(d[:], b)
	}
	return d
}

// dbValue is the value stored in SQLite: NULL for the zero digest.
func (d Digest) dbValue() any {
	if d.IsZero() {
		return nil
	}
	return d[:]
}

// EmptyDigest is the SHA-256 of no bytes: the content hash of an empty
// file (which the store keeps as the zero Digest, with no blob).
var EmptyDigest = Digest(sha256.Sum256(nil))
