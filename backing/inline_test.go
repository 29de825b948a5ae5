package backing_test

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

// Blobs of at most Options.InlineMax bytes live in the blobs.data column of
// the index instead of as files. These tests cover them; the tests about
// blob files use fileStore.

// randomBytes returns n random bytes: distinct content, NULs included.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// wantNoBlobFile fails the test if blob d has a file.
func wantNoBlobFile(t *testing.T, s *backing.Store, d backing.Digest) {
	t.Helper()
	if _, err := os.Stat(s.BlobPath(d)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("blob %s has a file: %v", d, err)
	}
}

func TestInlineSmallFile(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	content := string(randomBytes(1 << 10))
	a := backingtest.WriteFile(t, s, "runs/ds/0001_a/scores.csv", content)
	if !inline(t, s, a.Blob) || a.Size != 1<<10 {
		t.Fatalf("1 KiB blob not inline: %+v", a)
	}
	wantNoBlobFile(t, s, a.Blob)
	if n := blobFiles(t, s); n != 0 {
		t.Errorf("%d files below blobs/, want 0", n)
	}
	b, err := s.OpenBlob(ctx, a.Blob)
	if err != nil {
		t.Fatal(err)
	}
	if b.File() != nil {
		t.Error("inline blob opened as a file")
	}
	buf := make([]byte, 10)
	if n, err := b.ReadAt(buf, 0); n != 10 || err != nil || string(buf) != content[:10] {
		t.Errorf("read at 0: %d %v", n, err)
	}
	if n, err := b.ReadAt(buf, 1020); n != 4 || err != io.EOF || string(buf[:n]) != content[1020:] {
		t.Errorf("read across the end: %d %v", n, err)
	}
	if n, err := b.ReadAt(buf, 1024); n != 0 || err != io.EOF {
		t.Errorf("read at the end: %d %v", n, err)
	}
	if err := b.Close(); err != nil {
		t.Error(err)
	}
	if got := readContent(t, s, "runs/ds/0001_a/scores.csv"); got != content {
		t.Error("inline content differs")
	}
	// A second identical file shares the row.
	c := backingtest.WriteFile(t, s, "runs/ds/0002_b/scores.csv", content)
	var rows int
	if err := rawDB(t, s).QueryRowContext(ctx, `SELECT count(*) FROM blobs`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if c.Blob != a.Blob || refcount(t, s, a.Blob) != 2 || rows != 1 || blobFiles(t, s) != 0 {
		t.Errorf("dedup: blob %s/%s refcount %d, %d rows, %d files", a.Blob, c.Blob, refcount(t, s, a.Blob), rows, blobFiles(t, s))
	}
	// The mount copies a blob into a spool file before changing it.
	sp, err := s.NewSpool(c.Ino)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(sp.Name())
	defer sp.Close()
	if err := s.CopyBlobInto(ctx, sp, a.Blob); err != nil {
		t.Fatal(err)
	}
	if d, n, err := backing.HashFile(sp); d != a.Blob || n != 1<<10 || err != nil {
		t.Errorf("copy of inline blob: %s %d %v", d, n, err)
	}
	mustClean(t, s)
}

func TestInlineCommitFromSpool(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	f := mkfile(t, s, resolve(t, s, "runs").Ino, "f")
	sp, err := s.NewSpool(f.Ino)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sp.WriteString("spooled bytes"); err != nil {
		t.Fatal(err)
	}
	d, n, err := backing.HashFile(sp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitContent(ctx, f.Ino, backing.Content{File: sp.Name(), Digest: d, Size: n}); err != nil {
		t.Fatal(err)
	}
	// The bytes were copied into the index: the spool file may go.
	sp.Close()
	if err := os.Remove(sp.Name()); err != nil {
		t.Fatal(err)
	}
	if !inline(t, s, d) || blobFiles(t, s) != 0 {
		t.Errorf("spooled content not inline (inline %v, %d files)", inline(t, s, d), blobFiles(t, s))
	}
	if got := readContent(t, s, "runs/f"); got != "spooled bytes" {
		t.Errorf("content %q", got)
	}
	mustClean(t, s)
}

// Content of exactly InlineMax bytes is inline and one byte more is a file,
// whether it comes through WriteFile (a spool file) or from memory.
func TestInlineThreshold(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		opts   backing.Options
		size   int
		inline bool
	}{
		{"default max", backing.Options{}, backing.DefaultInlineMax, true},
		{"default max+1", backing.Options{}, backing.DefaultInlineMax + 1, false},
		{"one byte", backing.Options{}, 1, true},
		{"large", backing.Options{}, 1<<20 + 3, false},
		{"custom max", backing.Options{InlineMax: 100}, 100, true},
		{"custom max+1", backing.Options{InlineMax: 100}, 101, false},
		{"inline off", backing.Options{InlineMax: -1}, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := backingtest.NewStoreWith(t, c.opts)
			written := randomBytes(c.size)
			a := backingtest.WriteFile(t, s, "runs/written", string(written))
			memory := randomBytes(c.size)
			d := backing.Digest(sha256.Sum256(memory))
			m := mkfile(t, s, resolve(t, s, "runs").Ino, "memory")
			if _, err := s.CommitContent(ctx, m.Ino, backing.Content{Data: memory, Digest: d, Size: int64(c.size)}); err != nil {
				t.Fatal(err)
			}
			for p, want := range map[string][]byte{"runs/written": written, "runs/memory": memory} {
				got := resolve(t, s, p)
				if in := inline(t, s, got.Blob); in != c.inline || got.Size != int64(c.size) {
					t.Errorf("%s: %d bytes, inline %v, want %d bytes inline %v", p, got.Size, in, c.size, c.inline)
				}
				if c.inline {
					wantNoBlobFile(t, s, got.Blob)
				} else if info, err := os.Stat(s.BlobPath(got.Blob)); err != nil || info.Mode().Perm() != 0o400 {
					t.Errorf("%s: blob file %v %v", p, info, err)
				}
				if readContent(t, s, p) != string(want) {
					t.Errorf("%s: content differs", p)
				}
			}
			if a.Blob == d {
				t.Fatal("random contents collide")
			}
			mustClean(t, s)
		})
	}
}

