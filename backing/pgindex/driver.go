package pgindex

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/n4ws/n4ws/backing"
)

// openDB opens a pool whose connections Rebind every statement: the
// store's SQL (and the catalog's, through Store.Reader and Tx) is written
// with ? placeholders, which PostgreSQL spells $1, $2, ... Rewriting at
// the driver keeps one SQL text for both engines, whoever runs it.
func openDB(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse connection URL: %w", err)
	}
	return sql.OpenDB(rebindConnector{stdlib.GetConnector(*cfg)}), nil
}

type rebindConnector struct{ driver.Connector }

func (c rebindConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		// The cause as text only: a missing socket file must not read as
		// a missing file of the store (ENOENT) above.
		return nil, fmt.Errorf("%w: %v", backing.ErrUnavailable, err)
	}
	return &rebindConn{conn.(*stdlib.Conn)}, nil
}

// rebindConn is pgx's connection with the statement-taking methods
// rewriting placeholders; every other method (transactions, pings,
// session reset, value checks) is pgx's own, promoted.
type rebindConn struct{ *stdlib.Conn }

func (c *rebindConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(rebind(query))
}

func (c *rebindConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

func (c *rebindConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c *rebindConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

// writeTxKey marks the context of a BeginWrite: the connection begins the
// transaction and takes the write lock in one round trip.
type writeTxKey struct{}

// beginWrite is BEGIN and the store's advisory write lock in one simple
// query (the lock is a constant: no parameters, so one message).
var beginWrite = "BEGIN; SELECT pg_advisory_xact_lock(" + strconv.Itoa(writeLockKey) + ")"

// BeginTx begins a write transaction (writeTxKey) with its lock taken;
// other transactions as pgx does.
func (c *rebindConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if ctx.Value(writeTxKey{}) == nil {
		return c.Conn.BeginTx(ctx, opts)
	}
	conn := c.Conn.Conn()
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{BeginQuery: beginWrite})
	if err != nil {
		// BEGIN may have run and the lock failed (a cancelled wait):
		// the connection must not go back to the pool inside it.
		if !conn.IsClosed() && conn.PgConn().TxStatus() != 'I' {
			if _, rerr := conn.Exec(context.Background(), "ROLLBACK"); rerr != nil {
				return nil, driver.ErrBadConn
			}
		}
		return nil, fmt.Errorf("take write lock: %w", err)
	}
	return writeTx{ctx, tx}, nil
}

// writeTx is a pgx transaction as a database/sql driver's (what pgx's
// stdlib does for the others).
type writeTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t writeTx) Commit() error   { return t.tx.Commit(t.ctx) }
func (t writeTx) Rollback() error { return t.tx.Rollback(t.ctx) }
