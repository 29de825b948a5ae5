package backing_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

func TestGCRemovesOrphanFiles(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	live := backingtest.WriteFile(t, s, "runs/live", "live content")
	// A blob placed by a transaction that never committed: no row.
	sum := sha256.Sum256([]byte("crashed write"))
	h := hex.EncodeToString(sum[:])
	orphan := filepath.Join(s.Dir(), "blobs", h[:2], h[2:4], h)
	junk := []string{orphan, filepath.Join(s.Dir(), "blobs", "ab", ".tmp-1234"),
		filepath.Join(s.Dir(), "blobs", "cd", "ef", h)} // a blob name in the wrong place
	for _, p := range junk {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("crashed write"), 0o400); err != nil {
			t.Fatal(err)
		}
	}
	if rep := mustClean(t, s); rep.GarbageBlobs != 3 || rep.GarbageBytes != 3*13 {
		t.Errorf("fsck garbage %d/%d, want 3/39", rep.GarbageBlobs, rep.GarbageBytes)
	}
	gc, err := s.GC(ctx, backing.GCOptions{})
	if err != nil || gc.Blobs != 3 || gc.Bytes != 3*13 || gc.SpoolFiles != 0 {
		t.Fatalf("gc: %+v %v", gc, err)
	}
	for _, p := range junk {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s survived gc: %v", p, err)
		}
	}
	if got := readContent(t, s, "runs/live"); got != "live content" || refcount(t, s, live.Blob) != 1 {
		t.Errorf("gc touched live blob: %q", got)
	}
	if rep := mustClean(t, s); rep.GarbageBlobs != 0 {
		t.Errorf("garbage after gc %d", rep.GarbageBlobs)
	}
}

func TestGCKeepsBlobWithBadZeroRefcount(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	a := backingtest.WriteFile(t, s, "runs/f", "precious")
	rawExec(t, s, `UPDATE blobs SET refcount = 0 WHERE hash = ?`, a.Blob[:])
	gc, err := s.GC(ctx, backing.GCOptions{})
	if err != nil || gc.Blobs != 0 {
		t.Fatalf("gc: %+v %v", gc, err)
	}
	if got := readContent(t, s, "runs/f"); got != "precious" {
		t.Fatalf("gc removed a referenced blob: %q", got)
	}
	if rep := fsck(t, s, true); rep.Unrepaired() != 0 || kinds(rep)[backing.ProblemRefcount] != 1 {
		t.Errorf("repair: %v", rep.Problems)
	}
	mustClean(t, s)
}

func TestGCSpool(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	spool := func() string {
		f, err := s.NewSpool(0)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		return f.Name()
	}
	stale, fresh := spool(), spool()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if gc, err := s.GC(ctx, backing.GCOptions{}); err != nil || gc.SpoolFiles != 0 {
		t.Fatalf("gc without SpoolToo: %+v %v", gc, err)
	}
	// A running mount owns the spool: leave it alone.
	lock, err := s.LockForMount(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	gc, err := s.GC(ctx, backing.GCOptions{SpoolToo: true})
	if err != nil || gc.SpoolFiles != 0 || !gc.SpoolLocked {
		t.Fatalf("gc while mounted: %+v %v", gc, err)
	}
	lock.Release()
	gc, err = s.GC(ctx, backing.GCOptions{SpoolToo: true})
	if err != nil || gc.SpoolFiles != 1 || gc.SpoolLocked {
		t.Fatalf("gc spool: %+v %v", gc, err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale spool file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh spool file removed: %v", err)
	}
	if s.IsLocked() {
		t.Error("gc left the store locked")
	}
}
