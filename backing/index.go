package backing

import (
	"context"
	"database/sql"
)

// IndexEngine is the seam between the store and its SQL database: SQLite,
// the embedded default, or PostgreSQL for a team store (backing/pgindex).
// The store's statements are plain SQL written with ? placeholders that
// both engines run; the engines differ only in what is here: how to
// connect, the schema's DDL, placeholders, how a writer excludes every
// other writer of the store (in any process, on any machine), how an
// insert returns its new key, and how a constraint violation is told.
// (JuiceFS's pkg/meta does the same with xorm for its SQL engines.)
//
// Store runs on this seam (store.go): nothing above backing knows which
// engine is in use. Every engine passes backing/indextest.
type IndexEngine interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// DB is the connection pool for writes (and reads inside them).
	DB() *sql.DB
	// Reader is the pool for reads outside write transactions: SQLite's
	// query-only connections, or the same pool as DB for PostgreSQL.
	Reader() *sql.DB
	// Rebind rewrites a statement's ? placeholders for the engine.
	Rebind(query string) string
	// Migrate brings the schema to the current version, in one
	// transaction, and fails on a schema newer than this n4ws.
	Migrate(ctx context.Context) error
	// SchemaVersion returns the version the index is at.
	SchemaVersion(ctx context.Context) (int, error)
	// BeginWrite starts a write transaction that holds the store's write
	// lock until it ends: writers of one store never interleave.
	BeginWrite(ctx context.Context) (*sql.Tx, error)
	// InsertID runs an INSERT (? placeholders) and returns the integer key
	// (column key) it gave the new row, for tables keyed by a generated id
	// (nodes.ino).
	InsertID(ctx context.Context, tx *sql.Tx, key, query string, args ...any) (int64, error)
	// IsConflict reports whether err is a unique or primary key violation
	// (two writers creating one name: EEXIST).
	IsConflict(err error) bool
	// NotifyChange, inside a write transaction, tells the other mounts
	// that the change log grew, once the transaction commits.
	NotifyChange(ctx context.Context, tx *sql.Tx) error
	// Changes returns a channel that receives after other writers commit
	// (NotifyChange), until ctx ends. A receive means "read the change
	// log"; it may come with nothing new (after a reconnect, or from a
	// polling engine), never late by more than a second.
	Changes(ctx context.Context) <-chan struct{}
	// Close closes the pool.
	Close() error
}

// IndexSchemaVersion is the schema version every engine's Migrate reaches.
const IndexSchemaVersion = schemaVersion
