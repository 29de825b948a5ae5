package pgindex

import (
	"context"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing/backingtest"
)

// After PostgreSQL restarts, the index works again by itself and the
// change watcher reconnects: a commit after the restart is signalled.
func TestChangesSurviveRestart(t *testing.T) {
	pg := backingtest.StartPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	x, err := Open(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if err := x.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	changes := x.Changes(ctx)

	pg.Stop(t)
	pg.Restart(t)
	// The pool drops its dead connections; the first statement may still
	// meet one (the server closed it), the next must work.
	if err := notify(ctx, x); err != nil {
		t.Logf("first write after restart: %v", err)
		if err := notify(ctx, x); err != nil {
			t.Fatalf("second write after restart: %v", err)
		}
	}
	select {
	case <-changes: // the reconnect, or the notification
	case <-time.After(10 * time.Second):
		t.Fatal("no change signal within 10s of the restart")
	}
	// The watcher listens again: a new commit is signalled promptly.
	select {
	case <-changes:
	default:
	}
	if err := notify(ctx, x); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changes:
	case <-time.After(time.Second):
		t.Fatal("no signal within a second for a commit after the reconnect")
	}
}

// notify commits a change log row, as the store's writers do.
func notify(ctx context.Context, x *Index) error {
	tx, err := x.BeginWrite(ctx)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO changes (parent, name, ino) VALUES (1, 'f', 2)`); err != nil {
		tx.Rollback()
		return err
	}
	if err := x.NotifyChange(ctx, tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
