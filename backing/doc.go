// Package backing is the n4ws store: a SQLite index of nodes and directory
// entries plus a content-addressed directory of immutable blobs.
//
// The model is a small POSIX filesystem kept in SQLite. A node (an inode) has
// a type, mode, owner, times and, for a regular file, the digest of the blob
// that holds its bytes. Entries name nodes inside directories; a node with
// several entries is a hard link. Blobs live at blobs/aa/bb/<sha256 hex> and
// never change once placed, so identical content is stored once whatever its
// names.
//
// Crash safety rests on one rule: a blob file is placed before, and inside the
// same write transaction as, the index row that references it; it is removed
// only by garbage collection inside a write transaction, after its reference
// count reached zero. A crash therefore leaves at worst an unreferenced blob
// file (garbage that gc reclaims), never a row that points at nothing.
//
// backing knows nothing of FUSE or nirs4all; vfs maps its errors to errno.
package backing
