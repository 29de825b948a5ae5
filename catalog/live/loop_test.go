package live

import (
	"context"
	"testing"
	"time"

	"github.com/n4ws/n4ws/catalog/importer/standintest"
)

// TestRunFollowsNotify: Run projects what a change notification points
// at, within the debounce delays, and stops with its context.
func TestRunFollowsNotify(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- f.p.Run(ctx) }()
	standintest.Run(t, "run", f.ws, "--datasets", "soy", "--pipelines", "2", "--no-refit")
	start := time.Now()
	f.p.Notify("store.sqlite-wal")
	waitFor(t, func() bool {
		ents, err := f.s.ResolvePath(context.Background(), "runs/soy")
		return err == nil && ents.IsDir() && len(folders(t, f.s, "soy")) == 2
	})
	if lag := time.Since(start); lag > 2*time.Second {
		t.Errorf("folders visible %v after the notification, want ≤ 2 s", lag)
	}
	cancel()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

// TestChangedBy: the store changed under a pass only when the db file
// changed, or the -wal grew or was rewritten by another writer; our own
// reader's empty -wal, created and removed, is not a change.
func TestChangedBy(t *testing.T) {
	db := fileState{ok: true, size: 4096, mtime: 1}
	wal := fileState{ok: true, size: 1000, mtime: 2}
	for _, c := range []struct {
		name          string
		before, after dbState
		want          bool
	}{
		{"nothing", dbState{db, wal}, dbState{db, wal}, false},
		{"wal grew", dbState{db, wal}, dbState{db, fileState{true, 2000, 3}}, true},
		{"our empty wal", dbState{db, fileState{}}, dbState{db, fileState{true, 0, 5}}, false},
		{"our wal removed", dbState{db, fileState{}}, dbState{db, fileState{}}, false},
		{"a writer's first commit", dbState{db, fileState{}}, dbState{db, fileState{true, 500, 5}}, true},
		{"checkpointed at close", dbState{db, wal}, dbState{fileState{true, 8192, 9}, fileState{}}, true},
	} {
		if got := c.before.changedBy(c.after); got != c.want {
			t.Errorf("%s: changedBy = %v, want %v", c.name, got, c.want)
		}
	}
}
