package backing_test

import (
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

func TestRenameMoveAndReplace(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	runs := resolve(t, s, "runs").Ino
	a, b := mkdir(t, s, runs, "a"), mkdir(t, s, runs, "b")
	mkdir(t, s, a.Ino, "sub")
	backingtest.WriteFile(t, s, "runs/a/sub/f", "content")
	if _, err := s.Rename(ctx, a.Ino, "sub", b.Ino, "moved", 0); err != nil {
		t.Fatalf("move dir: %v", err)
	}
	if resolve(t, s, "runs/a").Nlink != 2 || resolve(t, s, "runs/b").Nlink != 3 {
		t.Errorf("nlinks after move: a %d b %d", resolve(t, s, "runs/a").Nlink, resolve(t, s, "runs/b").Nlink)
	}
	if got := readContent(t, s, "runs/b/moved/f"); got != "content" {
		t.Errorf("moved content %q", got)
	}
	mustClean(t, s)

	x := backingtest.WriteFile(t, s, "runs/a/x", "x")
	y := backingtest.WriteFile(t, s, "runs/a/y", "y")
	_, err := s.Rename(ctx, a.Ino, "x", a.Ino, "y", backing.RenameNoReplace)
	wantErr(t, "noreplace", err, backing.ErrExists)
	replaced, err := s.Rename(ctx, a.Ino, "x", a.Ino, "y", 0)
	if err != nil || replaced == nil || replaced.Ino != y.Ino || replaced.Nlink != 0 {
		t.Fatalf("replace: %+v %v", replaced, err)
	}
	if got := resolve(t, s, "runs/a/y"); got.Ino != x.Ino {
		t.Errorf("after replace y is %d, want %d", got.Ino, x.Ino)
	}
	if err := s.Purge(ctx, y.Ino); err != nil {
		t.Fatal(err)
	}
	// Two names of one file: rename does nothing, as POSIX says.
	if _, err := s.Link(ctx, x.Ino, a.Ino, "x2"); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Rename(ctx, a.Ino, "x2", a.Ino, "y", 0); err != nil || r != nil {
		t.Errorf("rename onto own hard link: %+v %v", r, err)
	}
	mustClean(t, s)
}

func TestRenameDirRules(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	runs := resolve(t, s, "runs").Ino
	a := mkdir(t, s, runs, "a")
	inner := mkdir(t, s, a.Ino, "inner")
	deep := mkdir(t, s, inner.Ino, "deep")
	_, err := s.Rename(ctx, runs, "a", deep.Ino, "a", 0)
	wantErr(t, "dir into own subtree", err, backing.ErrInvalid)
	_, err = s.Rename(ctx, runs, "a", a.Ino, "self", 0)
	wantErr(t, "dir into itself", err, backing.ErrInvalid)
	full := mkdir(t, s, runs, "full")
	backingtest.WriteFile(t, s, "runs/full/f", "f")
	_, err = s.Rename(ctx, runs, "a", runs, "full", 0)
	wantErr(t, "dir over non-empty dir", err, backing.ErrNotEmpty)
	_, err = s.Rename(ctx, runs, "a", full.Ino, "f", 0)
	wantErr(t, "dir over file", err, backing.ErrNotDir)
	_, err = s.Rename(ctx, full.Ino, "f", runs, "a", 0)
	wantErr(t, "file over dir", err, backing.ErrIsDir)
	_, err = s.Rename(ctx, runs, "a", runs, "b", backing.RenameNoReplace|backing.RenameExchange)
	wantErr(t, "both flags", err, backing.ErrInvalid)
	_, err = s.Rename(ctx, runs, "missing", runs, "b", 0)
	wantErr(t, "missing source", err, backing.ErrNotFound)
	// A directory may replace an empty one, in another parent.
	mkdir(t, s, full.Ino, "empty")
	if _, err := s.Rename(ctx, a.Ino, "inner", full.Ino, "empty", 0); err != nil {
		t.Fatalf("dir over empty dir: %v", err)
	}
	if got := resolve(t, s, "runs/full/empty/deep"); got.Ino != deep.Ino {
		t.Errorf("deep is %d, want %d", got.Ino, deep.Ino)
	}
	// And in the same parent: the parent loses one subdirectory.
	mkdir(t, s, full.Ino, "other")
	before := resolve(t, s, "runs/full").Nlink
	if _, err := s.Rename(ctx, full.Ino, "other", full.Ino, "empty", 0); err == nil {
		t.Error("replaced a non-empty dir in the same parent")
	}
	if _, err := s.Rename(ctx, full.Ino, "empty", full.Ino, "other", 0); err != nil {
		t.Fatalf("dir over empty dir, same parent: %v", err)
	}
	if got := resolve(t, s, "runs/full").Nlink; got != before-1 {
		t.Errorf("parent nlink %d, want %d", got, before-1)
	}
	mustClean(t, s)
}

func TestRenameExchange(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	runs := resolve(t, s, "runs").Ino
	p, q := mkdir(t, s, runs, "p"), mkdir(t, s, runs, "q")
	d := mkdir(t, s, p.Ino, "dir")
	f := backingtest.WriteFile(t, s, "runs/q/file", "f")
	if _, err := s.Rename(ctx, p.Ino, "dir", q.Ino, "file", backing.RenameExchange); err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if resolve(t, s, "runs/p/dir").Ino != f.Ino || resolve(t, s, "runs/q/file").Ino != d.Ino {
		t.Error("exchange did not swap the nodes")
	}
	if resolve(t, s, "runs/p").Nlink != 2 || resolve(t, s, "runs/q").Nlink != 3 {
		t.Errorf("nlinks after exchange: p %d q %d", resolve(t, s, "runs/p").Nlink, resolve(t, s, "runs/q").Nlink)
	}
	_, err := s.Rename(ctx, p.Ino, "dir", q.Ino, "absent", backing.RenameExchange)
	wantErr(t, "exchange with missing", err, backing.ErrNotFound)
	// Exchanging a directory with an entry inside it would detach a loop.
	mkdir(t, s, d.Ino, "child")
	_, err = s.Rename(ctx, q.Ino, "file", d.Ino, "child", backing.RenameExchange)
	wantErr(t, "exchange into own subtree", err, backing.ErrInvalid)
	_, err = s.Rename(ctx, d.Ino, "child", q.Ino, "file", backing.RenameExchange)
	wantErr(t, "exchange with ancestor", err, backing.ErrInvalid)
	mustClean(t, s)
}
