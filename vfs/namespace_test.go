package vfs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// Layer 3: names through the mount: unlink and rename of open files, hard
// links, symlinks, directories and the skeleton's protected places.

// waitPurged waits until the store no longer has node ino. FUSE RELEASE is
// sent after close(2) returns, so the purge may come a little later.
func waitPurged(t *testing.T, store *backing.Store, ino uint64) {
	t.Helper()
	var err error
	gone := waitFor(2*time.Second, func() bool {
		_, err = store.GetAttr(context.Background(), ino)
		return errors.Is(err, backing.ErrNotFound)
	})
	if !gone {
		t.Errorf("node %d still in the store after its last close: GetAttr err = %v", ino, err)
	}
}

func TestUnlinkWhileOpen(t *testing.T) {
	mnt, store := mountTest(t, Options{Passthrough: true})
	for _, size := range []int{100, 40 * kib, 200 * kib} {
		p := filepath.Join(mnt, "runs", "doomed")
		data := randBytes(20, size)
		writeFile(t, p, data)
		ino := inoOf(t, p)
		r, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(p); err != nil {
			t.Fatalf("unlink: %v", err)
		}
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("size %d: name still there after unlink: %v", size, err)
		}
		got := make([]byte, size+1)
		if n, _ := r.ReadAt(got, 0); n != size || string(got[:n]) != string(data) {
			t.Errorf("size %d: unlinked open file reads %d bytes, want its content", size, n)
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(int(r.Fd()), &st); err != nil || st.Nlink != 0 {
			t.Errorf("size %d: fstat of unlinked file: %v, nlink %d, want 0", size, err, st.Nlink)
		}
		if _, err := store.GetAttr(context.Background(), ino); err != nil {
			t.Errorf("size %d: node purged while still open: %v", size, err)
		}
		r.Close()
		waitPurged(t, store, ino)
	}
}

// A write handle of an unlinked file keeps working and its close commits
// to a node that is then purged.
func TestUnlinkWhileWriting(t *testing.T) {
	mnt, store := mountTest(t, Options{})
	p := filepath.Join(mnt, "runs", "w")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	ino := inoOf(t, p)
	if _, err := f.Write(randBytes(21, 50*kib)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	data := randBytes(22, 60*kib)
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatalf("write after unlink: %v", err)
	}
	got := make([]byte, len(data))
	if _, err := f.ReadAt(got, 0); err != nil || string(got) != string(data) {
		t.Fatalf("read after unlink: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close of unlinked file: %v", err)
	}
	waitPurged(t, store, ino)
}

func TestRenameOverOpenFile(t *testing.T) {
	mnt, store := mountTest(t, Options{Passthrough: true})
	src, dst := filepath.Join(mnt, "runs", "new"), filepath.Join(mnt, "runs", "cur")
	oldData, newData := randBytes(23, 150*kib), randBytes(24, 20*kib)
	writeFile(t, dst, oldData)
	writeFile(t, src, newData)
	oldIno := inoOf(t, dst)
	r, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(src, dst); err != nil {
		t.Fatalf("rename over open file: %v", err)
	}
	checkContent(t, dst, newData)
	if _, err := os.Lstat(src); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("source still there after rename: %v", err)
	}
	got := make([]byte, len(oldData))
	if n, err := r.ReadAt(got, 0); n != len(oldData) || string(got) != string(oldData) {
		t.Errorf("replaced open file reads %d bytes (%v), want its old content", n, err)
	}
	r.Close()
	waitPurged(t, store, oldIno)
	checkStored(t, store, dst, newData)
}