// Whatever InlineMax says, identical content is stored once: as the file
// or the row it already has.
func TestInlineMaxChangeKeepsDedup(t *testing.T) {
	t.Parallel()
	files := fileStore(t)
	inl, err := backing.Open(ctx, files.Dir(), backing.Options{LogChanges: true})
	if err != nil {
		t.Fatal(err)
	}
	defer inl.Close()
	a := backingtest.WriteFile(t, files, "runs/a", "small, but a file")
	b := backingtest.WriteFile(t, inl, "runs/b", "small, but a file")
	if b.Blob != a.Blob || inline(t, inl, a.Blob) || refcount(t, inl, a.Blob) != 2 {
		t.Errorf("small content already a file: inline %v refcount %d", inline(t, inl, a.Blob), refcount(t, inl, a.Blob))
	}
	c := backingtest.WriteFile(t, inl, "runs/c", "inline")
	d := backingtest.WriteFile(t, files, "runs/d", "inline")
	if d.Blob != c.Blob || !inline(t, inl, c.Blob) || refcount(t, inl, c.Blob) != 2 {
		t.Errorf("content already inline: inline %v refcount %d", inline(t, inl, c.Blob), refcount(t, inl, c.Blob))
	}
	if n := blobFiles(t, inl); n != 1 {
		t.Errorf("%d blob files, want 1", n)
	}
	if readContent(t, files, "runs/d") != "inline" || readContent(t, inl, "runs/b") != "small, but a file" {
		t.Error("content differs")
	}
	mustClean(t, inl)
}

func TestInlineGC(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	small := backingtest.WriteFile(t, s, "runs/f", "first, inline")
	big := strings.Repeat("b", backing.DefaultInlineMax+1)
	backingtest.WriteFile(t, s, "runs/f", big)
	// Garbage stays until gc, and the same bytes written meanwhile revive it.
	if n := refcount(t, s, small.Blob); n != 0 || !inline(t, s, small.Blob) {
		t.Fatalf("replaced inline blob: refcount %d, inline %v", n, inline(t, s, small.Blob))
	}
	if g := backingtest.WriteFile(t, s, "runs/g", "first, inline"); g.Blob != small.Blob || refcount(t, s, small.Blob) != 1 {
		t.Errorf("revived garbage: blob %s refcount %d", g.Blob, refcount(t, s, small.Blob))
	}
	backingtest.WriteFile(t, s, "runs/g", "second")
	bigBlob := resolve(t, s, "runs/f").Blob
	backingtest.WriteFile(t, s, "runs/f", "third")
	garbageBytes := int64(len("first, inline") + len(big))
	if st, err := s.Stats(ctx); err != nil || st.GarbageBlobs != 2 || st.GarbageBytes != garbageBytes {
		t.Errorf("stats garbage %d/%d, want 2/%d (%v)", st.GarbageBlobs, st.GarbageBytes, garbageBytes, err)
	}
	gc, err := s.GC(ctx, backing.GCOptions{})
	if err != nil || gc.Blobs != 2 || gc.Bytes != garbageBytes {
		t.Fatalf("gc: %+v %v, want 2 blobs, %d bytes", gc, err, garbageBytes)
	}
	if refcount(t, s, small.Blob) != -1 || refcount(t, s, bigBlob) != -1 || blobFiles(t, s) != 0 {
		t.Errorf("after gc: refcounts %d %d, %d files", refcount(t, s, small.Blob), refcount(t, s, bigBlob), blobFiles(t, s))
	}
	if readContent(t, s, "runs/f") != "third" || readContent(t, s, "runs/g") != "second" {
		t.Error("gc damaged live content")
	}
	if st, _ := s.Stats(ctx); st.GarbageBlobs != 0 || st.Blobs != 2 {
		t.Errorf("stats after gc: %+v", st)
	}
	mustClean(t, s)
}

