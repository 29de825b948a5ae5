package pgindex

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// changeChannel is the LISTEN/NOTIFY channel of the change log.
const changeChannel = "n4ws_changes"

// NotifyChange has nothing to send: the change log's trigger (below)
// queues the NOTIFY with the rows it inserts, which PostgreSQL delivers to
// every listener when (and only if) the transaction commits. That saves a
// round trip in every write transaction that logs a change.
func (x *Index) NotifyChange(ctx context.Context, tx *sql.Tx) error { return nil }

// notifyTrigger makes every statement inserting into changes notify the
// change channel (one notification per transaction: PostgreSQL folds
// equal ones).
const notifyTrigger = `
CREATE OR REPLACE FUNCTION n4ws_notify_changes() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	PERFORM pg_notify('` + changeChannel + `', '');
	RETURN NULL;
END
$fn$;
CREATE TRIGGER n4ws_changes_notify AFTER INSERT ON changes
	FOR EACH STATEMENT EXECUTE FUNCTION n4ws_notify_changes();`

// installNotifyTrigger adds the trigger to a database that lacks it (a new
// one, or one an older n4ws made), inside Migrate's transaction.
func installNotifyTrigger(ctx context.Context, tx *sql.Tx) error {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pg_trigger WHERE tgname = 'n4ws_changes_notify'`).Scan(&n)
	if err == nil && n == 0 {
		_, err = tx.ExecContext(ctx, notifyTrigger)
	}
	if err != nil {
		return fmt.Errorf("change notification trigger: %w", err)
	}
	return nil
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
