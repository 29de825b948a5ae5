package backing

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
)

// schemaVersion is stored in PRAGMA user_version. Each migration moves the
// index from version i to i+1; Open applies the missing ones in one
// transaction so a crash mid-migration leaves the old version intact.
const schemaVersion = 6

var migrations = []string{
	// 0 -> 1: the filesystem core.
	`
CREATE TABLE nodes (
	ino      INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: inode numbers stay unique
	mode     INTEGER NOT NULL,                  -- type bits | permission bits, as st_mode
	uid      INTEGER NOT NULL DEFAULT 0,
	gid      INTEGER NOT NULL DEFAULT 0,
	size     INTEGER NOT NULL DEFAULT 0,
	nlink    INTEGER NOT NULL DEFAULT 1,
	atime_ns INTEGER NOT NULL DEFAULT 0,
	mtime_ns INTEGER NOT NULL DEFAULT 0,
	ctime_ns INTEGER NOT NULL DEFAULT 0,
	rdev     INTEGER NOT NULL DEFAULT 0,
	flags    INTEGER NOT NULL DEFAULT 0,        -- NodeFlags: pinned, read-only
	blob     BLOB REFERENCES blobs(hash),       -- NULL for empty files and non-files
	target   BLOB                               -- symlink target
);
CREATE INDEX nodes_unlinked ON nodes(ino) WHERE nlink = 0;
CREATE TABLE entries (
	parent INTEGER NOT NULL REFERENCES nodes(ino),
	name   BLOB NOT NULL,                      -- raw bytes: any name but '/' and NUL
	child  INTEGER NOT NULL REFERENCES nodes(ino),
	PRIMARY KEY (parent, name)
) WITHOUT ROWID;
CREATE INDEX entries_child ON entries(child);
CREATE TABLE blobs (
	hash     BLOB PRIMARY KEY,
	size     INTEGER NOT NULL,
	refcount INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX blobs_garbage ON blobs(hash) WHERE refcount = 0;
CREATE TABLE xattrs (
	ino   INTEGER NOT NULL REFERENCES nodes(ino),
	name  TEXT NOT NULL,
	value BLOB NOT NULL,
	PRIMARY KEY (ino, name)
) WITHOUT ROWID;
-- changes made by processes other than the mount, so that the mount can
-- drop the kernel's cached entries and pages for exactly those places.
CREATE TABLE changes (
	seq    INTEGER PRIMARY KEY AUTOINCREMENT,
	parent INTEGER NOT NULL DEFAULT 0,
	name   BLOB,
	ino    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
`,
	// 1 -> 2: find the nodes that name a blob without scanning all nodes.
	// SQLite's foreign-key check on every DELETE FROM blobs (gc) and fsck's
	// "who references this blob" both look nodes up by blob.
	`CREATE INDEX nodes_blob ON nodes(blob) WHERE blob IS NOT NULL;`,
	// 2 -> 3: small blobs live in the index itself (see InlineMax).
	`ALTER TABLE blobs ADD COLUMN data BLOB;`,
	// 3 -> 4: directories whose content changed, for derived views (the
	// catalog) to catch up with, in the same transaction as the change.
	`CREATE TABLE dirty (ino INTEGER PRIMARY KEY, seq INTEGER NOT NULL); CREATE INDEX dirty_seq ON dirty(seq);`,
	// 4 -> 5: the trash (trash.go). Its nodes hang below a directory that
	// no entry names (meta 'trash_root'), so no path reaches them.
	`
CREATE TABLE trash (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	root       INTEGER NOT NULL,  -- the item's node, named "<id>" in the trash root
	path       TEXT NOT NULL,     -- where it was: runs/<dataset>[/<folder>]
	unit       INTEGER NOT NULL,  -- the node at path when the deletion began
	parent     INTEGER NOT NULL,  -- the directory that held it
	whole      INTEGER NOT NULL,  -- 1: the node at path itself is in the item; 0: some of its content
	deleted_ns INTEGER NOT NULL,  -- first removal
	last_ns    INTEGER NOT NULL   -- latest removal; the retention counts from here
);
CREATE INDEX trash_unit ON trash(unit) WHERE whole = 0;
CREATE INDEX trash_parent ON trash(parent);
`,
	// 5 -> 6: blobs as a rowid table. A WITHOUT ROWID table keeps each
	// row whole in the leaves of its one B-tree, which suits the short
	// rows it was made for; since 2 -> 3 a row holds a small file's bytes
	// (up to InlineMax), and a new row lands at a random place (its key is
	// a SHA-256), splitting leaves full of kilobytes and their overflow
	// chains. SQLite advises WITHOUT ROWID only for rows under about a
	// twentieth of a page. In a rowid table the rows are appended in rowid
	// order and the hash is a 32-byte key in its own index: 10,000 inserts
	// of 4 KiB in batches of 256 took 1.2 s instead of 2.1 s, 30,000 took
	// 3.6 s instead of 8.1 s (docs/PERFORMANCE.md, "Ninth pass"). The
	// rebuild copies the table once, in the migration's one transaction,
	// the way SQLite documents for changing a table others reference
	// (foreign keys off meanwhile: see migrate).
	`
CREATE TABLE blobs_rowid (
	hash     BLOB PRIMARY KEY,
	size     INTEGER NOT NULL,
	refcount INTEGER NOT NULL,
	data     BLOB
);
INSERT INTO blobs_rowid (hash, size, refcount, data) SELECT hash, size, refcount, data FROM blobs;
DROP TABLE blobs;
ALTER TABLE blobs_rowid RENAME TO blobs;
CREATE INDEX blobs_garbage ON blobs(hash) WHERE refcount = 0;
`,
}

// migrate brings the schema to schemaVersion, on a connection of its own
// with foreign keys off: a migration that rebuilds a table other tables
// reference (5 -> 6) drops the old one, which with foreign keys on would
// count every reference as a violation that the rebuilt table, renamed,
// never clears. SQLite ignores the pragma inside a transaction, so it is
// set around it; the connection goes back to the pool with keys on.
func migrate(ctx context.Context, db *sql.DB) (err error) {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > schemaVersion {
		return fmt.Errorf("index schema version %d is newer than this n4ws (%d): upgrade n4ws", v, schemaVersion)
	}
	if v == schemaVersion {
		return nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migration connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return fmt.Errorf("migration: foreign keys off: %w", err)
	}
	defer func() {
		if _, kerr := conn.ExecContext(context.Background(), "PRAGMA foreign_keys = ON"); kerr != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn }) // not back to the pool without them
			err = errors.Join(err, fmt.Errorf("migration: foreign keys on again: %w", kerr))
		}
	}()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback()
	// Read again under the write lock: another process may have migrated.
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v >= schemaVersion {
		return nil
	}
	for i := v; i < schemaVersion; i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate schema %d -> %d: %w", i, i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return fmt.Errorf("set schema version: %w", err)
	}
	return tx.Commit()
}
