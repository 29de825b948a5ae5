package backing

import (
	"context"
	"path/filepath"
	"testing"
)

// A durable store syncs the write-ahead log at every commit (synchronous
// FULL = 2); a plain one leaves it to checkpoints and Sync (NORMAL = 1).
// Sync and SyncAll must leave the writer's level as they found it.
func TestSyncLevel(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		durable bool
		want    int
	}{{false, 1}, {true, 2}} {
		dir := filepath.Join(t.TempDir(), "store")
		if _, err := Init(ctx, dir); err != nil {
			t.Fatal(err)
		}
		s, err := Open(ctx, dir, Options{Durable: c.durable})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.SyncAll(ctx); err != nil {
			t.Fatal(err)
		}
		var level int
		if err := s.wdb.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&level); err != nil {
			t.Fatal(err)
		}
		if level != c.want {
			t.Errorf("durable=%v: synchronous = %d after Sync, want %d", c.durable, level, c.want)
		}
	}
}
