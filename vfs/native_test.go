package vfs

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"

	"github.com/n4ws/n4ws/backing"
)

// changeLog records OnNativeChange calls.
type changeLog struct {
	mu   sync.Mutex
	rels []string
}

func (c *changeLog) note(rel string) {
	c.mu.Lock()
	c.rels = append(c.rels, rel)
	c.mu.Unlock()
}

// has reports whether rel was noted since the last reset, and resets.
func (c *changeLog) take(rel string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	ok := slices.Contains(c.rels, rel)
	c.rels = nil
	return ok
}

// TestNativeRootFiles: files and folders made at the root (other than
// artifacts/) are ordinary files in the native folder, numbered apart from
// the index, and every change is reported to OnNativeChange.
func TestNativeRootFiles(t *testing.T) {
	for _, pt := range []bool{true, false} {
		t.Run(map[bool]string{true: "passthrough", false: "no-passthrough"}[pt], func(t *testing.T) {
			changes := &changeLog{}
			mnt, store, log := mountTestLog(t, Options{Passthrough: pt, OnNativeChange: changes.note})
			t.Logf("kernel passthrough: %v", log.kernelPassthrough())
			at := func(p string) string { return filepath.Join(mnt, p) }

			f, err := os.OpenFile(at("store.sqlite-wal"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			if !changes.take("store.sqlite-wal") {
				t.Errorf("create reported no change")
			}
			if _, err := f.Write([]byte("frame one")); err != nil {
				t.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			if !changes.take("store.sqlite-wal") {
				t.Errorf("fsync reported no change")
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if !changes.take("store.sqlite-wal") {
				t.Errorf("close of a writer reported no change")
			}
			checkContent(t, filepath.Join(store.NativeDir(), "store.sqlite-wal"), []byte("frame one"))
			if ino := inoOf(t, at("store.sqlite-wal")); ino&nativeInoBit == 0 {
				t.Errorf("native inode number %#x lacks bit 63", ino)
			}

			if err := os.MkdirAll(at("arrays"), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, at("arrays/ds.parquet.tmp"), []byte("PAR1"))
			changes.take("")
			if err := os.Rename(at("arrays/ds.parquet.tmp"), at("arrays/ds.parquet")); err != nil {
				t.Fatal(err)
			}
			if !changes.take("arrays/ds.parquet") {
				t.Errorf("rename reported no change of the new name")
			}
			if err := os.Remove(at("store.sqlite-wal")); err != nil {
				t.Fatal(err)
			}
			if !changes.take("store.sqlite-wal") {
				t.Errorf("unlink reported no change")
			}
			checkContent(t, filepath.Join(store.NativeDir(), "arrays/ds.parquet"), []byte("PAR1"))

			// artifacts/ is stored (content-addressed), everything else native.
			if err := os.MkdirAll(at("artifacts/ab"), 0o755); err != nil {
				t.Fatal(err)
			}
			if _, err := store.Lookup(context.Background(), backing.RootIno, "artifacts"); err != nil {
				t.Errorf("artifacts/ is not in the index: %v", err)
			}
			if _, err := os.Stat(filepath.Join(store.NativeDir(), "artifacts")); !os.IsNotExist(err) {
				t.Errorf("artifacts/ in the native folder: %v", err)
			}
			names, err := os.ReadDir(mnt)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, de := range names {
				got = append(got, de.Name())
			}
			slices.Sort(got)
			want := []string{"arrays", "artifacts", "catalog", "exports", "library", "runs", "store.sqlite"}
			if !slices.Equal(got, want) {
				t.Errorf("root lists %q, want %q", got, want)
			}
		})
	}
}

// TestNativeCrossRename: moves between the native tree and the index are
// EXDEV (mv then copies); the pinned skeleton still refuses with EPERM.
func TestNativeCrossRename(t *testing.T) {
	mnt, _ := mountTest(t, Options{Passthrough: true})
	at := func(p string) string { return filepath.Join(mnt, p) }
	writeFile(t, at("native.txt"), []byte("n"))
	writeFile(t, at("runs/stored.txt"), []byte("s"))
	if err := os.MkdirAll(at("logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(at("artifacts"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]string{
		{"native.txt", "runs/native.txt"},
		{"runs/stored.txt", "stored.txt"},
		{"runs/stored.txt", "logs/stored.txt"},
		{"native.txt", "artifacts/native.txt"},
		{"artifacts", "artifacts.old"},
	} {
		wantErrno(t, "rename "+c[0]+" "+c[1], os.Rename(at(c[0]), at(c[1])), syscall.EXDEV)
	}
	wantErrno(t, "link runs/stored.txt logs/x", os.Link(at("runs/stored.txt"), at("logs/x")), syscall.EXDEV)
	wantErrno(t, "link native.txt runs/x", os.Link(at("native.txt"), at("runs/x")), syscall.EXDEV)
	wantErrno(t, "rename runs x", os.Rename(at("runs"), at("x")), syscall.EPERM)
	wantErrno(t, "rename library/templates logs/t", os.Rename(at("library/templates"), at("logs/t")), syscall.EPERM)
	if err := os.Rename(at("native.txt"), at("logs/moved.txt")); err != nil {
		t.Errorf("rename within the native tree: %v", err)
	}
	checkContent(t, at("logs/moved.txt"), []byte("n"))
	wantErrno(t, "create runs", syscall.Mkdir(at("runs"), 0o755), syscall.EEXIST)
	wantErrno(t, "mkdir exports", syscall.Mkdir(at("exports"), 0o755), syscall.EEXIST)
}

// TestNativePosix: the usual POSIX operations on native files behave as on
// the backing disk.
func TestNativePosix(t *testing.T) {
	mnt, store := mountTest(t, Options{Passthrough: true})
	at := func(p string) string { return filepath.Join(mnt, p) }
	if err := os.MkdirAll(at("outputs/a/b"), 0o750); err != nil {
		t.Fatal(err)
	}
	writeFile(t, at("outputs/a/b/f"), []byte("hello"))
	if err := os.Symlink("a/b/f", at("outputs/link")); err != nil {
		t.Fatal(err)
	}
	checkContent(t, at("outputs/link"), []byte("hello"))
	if err := os.Link(at("outputs/a/b/f"), at("outputs/hard")); err != nil {
		t.Fatal(err)
	}
	if inoOf(t, at("outputs/hard")) != inoOf(t, at("outputs/a/b/f")) {
		t.Errorf("hard links have different inode numbers")
	}
	var st syscall.Stat_t
	if err := syscall.Stat(at("outputs/hard"), &st); err != nil || st.Nlink != 2 {
		t.Errorf("nlink of a hard-linked native file: %d (%v), want 2", st.Nlink, err)
	}
	if err := os.Chmod(at("outputs/hard"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(at("outputs/hard"), 2); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(store.NativeDir(), "outputs/a/b/f")); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 2 {
		t.Errorf("backing file after chmod 600 + truncate 2: %v %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(store.NativeDir(), "outputs/a")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("mkdir 0750 gave %v (%v)", fi.Mode(), err)
	}
	if err := syscall.Setxattr(at("outputs/hard"), "user.k", []byte("v"), 0); err != nil {
		t.Fatalf("setxattr user.k: %v", err)
	}
	buf := make([]byte, 16)
	if n, err := syscall.Getxattr(at("outputs/a/b/f"), "user.k", buf); err != nil || string(buf[:n]) != "v" {
		t.Errorf("getxattr user.k: %q %v", buf[:n], err)
	}
	_, err := syscall.Getxattr(at("outputs/hard"), "security.capability", buf)
	wantErrno(t, "getxattr security.capability", err, syscall.EOPNOTSUPP)
	wantErrno(t, "setxattr trusted.x", syscall.Setxattr(at("outputs/hard"), "trusted.x", []byte("v"), 0), syscall.EOPNOTSUPP)
	if n, err := syscall.Listxattr(at("outputs/hard"), buf); err != nil || string(buf[:n]) != "user.k\x00" {
		t.Errorf("listxattr: %q %v", buf[:n], err)
	}
	if err := os.RemoveAll(at("outputs")); err != nil {
		t.Fatalf("rm -rf outputs: %v", err)
	}
	if _, err := os.Stat(filepath.Join(store.NativeDir(), "outputs")); !os.IsNotExist(err) {
		t.Errorf("outputs/ still in the native folder: %v", err)
	}
}
