package backing_test

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

// The blob of a file store is the spool file itself, hard-linked and made
// read-only; inline blobs are covered in inline_test.go.
func TestCommitContentThroughSpool(t *testing.T) {
	t.Parallel()
	s := fileStore(t)
	f := mkfile(t, s, resolve(t, s, "runs").Ino, "f")
	sp, err := s.NewSpool(f.Ino)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(sp.Name())
	defer sp.Close()
	if _, err := sp.WriteString("spooled bytes"); err != nil {
		t.Fatal(err)
	}
	d, n, err := backing.HashFile(sp)
	if err != nil || n != 13 {
		t.Fatalf("hash: %v %d", err, n)
	}
	mtime := time.Unix(1700000000, 0)
	a, err := s.CommitContent(ctx, f.Ino, backing.Content{File: sp.Name(), Digest: d, Size: n, Mtime: mtime})
	if err != nil || a.Size != 13 || a.Blob != d || !a.Mtime.Equal(mtime) {
		t.Fatalf("commit: %+v %v", a, err)
	}
	if got := readContent(t, s, "runs/f"); got != "spooled bytes" {
		t.Errorf("content %q", got)
	}
	if info, err := os.Stat(s.BlobPath(d)); err != nil || info.Mode().Perm() != 0o400 {
		t.Errorf("blob file: %v %v", info, err)
	}
	dir := resolve(t, s, "runs")
	_, err = s.CommitContent(ctx, dir.Ino, backing.Content{})
	wantErr(t, "commit to a directory", err, backing.ErrInvalid)
	mustClean(t, s)
}

func TestDedupAndGC(t *testing.T) {
	t.Parallel()
	s := fileStore(t)
	a := backingtest.WriteFile(t, s, "runs/ds/0001_a/predictions.csv", "same bytes")
	b := backingtest.WriteFile(t, s, "runs/ds/0002_b/predictions.csv", "same bytes")
	if a.Blob != b.Blob || a.Ino == b.Ino {
		t.Fatalf("dedup: blobs %s %s inos %d %d", a.Blob, b.Blob, a.Ino, b.Ino)
	}
	if n := refcount(t, s, a.Blob); n != 2 {
		t.Errorf("refcount %d, want 2", n)
	}
	if n := blobFiles(t, s); n != 1 {
		t.Errorf("%d blob files for one content, want 1", n)
	}
	old := a.Blob
	a = backingtest.WriteFile(t, s, "runs/ds/0001_a/predictions.csv", "new bytes")
	b = backingtest.WriteFile(t, s, "runs/ds/0002_b/predictions.csv", "other bytes")
	if n := refcount(t, s, old); n != 0 {
		t.Errorf("old blob refcount %d after rewrites, want 0", n)
	}
	// Garbage stays until gc: a crash cannot lose a blob still being used.
	if _, err := os.Stat(s.BlobPath(old)); err != nil {
		t.Fatalf("garbage removed before gc: %v", err)
	}
	rep := mustClean(t, s)
	if rep.GarbageBlobs != 1 || rep.GarbageBytes != 10 {
		t.Errorf("fsck garbage %d/%d, want 1/10", rep.GarbageBlobs, rep.GarbageBytes)
	}
	gc, err := s.GC(ctx, backing.GCOptions{})
	if err != nil || gc.Blobs != 1 || gc.Bytes != 10 {
		t.Fatalf("gc: %+v %v", gc, err)
	}
	if _, err := os.Stat(s.BlobPath(old)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("garbage blob still there: %v", err)
	}
	if n := refcount(t, s, old); n != -1 {
		t.Errorf("garbage row left, refcount %d", n)
	}
	if readContent(t, s, "runs/ds/0001_a/predictions.csv") != "new bytes" || readContent(t, s, "runs/ds/0002_b/predictions.csv") != "other bytes" {
		t.Error("gc damaged live content")
	}
	if rep := mustClean(t, s); rep.GarbageBlobs != 0 {
		t.Errorf("garbage after gc: %d", rep.GarbageBlobs)
	}
}

func TestEmptyFileHasNoBlob(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	a := backingtest.WriteFile(t, s, "library/templates/empty.yaml", "")
	if !a.Blob.IsZero() || a.Size != 0 {
		t.Errorf("empty file: %+v", a)
	}
	a = backingtest.WriteFile(t, s, "library/templates/empty.yaml", "now some")
	a = backingtest.WriteFile(t, s, "library/templates/empty.yaml", "")
	if !a.Blob.IsZero() {
		t.Errorf("emptied file keeps blob %s", a.Blob)
	}
	mustClean(t, s)
}

