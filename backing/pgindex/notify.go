package pgindex

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// changeChannel is the LISTEN/NOTIFY channel of the change log.
const changeChannel = "n4ws_changes"

// NotifyChange queues a NOTIFY, which PostgreSQL delivers to every
// listener when (and only if) the transaction commits.
func (x *Index) NotifyChange(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, changeChannel)
	return err
}

// Changes listens on a connection of its own, set up before it returns:
// no polling. When the
// connection breaks (the server restarted), it reconnects with a backoff
// of up to 5 s and signals once it is back, since notifications sent in
// between are lost.
func (x *Index) Changes(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	signal := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	conn, err := x.listen(ctx) // before returning: no commit after it is missed
	go func() {
		backoff := 100 * time.Millisecond
		for {
			for err != nil {
				slog.Warn("listen for index changes", "err", err, "retry", backoff)
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 5*time.Second)
				if conn, err = x.listen(ctx); err == nil {
					signal() // notifications sent while away are lost
				}
			}
			backoff = 100 * time.Millisecond
			for err == nil {
				if _, err = conn.WaitForNotification(ctx); err == nil {
					signal()
				}
			}
			conn.Close(context.Background())
			if ctx.Err() != nil {
				return
			}
		}
	}()
	return ch
}

func (x *Index) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, x.dsn)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+changeChannel); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return conn, nil
}
