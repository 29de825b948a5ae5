// Package storetest runs the store itself (backing.Store: files, folders,
// renames, links, xattrs, trash, fsck, gc, an extension's tables) on every
// combination of its two seams: SQLite or PostgreSQL for the index, a
// local folder or S3 for the blobs, against real servers
// (backing/backingtest). It has only tests.
package storetest
