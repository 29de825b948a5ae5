package backing

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// contentOf is Content of data held in memory.
func contentOf(data string) Content {
	c := Content{Data: []byte(data), Size: int64(len(data))}
	if len(data) > 0 {
		c.Digest = sha256.Sum256(c.Data)
	}
	return c
}

// large returns s made longer than DefaultInlineMax: content a close
// commits in its own transaction, not through the close journal.
func large(s string) string { return s + strings.Repeat(".", DefaultInlineMax) }

// pendingCreate answers the create of name in folder, as the mount does,
// and returns the new file's attributes.
func pendingCreate(t *testing.T, s *Store, folder uint64, name string) Attr {
	t.Helper()
	a, err := s.NewFileAttr(context.Background(), NewNode{Mode: syscall.S_IFREG | 0o640, Uid: 7, Gid: 8})
	if err != nil {
		t.Fatal(err)
	}
	s.CreateLater(CreateItem{Parent: folder, Name: name, Attr: a})
	return a
}

// mustRead returns the content of the file named name in folder.
func mustRead(t *testing.T, s *Store, folder uint64, name string) (Attr, string) {
	t.Helper()
	ctx := context.Background()
	a, err := s.Lookup(ctx, folder, name)
	if err != nil {
		t.Fatalf("lookup %s: %v", name, err)
	}
	data, err := s.ReadBlob(ctx, a.Blob, a.Size)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return a, string(data)
}

// The mount's close of a file it created with content too large for the
// close journal: node, name and content in one transaction, the folder at
// the time the create was answered.
func TestCreateLaterWrittenWithItsContent(t *testing.T) {
	ctx := context.Background()
	s, folder, _ := unlinkLaterStore(t, "seed")
	a := pendingCreate(t, s, folder, "new.csv")
	if _, err := s.Lookup(ctx, folder, "new.csv"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a pending create is in the index before anything wrote it: %v", err)
	}
	before := s.TreeWrites()
	got, err := s.CommitContent(ctx, a.Ino, contentOf(large("x,y\n1,2\n")))
	if err != nil {
		t.Fatal(err)
	}
	if n := s.TreeWrites() - before; n != 1 {
		t.Errorf("the close of a new file took %d write transactions, want 1", n)
	}
	stored, data := mustRead(t, s, folder, "new.csv")
	if data != large("x,y\n1,2\n") || stored.Ino != a.Ino || got.Ino != a.Ino {
		t.Errorf("stored %q as inode %d (commit said %d), want the content as inode %d", data, stored.Ino, got.Ino, a.Ino)
	}
	if stored.Uid != 7 || stored.Gid != 8 || stored.Mode != syscall.S_IFREG|0o640 || stored.Nlink != 1 {
		t.Errorf("stored attributes %+v, want the answered owner and mode", stored)
	}
	dir, err := s.GetAttr(ctx, folder)
	if err != nil {
		t.Fatal(err)
	}
	if !dir.Mtime.Equal(a.Ctime) {
		t.Errorf("folder mtime %v, want the create's answer time %v", dir.Mtime, a.Ctime)
	}
	// Written once: a second commit is an ordinary one.
	if _, err := s.CommitContent(ctx, a.Ino, contentOf("z\n")); err != nil {
		t.Fatal(err)
	}
	if _, data := mustRead(t, s, folder, "new.csv"); data != "z\n" {
		t.Errorf("after a second commit: %q", data)
	}
}

// A reader settles: the file is written empty, its content follows.
func TestCreateLaterWrittenBySettle(t *testing.T) {
	ctx := context.Background()
	s, folder, _ := unlinkLaterStore(t, "seed")
	var written []uint64
	s.FollowCreates(followFunc(func(before uint64, failed []CreateItem) {
		written = append(written, before)
		if len(failed) > 0 {
			t.Errorf("failed: %+v", failed)
		}
	}))
	a := pendingCreate(t, s, folder, "a")
	b := pendingCreate(t, s, folder, "b")
	before := s.TreeWrites()
	s.Settle()
	if len(written) != 1 || written[0] != before || s.TreeWrites() != before+1 {
		t.Errorf("two pending creates settled in %v (tree writes %d → %d), want one transaction from %d",
			written, before, s.TreeWrites(), before)
	}
	for _, f := range []Attr{a, b} {
		got, err := s.GetAttr(ctx, f.Ino)
		if err != nil || got.Size != 0 || !got.IsRegular() {
			t.Errorf("settled file %d: %+v, %v", f.Ino, got, err)
		}
	}
	if _, err := s.CommitContent(ctx, b.Ino, contentOf("bee")); err != nil {
		t.Fatal(err)
	}
	if _, data := mustRead(t, s, folder, "b"); data != "bee" {
		t.Errorf("b: %q", data)
	}
	if n := s.creates.pending.Load(); n != 0 {
		t.Errorf("%d creates still counted pending", n)
	}
}