func TestInlineStats(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	small, big := strings.Repeat("s", 1<<10), strings.Repeat("B", 40<<10)
	a := backingtest.WriteFile(t, s, "runs/a", small)
	backingtest.WriteFile(t, s, "runs/b", small)
	c := backingtest.WriteFile(t, s, "runs/c", big)
	if !inline(t, s, a.Blob) || inline(t, s, c.Blob) {
		t.Fatalf("inline: small %v, big %v", inline(t, s, a.Blob), inline(t, s, c.Blob))
	}
	st, err := s.Stats(ctx)
	logical, stored := int64(2<<10+40<<10), int64(1<<10+40<<10)
	if err != nil || st.Files != 3 || st.Blobs != 2 || st.LogicalBytes != logical || st.StoredBytes != stored ||
		st.DedupRatio != float64(logical)/float64(stored) {
		t.Errorf("stats %+v (%v), want 3 files, 2 blobs, %d logical, %d stored bytes", st, err, logical, stored)
	}
}

// An inline blob whose bytes are damaged is repaired as a damaged blob file
// is (see TestFsckCorruptBlobRepair): every file naming it is emptied and
// tagged, and its row goes so that the true bytes can be stored again.
func TestInlineFsckRepair(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		data any // the blob's new data column
		kind backing.ProblemKind
	}{
		{"tampered", []byte("SHARED MODEL"), backing.ProblemCorruptBlob},
		{"truncated", []byte("shared"), backing.ProblemCorruptBlob},
		{"lost", nil, backing.ProblemMissingBlob},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := backingtest.NewStore(t)
			for i := range 3 {
				backingtest.WriteFile(t, s, "runs/ds/000"+strconv.Itoa(i)+"_p/model.pkl", "shared model")
			}
			backingtest.WriteFile(t, s, "runs/ds/other.json", `{"kept": true}`)
			a := resolve(t, s, "runs/ds/0001_p/model.pkl")
			if !inline(t, s, a.Blob) {
				t.Fatal("blob not inline")
			}
			rawExec(t, s, `UPDATE blobs SET data = ? WHERE hash = ?`, c.data, a.Blob[:])
			rep := fsck(t, s, false)
			if k := kinds(rep); len(rep.Problems) != 3 || k[c.kind] != 3 {
				t.Fatalf("want 3 %s problems, one per file sharing the blob: %v", c.kind, rep.Problems)
			}
			rep = fsck(t, s, true)
			if rep.Lost != 3 || rep.Unrepaired() != 0 {
				t.Fatalf("repair: lost %d, unrepaired %d: %v", rep.Lost, rep.Unrepaired(), rep.Problems)
			}
			after := resolve(t, s, "runs/ds/0001_p/model.pkl")
			if after.Size != 0 || !after.Blob.IsZero() {
				t.Errorf("lost file not emptied: %+v", after)
			}
			if note, err := s.GetXattr(ctx, after.Ino, backing.LostXattr); err != nil || !strings.Contains(string(note), "content lost") {
				t.Errorf("lost file not tagged: %q %v", note, err)
			}
			if n := refcount(t, s, a.Blob); n != -1 || blobFiles(t, s) != 0 {
				t.Errorf("bad blob kept: refcount %d, %d files", n, blobFiles(t, s))
			}
			if got := readContent(t, s, "runs/ds/other.json"); got != `{"kept": true}` {
				t.Errorf("other file %q", got)
			}
			a = backingtest.WriteFile(t, s, "runs/ds/0001_p/model.pkl", "shared model")
			if got := readContent(t, s, "runs/ds/0001_p/model.pkl"); got != "shared model" || !inline(t, s, a.Blob) {
				t.Errorf("rewritten content %q, inline %v", got, inline(t, s, a.Blob))
			}
			mustClean(t, s)
		})
	}
}