func TestUnlinkThenPurge(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	// library/: below runs/ the trash would keep a copy (trash_test.go).
	f := backingtest.WriteFile(t, s, "library/open.log", "still open")
	a, err := s.Unlink(ctx, resolve(t, s, "library").Ino, "open.log")
	if err != nil || a.Nlink != 0 {
		t.Fatalf("unlink: %+v %v", a, err)
	}
	// An unlinked node lives on, content and all, for its open handles.
	if got, err := s.GetAttr(ctx, f.Ino); err != nil || got.Blob != f.Blob {
		t.Fatalf("getattr unlinked: %+v %v", got, err)
	}
	if n := refcount(t, s, f.Blob); n != 1 {
		t.Errorf("refcount of unlinked node's blob %d, want 1", n)
	}
	_, err = s.Path(ctx, f.Ino)
	wantErr(t, "path of unlinked node", err, backing.ErrNotFound)
	if rep := mustClean(t, s); rep.PendingPurge != 1 {
		t.Errorf("pending purge %d, want 1", rep.PendingPurge)
	}
	if err := s.Purge(ctx, f.Ino); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetAttr(ctx, f.Ino)
	wantErr(t, "getattr purged", err, backing.ErrNotFound)
	if n := refcount(t, s, f.Blob); n != 0 {
		t.Errorf("refcount after purge %d, want 0", n)
	}
	if err := s.Purge(ctx, f.Ino); err != nil {
		t.Errorf("purge twice: %v", err)
	}
	// Purge leaves a linked node alone.
	g := backingtest.WriteFile(t, s, "library/g", "g")
	if err := s.Purge(ctx, g.Ino); err != nil {
		t.Fatal(err)
	}
	resolve(t, s, "library/g")
	mustClean(t, s)
}

func TestPurgeUnlinked(t *testing.T) {
	t.Parallel()
	s := fileStore(t) // fsck counts garbage blob files

	lib := resolve(t, s, "library").Ino // not runs/: no trash copy
	for _, n := range []string{"a", "b"} {
		backingtest.WriteFile(t, s, "library/"+n, n)
		if _, err := s.Unlink(ctx, lib, n); err != nil {
			t.Fatal(err)
		}
	}
	backingtest.WriteFile(t, s, "runs/kept", "kept")
	n, err := s.PurgeUnlinked(ctx)
	if err != nil || n != 2 {
		t.Fatalf("purge unlinked: %d %v", n, err)
	}
	if rep := mustClean(t, s); rep.PendingPurge != 0 || rep.GarbageBlobs != 2 {
		t.Errorf("after purge: pending %d garbage %d", rep.PendingPurge, rep.GarbageBlobs)
	}
	resolve(t, s, "runs/kept")
}

func TestXattrs(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	f := backingtest.WriteFile(t, s, "runs/f", "f")
	if err := s.SetXattr(ctx, f.Ino, "user.b", []byte("2"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetXattr(ctx, f.Ino, "user.a", nil, backing.XattrCreate); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "create existing", s.SetXattr(ctx, f.Ino, "user.a", []byte("x"), backing.XattrCreate), backing.ErrExists)
	wantErr(t, "replace missing", s.SetXattr(ctx, f.Ino, "user.c", []byte("x"), backing.XattrReplace), backing.ErrNotFound)
	if err := s.SetXattr(ctx, f.Ino, "user.b", []byte("3"), backing.XattrReplace); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetXattr(ctx, f.Ino, "user.b"); err != nil || string(v) != "3" {
		t.Errorf("get: %q %v", v, err)
	}
	if v, err := s.GetXattr(ctx, f.Ino, "user.a"); err != nil || len(v) != 0 {
		t.Errorf("get empty: %q %v", v, err)
	}
	names, err := s.ListXattr(ctx, f.Ino)
	if err != nil || len(names) != 2 || names[0] != "user.a" {
		t.Errorf("list: %v %v", names, err)
	}
	if err := s.RemoveXattr(ctx, f.Ino, "user.a"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "remove missing", s.RemoveXattr(ctx, f.Ino, "user.a"), backing.ErrNotFound)
	_, err = s.GetXattr(ctx, f.Ino, "user.a")
	wantErr(t, "get removed", err, backing.ErrNotFound)
	// A node's xattrs go with it.
	if _, err := s.Unlink(ctx, resolve(t, s, "runs").Ino, "f"); err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx, f.Ino); err != nil {
		t.Fatal(err)
	}
	if names, _ := s.ListXattr(ctx, f.Ino); len(names) != 0 {
		t.Errorf("xattrs outlive their node: %v", names)
	}
}

func TestChangesLog(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	start, err := s.LastChange(ctx)
	if err != nil {
		t.Fatal(err)
	}
	runs := resolve(t, s, "runs").Ino
	f := mkfile(t, s, runs, "new.csv")
	if err := s.SetXattr(ctx, f.Ino, "user.x", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	cs, err := s.ChangesSince(ctx, start)
	if err != nil {
		t.Fatal(err)
	}
	var sawEntry, sawIno bool
	for _, c := range cs {
		sawEntry = sawEntry || c.Parent == runs && c.Name == "new.csv"
		sawIno = sawIno || c.Ino == f.Ino
	}
	if !sawEntry || !sawIno {
		t.Errorf("changes %+v: entry %v ino %v", cs, sawEntry, sawIno)
	}
	last, _ := s.LastChange(ctx)
	if err := s.TrimChanges(ctx, last); err != nil {
		t.Fatal(err)
	}
	if cs, _ := s.ChangesSince(ctx, 0); len(cs) != 0 {
		t.Errorf("changes left after trim: %+v", cs)
	}
	// The mount opens the store without LogChanges: its own edits are not
	// news to it.
	quiet, err := backing.Open(ctx, s.Dir(), backing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	if _, err := quiet.Mknod(ctx, runs, "quiet", backing.NewNode{Mode: syscall.S_IFREG}); err != nil {
		t.Fatal(err)
	}
	if cs, _ := s.ChangesSince(ctx, last); len(cs) != 0 {
		t.Errorf("store without LogChanges logged %+v", cs)
	}
}
