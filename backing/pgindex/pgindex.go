// Package pgindex is the PostgreSQL engine of backing.IndexEngine, for a
// team store whose index many machines share. It connects through
// github.com/jackc/pgx/v5's database/sql driver; credentials come from
// the connection URL or the usual places (PGPASSWORD, ~/.pgpass).
package pgindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/n4ws/n4ws/backing"
)

// writeLockKey is the advisory lock every writer of a store takes (in its
// transaction): the PostgreSQL counterpart of SQLite's BEGIN IMMEDIATE.
// One database holds one store.
const writeLockKey = 0x6e347773 // "n4ws"

// Index is a PostgreSQL database as a backing.IndexEngine.
type Index struct {
	db  *sql.DB
	dsn string // for the LISTEN connection of Changes
}

var _ backing.IndexEngine = (*Index)(nil)

// maxConns bounds a process's connections to the index's server.
const maxConns = 16

// Open connects to the database at dsn (postgres://user@host/db?...) and
// checks that it answers.
func Open(ctx context.Context, dsn string) (*Index, error) {
	db, err := openDB(dsn)
	if err != nil {
		return nil, fmt.Errorf("open index %s: %w", redact(dsn), err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open index %s: %w", redact(dsn), err)
	}
	// Keep every connection open once made: with database/sql's default of
	// 2 idle connections, a mount with more than 2 queries at a time closed
	// and reopened connections all along (a new PostgreSQL backend, its
	// authentication and every statement parsed again: 231 backends for
	// 600 small files in `make bench`).
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	return &Index{db: db, dsn: dsn}, nil
}

// redact drops a password from a connection URL for messages.
func redact(dsn string) string {
	if at := strings.LastIndex(dsn, "@"); at > 0 {
		if scheme := strings.Index(dsn, "://"); scheme >= 0 && scheme < at {
			user, _, _ := strings.Cut(dsn[scheme+3:at], ":")
			return dsn[:scheme+3] + user + dsn[at:]
		}
	}
	return dsn
}

func (x *Index) Name() string { return "postgres" }
func (x *Index) DB() *sql.DB  { return x.db }

// Reader is the same pool: PostgreSQL readers never wait for writers.
func (x *Index) Reader() *sql.DB { return x.db }
func (x *Index) Close() error    { return x.db.Close() }

// Rebind numbers the ? placeholders $1, $2, ... ; a ? inside a quoted
// string or identifier is left alone. The pool does it by itself
// (driver.go); a statement already rebound is left as it is.
func (x *Index) Rebind(query string) string { return rebind(query) }

func rebind(query string) string {
	var b strings.Builder
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// SchemaVersion reads the version row, 0 for a database without one.
func (x *Index) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := x.db.QueryRowContext(ctx, `SELECT version FROM n4ws_schema`).Scan(&v)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// Migrate applies the missing migrations in one transaction, under the
// write lock so that two machines opening a new store do not both create
// it. PostgreSQL's DDL is transactional: a failure leaves nothing behind.
func (x *Index) Migrate(ctx context.Context) error {
	tx, err := x.BeginWrite(ctx)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS n4ws_schema (version integer NOT NULL)`); err != nil {
		return fmt.Errorf("schema version table: %w", err)
	}
	v := 0
	err = tx.QueryRowContext(ctx, `SELECT version FROM n4ws_schema`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, `INSERT INTO n4ws_schema (version) VALUES (0)`)
	}
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("index schema version %d is newer than this n4ws (%d): upgrade n4ws", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate schema %d -> %d: %w", i, i+1, err)
		}
	}
	if err := installNotifyTrigger(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE n4ws_schema SET version = $1`, len(migrations)); err != nil {
		return fmt.Errorf("set schema version: %w", err)
	}
	return tx.Commit()
}

// BeginWrite begins a transaction and takes the store's advisory write
// lock, released when the transaction ends (commit, rollback, or the
// connection dying with its mount). Both go in one round trip
// (rebindConn.BeginTx): a small file's create and close are each a write
// transaction.
func (x *Index) BeginWrite(ctx context.Context) (*sql.Tx, error) {
	return x.db.BeginTx(context.WithValue(ctx, writeTxKey{}, true), nil)
}

// InsertID appends RETURNING key to the insert.
func (x *Index) InsertID(ctx context.Context, tx *sql.Tx, key, query string, args ...any) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, x.Rebind(query)+" RETURNING "+key, args...).Scan(&id)
	return id, err
}

// IsConflict is SQLSTATE 23505, unique_violation.
func (x *Index) IsConflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
