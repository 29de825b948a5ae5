package pgindex

import (
	"context"
	"database/sql/driver"
	"hash/fnv"
	"log/slog"
)

// Exclusive takes a session advisory lock keyed by the store's lock key
// and name on a connection of its own, held until release. PostgreSQL
// drops it with the connection, so a mount killed while holding it does
// not block the others.
func (x *Index) Exclusive(ctx context.Context, name string) (func(), error) {
	conn, err := x.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	key := nameKey(name)
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, $2)`, writeLockKey, key); err != nil {
		discard(conn.Raw)
		conn.Close()
		return nil, err
	}
	return func() {
		// Not the caller's context: it may have ended, and the lock
		// must go either way.
		if _, err := conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1, $2)`, writeLockKey, key); err != nil {
			slog.Warn("release index lock: dropping its connection", "lock", name, "err", err)
			discard(conn.Raw)
		}
		conn.Close()
	}, nil
}

// discard closes a pool connection instead of returning it to the pool
// (database/sql drops a connection whose Raw returns ErrBadConn): its
// session, and any lock it may hold, ends with it.
func discard(raw func(func(any) error) error) {
	raw(func(any) error { return driver.ErrBadConn })
}

// nameKey is the second half of a lock's key, from its name.
func nameKey(name string) int32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int32(h.Sum32())
}
