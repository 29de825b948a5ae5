package backing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/mattn/go-sqlite3"
)

// SQLiteIndex is the SQLite IndexEngine: one file, WAL mode, the writer
// lock taken by BEGIN IMMEDIATE (with a busy timeout, so that writers of
// other processes queue instead of failing). It keeps two pools: one
// writer connection, and up to eight query-only readers that never wait
// for the writer (WAL).
type SQLiteIndex struct {
	path string  // read only
	db   *sql.DB // the one writer connection
	rdb  *sql.DB // readers
}

var _ IndexEngine = (*SQLiteIndex)(nil)

// OpenSQLiteIndex opens (creating it if needed) the index file at path,
// with the settings Store uses; durable syncs every commit.
func OpenSQLiteIndex(path string, durable bool) (*SQLiteIndex, error) {
	sync := "NORMAL"
	if durable {
		sync = "FULL"
	}
	// synchronous=NORMAL in WAL mode: a commit survives a crash of the
	// process; only a power cut can lose the last transactions. Durable
	// stores use FULL: every commit syncs the log (docs/RELIABILITY.md).
	base := "file:" + url.PathEscape(path) +
		"?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=" + sync +
		"&_stmt_cache_size=64&cache=private"
	db, err := sql.Open(driverName, base+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	rdb, err := sql.Open(driverName, base+"&_query_only=1")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open index %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(8)
	rdb.SetMaxIdleConns(8)
	return &SQLiteIndex{path: path, db: db, rdb: rdb}, nil
}

func (x *SQLiteIndex) Name() string               { return "sqlite" }
func (x *SQLiteIndex) DB() *sql.DB                { return x.db }
func (x *SQLiteIndex) Reader() *sql.DB            { return x.rdb }
func (x *SQLiteIndex) Rebind(query string) string { return query }

// Path returns the index file.
func (x *SQLiteIndex) Path() string { return x.path }

func (x *SQLiteIndex) Close() error { return errors.Join(x.rdb.Close(), x.db.Close()) }

// Migrate applies the store's own migrations (schema.go).
func (x *SQLiteIndex) Migrate(ctx context.Context) error { return migrate(ctx, x.db) }

func (x *SQLiteIndex) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := x.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	return v, err
}

// BeginWrite is BEGIN IMMEDIATE (the _txlock of the connection string).
func (x *SQLiteIndex) BeginWrite(ctx context.Context) (*sql.Tx, error) {
	return x.db.BeginTx(ctx, nil)
}

func (x *SQLiteIndex) InsertID(ctx context.Context, tx *sql.Tx, _, query string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (x *SQLiteIndex) IsConflict(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.ExtendedCode == sqlite3.ErrConstraintUnique ||
		se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey)
}

// NotifyChange does nothing: SQLite cannot signal other processes.
func (x *SQLiteIndex) NotifyChange(context.Context, *sql.Tx) error { return nil }

// sqlitePollInterval is how often Changes looks at the database, as the
// mount polls the change log today.
const sqlitePollInterval = 300 * time.Millisecond

// Changes polls PRAGMA data_version, which moves when another connection
// commits: a receive for every interval in which one did.
func (x *SQLiteIndex) Changes(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	// data_version is per connection: keep one for the whole watch, and
	// read the starting value before returning, so that no commit after
	// it is missed.
	// On a reader: the writer's one connection stays free for writes.
	conn, err := x.rdb.Conn(ctx)
	if err != nil {
		return ch // the database is closed: nothing will change
	}
	last := int64(-1)
	conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&last)
	go func() {
		defer conn.Close()
		t := time.NewTicker(sqlitePollInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			var v int64
			if err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err == nil && v != last {
				select {
				case ch <- struct{}{}:
				default:
				}
				last = v
			}
		}
	}()
	return ch
}