func TestHardLinks(t *testing.T) {
	mnt, store := mountTest(t, Options{Passthrough: true})
	a := filepath.Join(mnt, "runs", "a")
	if err := os.Mkdir(filepath.Join(mnt, "library", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(mnt, "library", "sub", "b")
	writeFile(t, a, randBytes(25, 40*kib))
	if err := os.Link(a, b); err != nil {
		t.Fatalf("link: %v", err)
	}
	var sa, sb syscall.Stat_t
	if err := syscall.Stat(a, &sa); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(b, &sb); err != nil {
		t.Fatal(err)
	}
	if sa.Ino != sb.Ino || sa.Nlink != 2 || sb.Nlink != 2 {
		t.Fatalf("after link: ino %d/%d nlink %d/%d, want one ino and nlink 2", sa.Ino, sb.Ino, sa.Nlink, sb.Nlink)
	}
	data := randBytes(26, 200*kib)
	writeFile(t, b, data)
	checkContent(t, a, data)
	checkStored(t, store, a, data)
	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Stat(b, &sb); err != nil || sb.Nlink != 1 {
		t.Errorf("after unlinking one name: %v, nlink %d, want 1", err, sb.Nlink)
	}
	checkContent(t, b, data)
	if err := os.Link(filepath.Join(mnt, "runs"), filepath.Join(mnt, "runs", "dirlink")); err == nil {
		t.Error("hard link to a directory succeeded")
	}
}

func TestSymlink(t *testing.T) {
	mnt, _ := mountTest(t, Options{})
	p := filepath.Join(mnt, "runs", "link")
	target := "../library/templates/x.yaml"
	if err := os.Symlink(target, p); err != nil {
		t.Fatalf("symlink: %v", err)
	}
	got, err := os.Readlink(p)
	if err != nil || got != target {
		t.Fatalf("readlink = %q, %v; want %q", got, err, target)
	}
	st, err := os.Lstat(p)
	if err != nil || st.Mode()&os.ModeSymlink == 0 || st.Size() != int64(len(target)) {
		t.Fatalf("lstat: %v, mode %v, size %d", err, st.Mode(), st.Size())
	}
	writeFile(t, filepath.Join(mnt, "library", "templates", "x.yaml"), []byte("k: v\n"))
	checkContent(t, p, []byte("k: v\n")) // followed by the kernel
	if err := os.Symlink("elsewhere", p); !errors.Is(err, os.ErrExist) {
		t.Errorf("symlink over an existing name: %v, want EEXIST", err)
	}
}

func TestMkdirRmdir(t *testing.T) {
	mnt, _ := mountTest(t, Options{})
	d := filepath.Join(mnt, "runs", "d")
	if err := os.Mkdir(d, 0o750); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(d); err != nil || !st.IsDir() || st.Mode().Perm() != 0o750 {
		t.Fatalf("stat new dir: %v, %v", err, st.Mode())
	}
	wantErrno(t, "mkdir existing", os.Mkdir(d, 0o755), syscall.EEXIST)
	writeFile(t, filepath.Join(d, "f"), []byte("x"))
	wantErrno(t, "rmdir non-empty", syscall.Rmdir(d), syscall.ENOTEMPTY)
	wantErrno(t, "rmdir a file", syscall.Rmdir(filepath.Join(d, "f")), syscall.ENOTDIR)
	wantErrno(t, "unlink a dir", syscall.Unlink(d), syscall.EISDIR, syscall.EPERM)
	if err := os.Remove(filepath.Join(d, "f")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Rmdir(d); err != nil {
		t.Fatalf("rmdir empty: %v", err)
	}
	if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dir still there after rmdir: %v", err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(mnt, "runs"), &st); err != nil || st.Nlink != 2 {
		t.Errorf("runs nlink after mkdir+rmdir: %v, %d, want 2", err, st.Nlink)
	}
}

// exports/ and catalog/ are computed places: nothing may be added there
// through the mount.
func TestReadOnlyPlaces(t *testing.T) {
	mnt, _ := mountTest(t, Options{})
	// The root itself takes nirs4all's own files (TestNativeRootFiles).
	for _, dir := range []string{"exports", "exports/best_predictions", "catalog", "catalog/reports"} {
		d := filepath.Join(mnt, dir)
		_, err := os.Create(filepath.Join(d, "f"))
		wantErrno(t, "create in /"+dir, err, syscall.EROFS)
		wantErrno(t, "mkdir in /"+dir, os.Mkdir(filepath.Join(d, "sub"), 0o755), syscall.EROFS)
		wantErrno(t, "symlink in /"+dir, os.Symlink("x", filepath.Join(d, "l")), syscall.EROFS)
	}
	src := filepath.Join(mnt, "runs", "f")
	writeFile(t, src, []byte("x"))
	wantErrno(t, "rename into exports", os.Rename(src, filepath.Join(mnt, "exports", "f")), syscall.EROFS)
	wantErrno(t, "link into catalog", os.Link(src, filepath.Join(mnt, "catalog", "f")), syscall.EROFS)
	wantErrno(t, "chmod exports", os.Chmod(filepath.Join(mnt, "exports"), 0o777), syscall.EROFS)
	wantErrno(t, "setxattr on catalog", syscall.Setxattr(filepath.Join(mnt, "catalog"), "user.x", []byte("1"), 0), syscall.EROFS)
}

// Skeleton folders are pinned. Directly under the root the read-only root
// may answer first (EROFS); inside writable library/ it must be EPERM.
func TestSkeletonPinned(t *testing.T) {
	mnt, _ := mountTest(t, Options{})
	for _, d := range []string{"runs", "library", "exports", "catalog"} {
		wantErrno(t, "rmdir /"+d, syscall.Rmdir(filepath.Join(mnt, d)), syscall.EPERM, syscall.EROFS)
	}
	for _, d := range []string{"library/templates", "library/trained"} {
		wantErrno(t, "rmdir /"+d, syscall.Rmdir(filepath.Join(mnt, d)), syscall.EPERM)
		wantErrno(t, "rename /"+d, os.Rename(filepath.Join(mnt, d), filepath.Join(mnt, "library", "moved")), syscall.EPERM)
	}
	for _, d := range []string{"runs", "library/templates", "library/trained/filtered"} {
		if st, err := os.Stat(filepath.Join(mnt, d)); err != nil || !st.IsDir() {
			t.Errorf("/%s gone after the refused changes: %v", d, err)
		}
	}
}