type followFunc func(uint64, []CreateItem)

func (f followFunc) CreatesWritten(before uint64, failed []CreateItem) { f(before, failed) }

// Another process takes the name before the close of a large file: the
// close fails, and what that process wrote stays as it wrote it (a small
// file's close is answered from the journal: TestCloseJournalNameTaken).
func TestCreateLaterNameTakenMeanwhile(t *testing.T) {
	ctx := context.Background()
	s, folder, _ := unlinkLaterStore(t, "seed")
	var failed []CreateItem
	s.FollowCreates(followFunc(func(_ uint64, f []CreateItem) { failed = append(failed, f...) }))
	a := pendingCreate(t, s, folder, "taken")
	other, err := Open(ctx, s.Dir(), Options{LogChanges: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.WriteFile(ctx, "runs/ds/0001_x/taken", strings.NewReader("theirs"), 0o644, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitContent(ctx, a.Ino, contentOf(large("mine"))); !errors.Is(err, ErrExists) {
		t.Errorf("close of a file whose name another process took: %v, want ErrExists", err)
	}
	if len(failed) != 1 || failed[0].Name != "taken" {
		t.Errorf("follower told of failures %+v, want the one create", failed)
	}
	if _, data := mustRead(t, s, folder, "taken"); data != "theirs" {
		t.Errorf("the other process's file now holds %q", data)
	}
}

// Close writes what is pending; reserved numbers are never another's.
func TestCreateLaterWrittenAtCloseAndNumbersReserved(t *testing.T) {
	ctx := context.Background()
	s, folder, _ := unlinkLaterStore(t, "seed")
	a := pendingCreate(t, s, folder, "open-at-unmount")
	other, err := Open(ctx, s.Dir(), Options{LogChanges: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	made, err := other.WriteFile(ctx, "runs/ds/0001_x/cli", strings.NewReader("cli"), 0o644, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if made.Ino <= a.Ino+createsBatchReserve-1 {
		t.Errorf("another writer's node got inode %d, inside the range reserved up to %d", made.Ino, a.Ino+createsBatchReserve-1)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := other.Lookup(ctx, folder, "open-at-unmount")
	if err != nil || got.Ino != a.Ino {
		t.Errorf("after Close: %+v, %v; want inode %d", got, err, a.Ino)
	}
}

// Creates, commits, settles and unlinks from many goroutines (-race): each
// file ends with its content, and nothing is left pending.
func TestCreateLaterConcurrent(t *testing.T) {
	ctx := context.Background()
	s, folder, _ := unlinkLaterStore(t, "seed")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				name := fmt.Sprintf("g%d-%02d", g, i)
				a, err := s.NewFileAttr(ctx, NewNode{Mode: syscall.S_IFREG | 0o644})
				if err != nil {
					errs <- err
					return
				}
				s.CreateLater(CreateItem{Parent: folder, Name: name, Attr: a})
				if i%5 == 0 {
					s.Settle() // a reader meanwhile
				}
				content := name // through the close journal, or not
				if i%3 == 0 {
					content = large(name)
				}
				if _, err := s.CommitContent(ctx, a.Ino, contentOf(content)); err != nil {
					errs <- fmt.Errorf("%s: %w", name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s.Settle()
	for g := range 4 {
		for i := range 40 {
			name := fmt.Sprintf("g%d-%02d", g, i)
			want := name
			if i%3 == 0 {
				want = large(name)
			}
			if _, data := mustRead(t, s, folder, name); data != want {
				t.Errorf("%s holds %q", name, data)
			}
		}
	}
	if n := s.creates.pending.Load(); n != 0 {
		t.Errorf("%d creates still counted pending", n)
	}
}

// A locked index (another process's write transaction past the busy
// timeout): the create stays pending instead of being dropped, and the
// close of a large file writes it once the lock is free.
func TestCreateLaterWaitsOutALockedIndex(t *testing.T) {
	t.Parallel() // the busy timeout is 10 s, twice
	ctx := context.Background()
	s, folder, _ := unlinkLaterStore(t, "seed")
	a := pendingCreate(t, s, folder, "late")
	lock := lockIndex(t, s)
	s.Settle()
	if s.creates.pending.Load() != 1 {
		t.Errorf("Settle with the index locked: pending %d, want the create still pending", s.creates.pending.Load())
	}
	if _, err := s.CommitContent(ctx, a.Ino, contentOf(large("late"))); err == nil {
		t.Error("a close with the index locked returned no error")
	}
	lock.Rollback()
	if _, err := s.CommitContent(ctx, a.Ino, contentOf(large("late"))); err != nil {
		t.Fatalf("close once the lock is free: %v", err)
	}
	if got, data := mustRead(t, s, folder, "late"); data != large("late") || got.Ino != a.Ino {
		t.Errorf("late: %q as inode %d, want its content as inode %d", data, got.Ino, a.Ino)
	}
}
