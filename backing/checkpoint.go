package backing

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"
)

// checkpointEvery is how often a long-running process moves the
// write-ahead log into the database file.
const checkpointEvery = time.Second

// RunCheckpointer checkpoints the write-ahead log in the background until
// ctx ends, so that writers never pay for it: with synchronous=NORMAL a
// checkpoint fsyncs the log and the database, which SQLite would otherwise
// do inside whichever commit crosses wal_autocheckpoint. The writer's own
// automatic checkpoint stays as a backstop for a log that grows faster.
func (s *Store) RunCheckpointer(ctx context.Context) error {
	lite, ok := s.idx.(*SQLiteIndex)
	if !ok {
		return nil // only SQLite has a write-ahead log of ours to move
	}
	db, err := sql.Open("sqlite3", "file:"+url.PathEscape(lite.Path())+"?_busy_timeout=10000")
	if err != nil {
		return fmt.Errorf("checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	if _, err := s.wdb.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 20000`); err != nil {
		db.Close()
		return fmt.Errorf("checkpointer: %w", err)
	}
	go func() {
		defer db.Close()
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			// PASSIVE: copy what no reader still needs, never wait for a lock.
			if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`); err != nil && ctx.Err() == nil {
				s.log.Warn("checkpoint", "err", err)
			}
		}
	}()
	return nil
}
