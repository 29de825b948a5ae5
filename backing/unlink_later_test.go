package backing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// unlinkLaterStore opens a fresh store with files runs/ds/0001_x/<names>
// and returns it with the folder's inode and the files' attributes.
func unlinkLaterStore(t *testing.T, names ...string) (*Store, uint64, map[string]Attr) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	if _, err := Init(ctx, dir); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, dir, Options{LogChanges: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	files := map[string]Attr{}
	for _, n := range names {
		a, err := s.WriteFile(ctx, "runs/ds/0001_x/"+n, strings.NewReader("content of "+n), 0o644, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		files[n] = a
	}
	folder, err := s.ResolvePath(ctx, "runs/ds/0001_x")
	if err != nil {
		t.Fatal(err)
	}
	return s, folder.Ino, files
}

// pauseUnlinks makes UnlinkLater queue without a committer: the queue is
// written only by Settle, a write or Close, so a test sees it pending.
func pauseUnlinks(s *Store, reports *[]UnlinkBatch) {
	q := &s.unlinks
	q.mu.Lock()
	defer q.mu.Unlock()
	q.follow = recorder{reports}
	q.wake = make(chan struct{}, 1)
}

// recorder keeps the written batches; a committed one must be written too.
type recorder struct{ written *[]UnlinkBatch }

func (recorder) Committed(UnlinkBatch)   {}
func (r recorder) Written(b UnlinkBatch) { *r.written = append(*r.written, b) }

// follower runs written for each written batch, and counts the committed.
type follower struct {
	committed *atomic.Int64
	written   func(UnlinkBatch)
}

func (f follower) Committed(b UnlinkBatch) { f.committed.Add(int64(len(b.Done))) }
func (f follower) Written(b UnlinkBatch)   { f.written(b) }

// queuedUnlinkOfA opens a store holding runs/ds/0001_x/a and queues the
// unlink of a, answered at time at, with the committer paused; it returns
// the store and the folder's inode.
func queuedUnlinkOfA(t *testing.T, at time.Time) (*Store, uint64) {
	t.Helper()
	s, folder, files := unlinkLaterStore(t, "a")
	var reports []UnlinkBatch
	pauseUnlinks(s, &reports)
	s.UnlinkLater(UnlinkItem{Parent: folder, Name: "a", Ino: files["a"].Ino, Time: at})
	return s, folder
}

func exists(t *testing.T, s *Store, p string) bool {
	t.Helper()
	_, err := s.ResolvePath(context.Background(), p)
	if err != nil && !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// A queued unlink is written before any later write, in one transaction
// with the others queued, to the trash as an rm -rf through the mount.
func TestUnlinkLaterWritesBeforeTheNextWrite(t *testing.T) {
	ctx := context.Background()
	s, folder, files := unlinkLaterStore(t, "a", "b", "c")
	var reports []UnlinkBatch
	pauseUnlinks(s, &reports)
	t1 := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	s.UnlinkLater(UnlinkItem{Parent: folder, Name: "a", Ino: files["a"].Ino, Time: t1})
	s.UnlinkLater(UnlinkItem{Parent: folder, Name: "b", Ino: files["b"].Ino, Time: t1.Add(time.Second)})
	if !exists(t, s, "runs/ds/0001_x/a") {
		t.Fatal("a queued unlink was written before anything asked for it")
	}
	before := s.TreeWrites()
	// A create of the name just unlinked must find it gone.
	if _, err := s.Mknod(ctx, folder, "a", NewNode{Mode: syscall.S_IFREG | 0o644}); err != nil {
		t.Fatalf("create a after its queued unlink: %v", err)
	}
	if exists(t, s, "runs/ds/0001_x/b") || !exists(t, s, "runs/ds/0001_x/c") {
		t.Error("after the write: b should be gone and c still there")
	}
	if got := s.TreeWrites(); got != before+2 {
		t.Errorf("tree writes %d → %d: want the batch and the create, one transaction each", before, got)
	}
	dirAttr, err := s.GetAttr(ctx, folder)
	if err != nil {
		t.Fatal(err)
	}
	if !dirAttr.Ctime.After(t1) { // the create came last
		t.Errorf("folder ctime %v, want after the unlinks' %v", dirAttr.Ctime, t1)
	}
	items, err := s.TrashItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Files != 2 || items[0].Path != "runs/ds/0001_x" {
		t.Errorf("trash %+v, want one item of the folder holding a and b", items)
	}
	s.reportUnlinks()
	if len(reports) != 1 || len(reports[0].Done) != 2 {
		t.Fatalf("reports %+v, want one batch of two", reports)
	}
	b := reports[0]
	if b.TreeWritesBefore != before {
		t.Errorf("batch's TreeWritesBefore %d, want %d", b.TreeWritesBefore, before)
	}
	for _, d := range b.Done {
		if d.Err != nil || !d.Trashed || d.Attr.Nlink != 0 || d.Attr.Ino != d.Ino {
			t.Errorf("done %+v: want written, the node itself in the trash, no name left", d)
		}
	}
}

// The folder's times are those of the answer, not of the batch.
func TestUnlinkLaterKeepsTheAnsweredTime(t *testing.T) {
	ctx := context.Background()
	answered := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	s, folder := queuedUnlinkOfA(t, answered)
	s.Settle()
	a, err := s.GetAttr(ctx, folder)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Mtime.Equal(answered) || !a.Ctime.Equal(answered) {
		t.Errorf("folder mtime %v ctime %v, want the answer's %v", a.Mtime, a.Ctime, answered)
	}
}

// A name that another process removed or replaced meanwhile is left as it
// is, and costs the rest of the batch nothing.
func TestUnlinkLaterLeavesReplacedNames(t *testing.T) {
	ctx := context.Background()
	s, folder, files := unlinkLaterStore(t, "a", "b", "c")
	var reports []UnlinkBatch
	pauseUnlinks(s, &reports)
	for _, n := range []string{"a", "b", "c"} {
		s.UnlinkLater(UnlinkItem{Parent: folder, Name: n, Ino: files[n].Ino, Time: time.Now()})
	}
	// Another process (the CLI) replaces b and removes c meanwhile.
	other, err := Open(ctx, s.Dir(), Options{LogChanges: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.WriteFile(ctx, "runs/ds/0001_x/b.new", strings.NewReader("new b"), 0o644, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Rename(ctx, folder, "b.new", folder, "b", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Unlink(ctx, folder, "c"); err != nil {
		t.Fatal(err)
	}
	other.Close()
	s.Settle()
	s.reportUnlinks()
	if exists(t, s, "runs/ds/0001_x/a") {
		t.Error("a is still there")
	}
	if !exists(t, s, "runs/ds/0001_x/b") {
		t.Fatal("the b that replaced the unlinked one was removed")
	}
	if len(reports) != 1 {
		t.Fatalf("%d reports, want 1", len(reports))
	}
	for _, d := range reports[0].Done {
		wantGone := d.Name != "a"
		if IsGone(d.Err) != wantGone || !wantGone && d.Err != nil {
			t.Errorf("%s: err %v, want gone=%v", d.Name, d.Err, wantGone)
		}
	}
}

// Closing the store writes the queue: an answered unlink is not lost by a
// clean stop.
func TestUnlinkLaterWrittenAtClose(t *testing.T) {
	ctx := context.Background()
	s, _ := queuedUnlinkOfA(t, time.Now())
	dir := s.Dir()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if exists(t, s2, "runs/ds/0001_x/a") {
		t.Error("an unlink queued before Close is not in the index")
	}
}

// fsync of a folder through the mount ends in Sync: it writes the queue.
func TestUnlinkLaterWrittenBySync(t *testing.T) {
	ctx := context.Background()
	s, _ := queuedUnlinkOfA(t, time.Now())
	if err := s.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if exists(t, s, "runs/ds/0001_x/a") {
		t.Error("Sync returned with the queued unlink not in the index")
	}
}

// While another process holds the index's write lock past the busy
// timeout, Settle returns with the unlinks still queued (a reader is not
// held for good), and they are written once the lock is free.
func TestUnlinkLaterWaitsOutALockedIndex(t *testing.T) {
	t.Parallel() // the busy timeout is 10 s
	s, _ := queuedUnlinkOfA(t, time.Now())
	lock := lockIndex(t, s)
	s.Settle()
	if !exists(t, s, "runs/ds/0001_x/a") || s.unlinks.pending.Load() != 1 {
		t.Errorf("with the index locked: want a still there and its unlink still queued (pending %d)", s.unlinks.pending.Load())
	}
	lock.Rollback()
	s.Settle()
	if exists(t, s, "runs/ds/0001_x/a") || s.unlinks.pending.Load() != 0 {
		t.Errorf("once the lock is free: want a gone and nothing queued (pending %d)", s.unlinks.pending.Load())
	}
}

// lockIndex starts a write transaction on s's index from another
// connection, as another process would; the caller ends it.
func lockIndex(t *testing.T, s *Store) *sql.Tx {
	t.Helper()
	other, err := sql.Open(driverName, "file:"+filepath.Join(s.Dir(), "index.db")+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	lock, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	return lock
}

// Unlinks from several goroutines, with creates in the same folder between
// them, with the committer running: every unlink is written once, every
// create stays (go test -race).
func TestUnlinkLaterConcurrent(t *testing.T) {
	ctx := context.Background()
	var names []string
	for i := range 120 {
		names = append(names, fmt.Sprintf("f%03d", i))
	}
	s, folder, files := unlinkLaterStore(t, names...)
	var mu sync.Mutex
	done := map[string]int{}
	var committed atomic.Int64
	s.EnableUnlinkLater(follower{&committed, func(b UnlinkBatch) {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range b.Done {
			if d.Err != nil {
				t.Errorf("unlink %s: %v", d.Name, d.Err)
			}
			done[d.Name]++
		}
	}})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(names); i += 4 {
				s.UnlinkLater(UnlinkItem{Parent: folder, Name: names[i], Ino: files[names[i]].Ino, Time: time.Now()})
				if i%10 == 0 {
					if _, err := s.Mknod(ctx, folder, "new"+names[i], NewNode{Mode: syscall.S_IFREG | 0o644}); err != nil {
						t.Errorf("create: %v", err)
					}
				}
			}
		}()
	}
	wg.Wait()
	s.Settle()
	ents, err := s.ReadDir(ctx, folder)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name, "new") {
			t.Errorf("%s is still in the folder", e.Name)
		}
	}
	if len(ents) != 12 {
		t.Errorf("%d entries left, want the 12 created", len(ents))
	}
	s.stopUnlinkLater() // reports the last batches
	mu.Lock()
	defer mu.Unlock()
	for _, n := range names {
		if done[n] != 1 {
			t.Errorf("%s reported %d times, want once", n, done[n])
		}
	}
	if got := committed.Load(); got != int64(len(names)) {
		t.Errorf("Committed saw %d unlinks, want %d (one transaction per batch here)", got, len(names))
	}
}
