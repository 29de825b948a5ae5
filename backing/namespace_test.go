package backing_test

import (
	"strings"
	"syscall"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

func mkdir(t *testing.T, s *backing.Store, parent uint64, name string) backing.Attr {
	t.Helper()
	a, err := s.Mknod(ctx, parent, name, backing.NewNode{Mode: syscall.S_IFDIR | 0o755})
	if err != nil {
		t.Fatalf("mkdir %s: %v", name, err)
	}
	return a
}

func mkfile(t *testing.T, s *backing.Store, parent uint64, name string) backing.Attr {
	t.Helper()
	a, err := s.Mknod(ctx, parent, name, backing.NewNode{Mode: syscall.S_IFREG | 0o644})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return a
}

func TestMknodLookupReadDir(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	runs := resolve(t, s, "runs")
	d := mkdir(t, s, runs.Ino, "ds")
	if d.Nlink != 2 || !d.IsDir() {
		t.Errorf("new dir: nlink %d dir %v", d.Nlink, d.IsDir())
	}
	if got := resolve(t, s, "runs").Nlink; got != runs.Nlink+1 {
		t.Errorf("runs nlink %d after mkdir, want %d", got, runs.Nlink+1)
	}
	f := mkfile(t, s, d.Ino, "b.csv")
	mkfile(t, s, d.Ino, "a.json")
	l, err := s.Mknod(ctx, d.Ino, "link", backing.NewNode{Mode: syscall.S_IFLNK | 0o777, Target: "b.csv"})
	if err != nil || l.Size != 5 || l.Target != "b.csv" {
		t.Fatalf("symlink: %+v %v", l, err)
	}
	if _, err := s.Mknod(ctx, d.Ino, "b.csv", backing.NewNode{Mode: syscall.S_IFREG}); err == nil {
		t.Error("mknod over an existing name succeeded")
	} else {
		wantErr(t, "mknod existing", err, backing.ErrExists)
	}
	got, err := s.Lookup(ctx, d.Ino, "b.csv")
	if err != nil || got.Ino != f.Ino || !got.IsRegular() || got.Nlink != 1 {
		t.Errorf("lookup: %+v %v", got, err)
	}
	_, err = s.Lookup(ctx, d.Ino, "nope")
	wantErr(t, "lookup missing", err, backing.ErrNotFound)
	ents, err := s.ReadDir(ctx, d.Ino)
	if err != nil || len(ents) != 3 || ents[0].Name != "a.json" || ents[2].Name != "link" {
		t.Errorf("readdir: %+v %v", ents, err)
	}
	names, attrs, err := s.ReadDirPlus(ctx, d.Ino)
	if err != nil || len(names) != 3 || attrs[1].Ino != f.Ino {
		t.Errorf("readdirplus: %v %+v %v", names, attrs, err)
	}
	if p, err := s.Path(ctx, f.Ino); err != nil || p != "/runs/ds/b.csv" {
		t.Errorf("path: %q %v", p, err)
	}
	mustClean(t, s)
}

func TestNames(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	runs := resolve(t, s, "runs").Ino
	long := strings.Repeat("n", 255)
	if _, err := s.Mknod(ctx, runs, long, backing.NewNode{Mode: syscall.S_IFREG}); err != nil {
		t.Errorf("name of 255 bytes: %v", err)
	}
	_, err := s.Mknod(ctx, runs, long+"x", backing.NewNode{Mode: syscall.S_IFREG})
	wantErr(t, "name of 256 bytes", err, backing.ErrNameTooLong)
	for _, bad := range []string{"", ".", "..", "a/b", "/", "nul\x00"} {
		_, err := s.Mknod(ctx, runs, bad, backing.NewNode{Mode: syscall.S_IFREG})
		wantErr(t, "mknod "+bad, err, backing.ErrInvalid)
	}
	f := mkfile(t, s, runs, "f")
	_, err = s.Link(ctx, f.Ino, runs, "x/y")
	wantErr(t, "link with slash", err, backing.ErrInvalid)
	_, err = s.Rename(ctx, runs, "f", runs, "x/y", 0)
	wantErr(t, "rename to slash", err, backing.ErrInvalid)
	_, err = s.Rename(ctx, runs, "f", runs, long+"x", 0)
	wantErr(t, "rename to 256 bytes", err, backing.ErrNameTooLong)
	if _, err := s.Rename(ctx, runs, "f", runs, strings.Repeat("r", 255), 0); err != nil {
		t.Errorf("rename to 255 bytes: %v", err)
	}
	mustClean(t, s)
}

func TestLinkUnlinkRmdir(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	runs := resolve(t, s, "runs").Ino
	d := mkdir(t, s, runs, "d")
	f := backingtest.WriteFile(t, s, "runs/d/f", "hello")
	a, err := s.Link(ctx, f.Ino, runs, "g")
	if err != nil || a.Nlink != 2 {
		t.Fatalf("link: %+v %v", a, err)
	}
	_, err = s.Link(ctx, f.Ino, runs, "g")
	wantErr(t, "link over existing", err, backing.ErrExists)
	_, err = s.Link(ctx, d.Ino, runs, "d2")
	wantErr(t, "link a directory", err, backing.ErrPermission)
	mustClean(t, s)
	_, err = s.Unlink(ctx, runs, "d")
	wantErr(t, "unlink a directory", err, backing.ErrIsDir)
	err = s.Rmdir(ctx, runs, "g")
	wantErr(t, "rmdir a file", err, backing.ErrNotDir)
	err = s.Rmdir(ctx, runs, "d")
	wantErr(t, "rmdir non-empty", err, backing.ErrNotEmpty)
	if a, err = s.Unlink(ctx, d.Ino, "f"); err != nil || a.Nlink != 1 {
		t.Fatalf("unlink first name: %+v %v", a, err)
	}
	if got := readContent(t, s, "runs/g"); got != "hello" {
		t.Errorf("content through second link: %q", got)
	}
	_, err = s.Unlink(ctx, d.Ino, "f")
	wantErr(t, "unlink twice", err, backing.ErrNotFound)
	before := resolve(t, s, "runs").Nlink
	if err := s.Rmdir(ctx, runs, "d"); err != nil {
		t.Fatalf("rmdir: %v", err)
	}
	if got := resolve(t, s, "runs").Nlink; got != before-1 {
		t.Errorf("runs nlink %d after rmdir, want %d", got, before-1)
	}
	_, err = s.GetAttr(ctx, d.Ino)
	wantErr(t, "getattr removed dir", err, backing.ErrNotFound)
	mustClean(t, s)
}

func TestPinnedAndReadOnly(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	library := resolve(t, s, "library").Ino
	wantErr(t, "rmdir pinned", s.Rmdir(ctx, library, "templates"), backing.ErrPermission)
	_, err := s.Rename(ctx, library, "templates", library, "t2", 0)
	wantErr(t, "rename pinned", err, backing.ErrPermission)
	mkdir(t, s, library, "mine")
	_, err = s.Rename(ctx, library, "mine", library, "trained", 0)
	wantErr(t, "replace pinned", err, backing.ErrPermission)
	for _, p := range []string{"", "exports", "catalog/archives/filtered"} {
		dir := resolve(t, s, p).Ino
		_, err := s.Mknod(ctx, dir, "x", backing.NewNode{Mode: syscall.S_IFREG})
		wantErr(t, "create in /"+p, err, backing.ErrReadOnly)
	}
	wantErr(t, "rmdir in root", s.Rmdir(ctx, backing.RootIno, "runs"), backing.ErrReadOnly)
	_, err = s.Rename(ctx, library, "mine", resolve(t, s, "exports").Ino, "mine", 0)
	wantErr(t, "rename into exports", err, backing.ErrReadOnly)
	_, err = s.WriteFile(ctx, "catalog/reports/x.html", strings.NewReader("x"), 0o644, zeroTime)
	wantErr(t, "write into catalog", err, backing.ErrReadOnly)
	_, err = s.MkdirAll(ctx, "exports/new/deeper", 0o755)
	wantErr(t, "mkdir -p into exports", err, backing.ErrReadOnly)
	_, err = s.Symlink(ctx, "catalog/l", "x")
	wantErr(t, "symlink into catalog", err, backing.ErrReadOnly)
	err = s.SetXattr(ctx, resolve(t, s, "exports").Ino, "user.x", []byte("v"), 0)
	wantErr(t, "setxattr on exports", err, backing.ErrReadOnly)
	_, err = s.Link(ctx, backingtest.WriteFile(t, s, "runs/f", "x").Ino, resolve(t, s, "catalog").Ino, "f")
	wantErr(t, "link into catalog", err, backing.ErrReadOnly)
	if _, err := s.MkdirAll(ctx, "catalog/archives", 0o755); err != nil {
		t.Errorf("mkdir -p of existing read-only dirs: %v", err)
	}
	err = s.RemoveXattr(ctx, resolve(t, s, "exports").Ino, "user.x")
	wantErr(t, "removexattr on exports", err, backing.ErrReadOnly)
	mustClean(t, s)
}
