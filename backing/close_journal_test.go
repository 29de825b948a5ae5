package backing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// closeNew answers the create of name in folder and its close with
// content, as the mount does, and reports whether the close went through
// the journal.
func closeNew(t *testing.T, s *Store, folder uint64, name, content string) (Attr, bool) {
	t.Helper()
	a := pendingCreate(t, s, folder, name)
	got, journaled, err := s.CommitContentOrJournal(context.Background(), a.Ino, contentOf(content))
	if err != nil {
		t.Fatalf("close %s: %v", name, err)
	}
	return got, journaled
}

// journalSize is the size of the store's close journal (0 when absent).
func journalSize(t *testing.T, s *Store) int64 {
	t.Helper()
	st, err := os.Stat(s.closeJournalPath())
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// waitWritten waits for the committer to write every pending create.
func waitWritten(t *testing.T, s *Store) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.creates.pending.Load() > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%d closed files still pending after 10 s", s.creates.pending.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closeWithin answers the close of pending file ino with content on
// another goroutine and waits up to d for it; answered is false when the
// close was still waiting then.
func closeWithin(s *Store, ino uint64, content string, d time.Duration) (answered, journaled bool, err error) {
	type result struct {
		journaled bool
		err       error
	}
	done := make(chan result, 1)
	go func() {
		_, journaled, err := s.CommitContentOrJournal(context.Background(), ino, contentOf(content))
		done <- result{journaled, err}
	}()
	select {
	case r := <-done:
		return true, r.journaled, r.err
	case <-time.After(d):
		return false, false, nil
	}
}

// Closes of small new files are answered from the journal and written by
// the committer in batches: far fewer transactions than files, each file
// with its content and the attributes its close returned, and the journal
// emptied once the index holds them.
func TestCloseJournalWritesClosesInBatches(t *testing.T) {
	ctx := context.Background()
	s, folder, _ := unlinkLaterStore(t, "seed")
	before := s.TreeWrites()
	answered := map[string]Attr{}
	for i := range 60 {
		name := fmt.Sprintf("f%02d.csv", i)
		a, journaled := closeNew(t, s, folder, name, "content of "+name)
		if !journaled {
			t.Fatalf("close of small new file %s not answered from the journal", name)
		}
		answered[name] = a
	}
	waitWritten(t, s)
	if n := s.TreeWrites() - before; n > 15 {
		t.Errorf("60 closes took %d write transactions, want a few batches", n)
	}
	for name, a := range answered {
		got, data := mustRead(t, s, folder, name)
		if data != "content of "+name || got.Ino != a.Ino || !got.Mtime.Equal(a.Mtime) || !got.Ctime.Equal(a.Ctime) || got.Size != a.Size {
			t.Errorf("%s: stored %q %+v, want its content and the close's answer %+v", name, data, got, a)
		}
	}
	if n := journalSize(t, s); n != 0 {
		t.Errorf("journal holds %d bytes once every close is written", n)
	}
	rep, err := s.Fsck(ctx, FsckOptions{})
	if err != nil || !rep.Clean() {
		t.Errorf("fsck: %v %+v", err, rep.Problems)
	}
}

// Readers settle: a closed file waiting for its batch is written before a
// reader looks, and a second close of it replaces its content.
func TestCloseJournalSettledAndClosedAgain(t *testing.T) {
	ctx := context.Background()
	s, folder, _ := unlinkLaterStore(t, "seed")
	s.journal.delay = time.Hour // the committer held off: only Settle writes
	a, _ := closeNew(t, s, folder, "twice", "first")
	if _, err := s.CommitContent(ctx, a.Ino, contentOf("second")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(ctx, folder, "twice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a closed file is in the index before its batch: %v", err)
	}
	s.Settle()
	if _, data := mustRead(t, s, folder, "twice"); data != "second" {
		t.Errorf("after two closes and Settle: %q, want the second content", data)
	}
	if n := s.creates.pending.Load(); n != 0 {
		t.Errorf("%d creates still pending after Settle", n)
	}
	if n := journalSize(t, s); n != 0 {
		t.Errorf("journal holds %d bytes after Settle", n)
	}
}

// A batch being written (the committer holds the creates' commit lock for
// its transaction) does not hold up the closes answered meanwhile: before,
// each waited for the whole batch, the tail of a small file's create.
func TestCloseJournalAnswersWhileABatchIsWritten(t *testing.T) {
	s, folder, _ := unlinkLaterStore(t, "seed")
	closeNew(t, s, folder, "first", "taken by the journal") // opens the journal
	a := pendingCreate(t, s, folder, "during-batch")
	s.creates.commitMu.Lock() // as writeClosed holds it for its transaction
	answered, journaled, err := closeWithin(s, a.Ino, "ok", 10*time.Second)
	s.creates.commitMu.Unlock()
	if !answered {
		t.Fatal("close waited for the batch in flight")
	}
	if !journaled || err != nil {
		t.Error("close during a batch not answered from the journal")
	}
	s.Settle()
	if _, data := mustRead(t, s, folder, "during-batch"); data != "ok" {
		t.Errorf("after the batch: %q", data)
	}
}

// Closes from several goroutines while the committer writes batches and
// readers settle: every file ends in the index once, with the content its
// close gave, and the journal empties.
func TestCloseJournalConcurrentClosesAndSettles(t *testing.T) {
	ctx := context.Background()
	s, folder, _ := unlinkLaterStore(t, "seed")
	const writers, each = 4, 60
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() { // a reader settling now and then, as the mount's reads do
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				s.Settle()
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				name := fmt.Sprintf("w%d-%03d", w, i)
				a, err := s.NewFileAttr(ctx, NewNode{Mode: syscall.S_IFREG | 0o644})
				if err != nil {
					t.Error(err)
					return
				}
				s.CreateLater(CreateItem{Parent: folder, Name: name, Attr: a})
				if _, _, err := s.CommitContentOrJournal(ctx, a.Ino, contentOf("content of "+name)); err != nil {
					t.Errorf("close %s: %v", name, err)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	s.Settle()
	waitWritten(t, s)
	for w := range writers {
		for i := range each {
			name := fmt.Sprintf("w%d-%03d", w, i)
			if _, data := mustRead(t, s, folder, name); data != "content of "+name {
				t.Errorf("%s: %q", name, data)
			}
		}
	}
	if n := journalSize(t, s); n != 0 {
		t.Errorf("journal holds %d bytes once every close is written", n)
	}
	rep, err := s.Fsck(ctx, FsckOptions{})
	if err != nil || !rep.Clean() {
		t.Errorf("fsck: %v %+v", err, rep.Problems)
	}
}

// The index locked by another process: closes are still answered, and
// written once the lock is free.
func TestCloseJournalAnswersWhileTheIndexIsLocked(t *testing.T) {
	t.Parallel() // the busy timeout is 10 s
	s, folder, _ := unlinkLaterStore(t, "seed")
	a := pendingCreate(t, s, folder, "while-locked")
	lock := lockIndex(t, s)
	answered, journaled, err := closeWithin(s, a.Ino, "ok", 5*time.Second)
	if !answered {
		t.Fatal("close waited for the index's lock")
	}
	if err != nil || !journaled {
		t.Errorf("close while the index is locked: journaled %v, %v", journaled, err)
	}
	lock.Rollback()
	s.Settle()
	if _, data := mustRead(t, s, folder, "while-locked"); data != "ok" {
		t.Errorf("after the lock: %q", data)
	}
}

// Another process takes the name between the close and its batch: that
// process's file stays, the mount's is logged and told to the follower,
// and the journal does not keep a record that can never be written.
func TestCloseJournalNameTaken(t *testing.T) {
	ctx := context.Background()
	s, folder, _ := unlinkLaterStore(t, "seed")
	s.journal.delay = time.Hour
	var mu sync.Mutex
	var failed []CreateItem
	s.FollowCreates(followFunc(func(_ uint64, f []CreateItem) {
		mu.Lock()
		failed = append(failed, f...)
		mu.Unlock()
	}))
	other, err := Open(ctx, s.Dir(), Options{LogChanges: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	a := pendingCreate(t, s, folder, "taken")
	if _, journaled, err := s.CommitContentOrJournal(ctx, a.Ino, contentOf("mine")); err != nil || !journaled {
		t.Fatalf("close: journaled %v, %v", journaled, err)
	}
	if _, err := other.WriteFile(ctx, "runs/ds/0001_x/taken", strings.NewReader("theirs"), 0o644, time.Time{}); err != nil {
		t.Fatal(err)
	}
	s.Settle()
	mu.Lock()
	if len(failed) != 1 || failed[0].Name != "taken" {
		t.Errorf("follower told of failures %+v, want the one create", failed)
	}
	mu.Unlock()
	if _, data := mustRead(t, s, folder, "taken"); data != "theirs" {
		t.Errorf("the other process's file now holds %q", data)
	}
	if n := journalSize(t, s); n != 0 {
		t.Errorf("journal keeps %d bytes for a file that can never be written", n)
	}
}

// A record already in the index (the process died between its batch and
// emptying the journal) is not written a second time.
func TestCloseJournalRecordsApplyOnce(t *testing.T) {
	ctx := context.Background()
	s, folder, _ := unlinkLaterStore(t, "seed")
	closeNew(t, s, folder, "once", "once")
	saved, err := os.ReadFile(s.closeJournalPath())
	if err != nil || len(saved) == 0 {
		t.Fatalf("journal after a close: %d bytes, %v", len(saved), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.closeJournalPath(), saved, 0o600); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	again, err := Open(ctx, s.Dir(), Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if strings.Contains(log.String(), "written to the index") {
		t.Errorf("a record the index held was written again: %s", log.String())
	}
	if _, data := mustRead(t, again, folder, "once"); data != "once" {
		t.Errorf("once: %q", data)
	}
	if n := journalSize(t, again); n != 0 {
		t.Errorf("journal holds %d bytes after the open", n)
	}
	rep, err := again.Fsck(ctx, FsckOptions{})
	if err != nil || !rep.Clean() {
		t.Errorf("fsck: %v %+v", err, rep.Problems)
	}
}

// killedJournalEnv names the store a child process of this test binary
// journals closes in and then kills itself (TestCloseJournalReplayedAfterKill).
const killedJournalEnv = "N4WS_TEST_KILLED_JOURNAL"

// kill -9 of a process whose closes were answered from the journal, its
// committer held off: the next open writes every one of them, ignoring a
// torn record at the end, and an open while a live process holds the
// journal leaves it alone.
func TestCloseJournalReplayedAfterKill(t *testing.T) {
	if dir := os.Getenv(killedJournalEnv); dir != "" {
		journalAndDie(dir)
		return
	}
	ctx := context.Background()
	s, folder, _ := unlinkLaterStore(t, "seed")
	dir := s.Dir()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCloseJournalReplayedAfterKill$")
	cmd.Env = append(os.Environ(), killedJournalEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want killed by SIGKILL\n%s", err, out)
	}
	journal := filepath.Join(dir, closeJournalName)
	st, err := os.Stat(journal)
	if err != nil || st.Size() == 0 {
		t.Fatalf("journal after the kill: %v %v", st, err)
	}
	// A record cut short by a crash mid-append ends the journal.
	f, err := os.OpenFile(journal, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, 'x'})
	f.Close()

	var log bytes.Buffer
	after, err := Open(ctx, dir, Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	if !strings.Contains(log.String(), fmt.Sprintf("files=%d lost=0", killedJournalFiles)) {
		t.Errorf("open after the kill logged %q, want %d files written", log.String(), killedJournalFiles)
	}
	for i := range killedJournalFiles {
		name := fmt.Sprintf("k%03d", i)
		if _, data := mustRead(t, after, folder, name); data != "killed "+name {
			t.Errorf("%s after the kill: %q", name, data)
		}
	}
	if n := journalSize(t, after); n != 0 {
		t.Errorf("journal holds %d bytes after the replay", n)
	}
	rep, err := after.Fsck(ctx, FsckOptions{})
	if err != nil || !rep.Clean() {
		t.Errorf("fsck: %v %+v", err, rep.Problems)
	}

	// A live journal is its process's: another open does not write it.
	after.journal.delay = time.Hour
	closeNew(t, after, folder, "live", "live")
	cli, err := Open(ctx, dir, Options{LogChanges: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Lookup(ctx, folder, "live"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another open wrote a live process's journal: %v", err)
	}
	cli.Close()
	after.Settle()
	if _, data := mustRead(t, after, folder, "live"); data != "live" {
		t.Errorf("live: %q", data)
	}
}

const killedJournalFiles = 40

// journalAndDie is the child of TestCloseJournalReplayedAfterKill.
func journalAndDie(dir string) {
	ctx := context.Background()
	s, err := Open(ctx, dir, Options{})
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	s.journal.delay = time.Hour // killed before any batch
	folder, err := s.ResolvePath(ctx, "runs/ds/0001_x")
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	for i := range killedJournalFiles {
		name := fmt.Sprintf("k%03d", i)
		a, err := s.NewFileAttr(ctx, NewNode{Mode: syscall.S_IFREG | 0o644})
		if err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
		s.CreateLater(CreateItem{Parent: folder.Ino, Name: name, Attr: a})
		if _, journaled, err := s.CommitContentOrJournal(ctx, a.Ino, contentOf("killed "+name)); err != nil || !journaled {
			fmt.Println("close", name, journaled, err)
			os.Exit(2)
		}
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	time.Sleep(time.Minute)
}

// A journal another process holds (a CLI command writing what a killed
// mount left, as the mount starts): closes commit at once meanwhile, and
// the journal is taken once it is free.
func TestCloseJournalTakenOnceFree(t *testing.T) {
	s, folder, _ := unlinkLaterStore(t, "seed")
	f, err := os.OpenFile(s.closeJournalPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	before := s.TreeWrites()
	if _, journaled := closeNew(t, s, folder, "while-held", "held"); journaled {
		t.Fatal("a close was journaled while another process held the journal")
	}
	if s.TreeWrites() == before {
		t.Error("the close while the journal was held wrote nothing")
	}
	if _, data := mustRead(t, s, folder, "while-held"); data != "held" {
		t.Errorf("while-held: %q", data)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	s.journal.mu.Lock()
	s.journal.retryAt = time.Time{} // as after closeJournalRetry
	s.journal.mu.Unlock()
	if _, journaled := closeNew(t, s, folder, "after", "free"); !journaled {
		t.Error("the journal was not taken once free")
	}
	s.Settle()
	if _, data := mustRead(t, s, folder, "after"); data != "free" {
		t.Errorf("after: %q", data)
	}
}
