package backing_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

func TestFsckFreshStore(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	rep := mustClean(t, s)
	if !rep.Clean() || rep.Nodes != 17 || rep.Blobs != 0 || rep.PendingPurge != 0 || rep.GarbageBlobs != 0 {
		t.Errorf("fresh store report %+v", rep)
	}
}

// fillStore writes a small workspace with dedup, hard links and renames.
func fillStore(t *testing.T, s *backing.Store) {
	t.Helper()
	for i := range 5 {
		dir := "runs/ds/000" + strconv.Itoa(i) + "_p"
		backingtest.WriteFile(t, s, dir+"/pipeline.json", `{"n": `+strconv.Itoa(i)+`}`)
		backingtest.WriteFile(t, s, dir+"/model.pkl", "shared model")
	}
	f := resolve(t, s, "runs/ds/0000_p/model.pkl")
	if _, err := s.Link(ctx, f.Ino, resolve(t, s, "library/trained/pipeline").Ino, "m.pkl"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Symlink(ctx, "runs/ds/latest", "0004_p"); err != nil {
		t.Fatal(err)
	}
	ds := resolve(t, s, "runs/ds").Ino
	if _, err := s.Rename(ctx, ds, "0003_p", ds, "0003_renamed_p", 0); err != nil {
		t.Fatal(err)
	}
}

func TestFsckAfterWrites(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	fillStore(t, s)
	var calls, last atomic.Int64
	rep, err := s.Fsck(ctx, backing.FsckOptions{Progress: func(done, total int64) {
		calls.Add(1)
		if done == total {
			last.Store(total)
		}
	}})
	if err != nil || !rep.Clean() {
		t.Fatalf("fsck: %v %+v", err, rep.Problems)
	}
	if rep.Blobs != 6 || calls.Load() != 6 || last.Load() != 6 {
		t.Errorf("hashed %d blobs, progress calls %d, last total %d; want 6", rep.Blobs, calls.Load(), last.Load())
	}
}

// Blob files damaged on disk; inline_test.go damages inline blobs.
func TestFsckCorruptBlobRepair(t *testing.T) {
	t.Parallel()
	s := fileStore(t)
	fillStore(t, s)
	a := resolve(t, s, "runs/ds/0001_p/model.pkl")
	p := s.BlobPath(a.Blob)
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("SHARED MODEL"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep := fsck(t, s, false)
	if k := kinds(rep); len(rep.Problems) != 5 || k[backing.ProblemCorruptBlob] != 5 {
		t.Fatalf("want 5 corrupt-blob problems, one per file sharing the blob: %v", rep.Problems)
	}
	if rep.Problems[0].Path == "" || rep.Problems[0].Repaired {
		t.Errorf("problem %+v", rep.Problems[0])
	}
	rep = fsck(t, s, true)
	if rep.Lost != 5 || rep.Unrepaired() != 0 {
		t.Fatalf("repair: lost %d, unrepaired %d: %v", rep.Lost, rep.Unrepaired(), rep.Problems)
	}
	after := resolve(t, s, "runs/ds/0001_p/model.pkl")
	if after.Size != 0 || !after.Blob.IsZero() {
		t.Errorf("lost file not emptied: %+v", after)
	}
	if note, err := s.GetXattr(ctx, after.Ino, backing.LostXattr); err != nil || !strings.Contains(string(note), "content lost") {
		t.Errorf("lost file not tagged: %q %v", note, err)
	}
	// The bad bytes must go, or rewriting the true content would dedup onto them.
	if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("corrupt blob file kept: %v", err)
	}
	backingtest.WriteFile(t, s, "runs/ds/0001_p/model.pkl", "shared model")
	if got := readContent(t, s, "runs/ds/0001_p/model.pkl"); got != "shared model" {
		t.Errorf("rewritten content %q", got)
	}
	mustClean(t, s)
}

func TestFsckMissingBlob(t *testing.T) {
	t.Parallel()
	s := fileStore(t)
	a := backingtest.WriteFile(t, s, "runs/x/metrics.json", `{"rmse": 1}`)
	if err := os.Remove(s.BlobPath(a.Blob)); err != nil {
		t.Fatal(err)
	}
	rep := fsck(t, s, false)
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != backing.ProblemMissingBlob || rep.Problems[0].Ino != a.Ino ||
		rep.Problems[0].Path != "/runs/x/metrics.json" {
		t.Fatalf("problems %v", rep.Problems)
	}
	if rep = fsck(t, s, true); rep.Lost != 1 {
		t.Errorf("lost %d", rep.Lost)
	}
	mustClean(t, s)
}

func TestFsckRefcountRepair(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	fillStore(t, s)
	a := resolve(t, s, "runs/ds/0001_p/model.pkl")
	rawExec(t, s, `UPDATE blobs SET refcount = 2 WHERE hash = ?`, a.Blob[:])
	rep := fsck(t, s, false)
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != backing.ProblemRefcount {
		t.Fatalf("problems %v", rep.Problems)
	}
	if rep = fsck(t, s, true); rep.Unrepaired() != 0 || rep.Lost != 0 {
		t.Fatalf("repair: %+v", rep)
	}
	if n := refcount(t, s, a.Blob); n != 5 {
		t.Errorf("refcount after repair %d, want 5", n)
	}
	mustClean(t, s)
}

func TestFsckIndexDamageRepair(t *testing.T) {
	t.Parallel()
	s := fileStore(t)
	fillStore(t, s)
	orphan := resolve(t, s, "runs/ds/0002_p/pipeline.json")
	sized := resolve(t, s, "runs/ds/0004_p/pipeline.json")
	runs := resolve(t, s, "runs")
	rawExec(t, s, `DELETE FROM entries WHERE child = ?`, orphan.Ino)
	rawExec(t, s, `UPDATE nodes SET nlink = 5 WHERE ino = ?`, resolve(t, s, "runs/ds/0001_p/model.pkl").Ino)
	rawExec(t, s, `UPDATE nodes SET nlink = 9 WHERE ino = ?`, runs.Ino)
	rawExec(t, s, `UPDATE nodes SET size = 3 WHERE ino = ?`, sized.Ino)
	rawExec(t, s, `INSERT INTO entries (parent, name, child) VALUES (?, CAST('ghost' AS BLOB), 999999)`, runs.Ino)
	rawExec(t, s, `INSERT INTO entries (parent, name, child) VALUES (?, CAST('under-a-file' AS BLOB), ?)`, sized.Ino, sized.Ino)
	// The blob file stays: repair gives it back its row (a file store, since
	// an inline blob's bytes would go with its row).
	rawExec(t, s, `DELETE FROM blobs WHERE hash = ?`, sized.Blob[:])
	rep := fsck(t, s, false)
	want := map[backing.ProblemKind]int{backing.ProblemOrphanNode: 1, backing.ProblemNlink: 2,
		backing.ProblemDanglingEntry: 2, backing.ProblemMissingRow: 1}
	if got := kinds(rep); len(got) != len(want) || got[backing.ProblemOrphanNode] != 1 || got[backing.ProblemNlink] != 2 ||
		got[backing.ProblemDanglingEntry] != 2 || got[backing.ProblemMissingRow] != 1 {
		t.Fatalf("kinds %v, want %v: %v", got, want, rep.Problems)
	}
	rep = fsck(t, s, true)
	if rep.Unrepaired() != 0 || rep.Lost != 0 {
		t.Fatalf("repair left %d, lost %d: %v", rep.Unrepaired(), rep.Lost, rep.Problems)
	}
	p := "runs/lost+found/" + strconv.FormatUint(orphan.Ino, 10)
	if got := readContent(t, s, p); got != `{"n": 2}` {
		t.Errorf("reattached orphan content %q", got)
	}
	if got := resolve(t, s, "runs/ds/0004_p/pipeline.json"); got.Size != int64(len(`{"n": 4}`)) {
		t.Errorf("size after repair %d", got.Size)
	}
	for _, pr := range rep.Problems {
		if pr.Kind == backing.ProblemOrphanNode && pr.Path != "/"+p {
			t.Errorf("orphan problem path %q, want /%s", pr.Path, p)
		}
	}
	mustClean(t, s)
}

func TestFsckCancelled(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	fillStore(t, s)
	c, cancel := context.WithCancel(ctx)
	cancel()
	_, err := s.Fsck(c, backing.FsckOptions{})
	wantErr(t, "cancelled fsck", err, context.Canceled)
}
