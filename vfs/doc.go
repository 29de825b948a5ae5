// Package vfs presents an n4ws store as a FUSE filesystem (go-fuse v2 fs API).
//
// Every stored node is served by a node object that keeps only its inode
// number: metadata comes from the SQLite index, bytes from immutable blobs.
// A file opened for writing gets a spool file, shared by all of its write
// handles; on every close (FLUSH) and fsync the spool is hashed and
// committed as a blob, so a file whose close returned is in the store.
// Read-only opens read the blob directly, through FUSE passthrough when the
// kernel and our privileges allow it.
//
// This is the only package that speaks FUSE and errno; errors from backing
// are mapped in errno.go.
package vfs
