//go:build linux

package integration

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// longName is 255 bytes, the NAME_MAX that every Linux tool expects.
var longName = strings.Repeat("L", 251) + ".bin"

// makeTree fills dir with the awkward cases that cp -a, tar and rsync must
// carry through the mount unchanged.
func makeTree(t testing.TB, dir string) {
	t.Helper()
	files := []struct {
		name string
		size int
		mode os.FileMode
	}{
		{"empty", 0, 0o644},
		{"one_byte", 1, 0o600},
		{"a/four_k", 4096, 0o755},
		{"a/b/three_m", 3 << 20, 0o444},
		{"a/b/c/deep.txt", 100, 0o640},
		{"with space/file with space.txt", 10, 0o644},
		{"ünïcödé/日本語.txt", 77, 0o644},
		{"new\nline", 5, 0o644},
		{longName, 12, 0o644},
		{"hard1", 3000, 0o644},
	}
	for i, f := range files {
		p := filepath.Join(dir, f.name)
		writeFile(t, p, randBytes(uint64(i+1), f.size))
		chmod(t, p, f.mode)
	}
	mkdirAll(t, filepath.Join(dir, "empty_dir"))
	// Sparse files made the way users make them.
	run(t, dir, "dd", "if=/dev/urandom", "of=sparse_dd", "bs=4096", "count=2", "seek=1000", "status=none")
	run(t, dir, "truncate", "-s", "20M", "sparse_truncate")
	symlinks := map[string]string{
		"link_rel":      "a/four_k",
		"a/b/link_up":   "../../one_byte",
		"link_dir":      "a/b",
		"link_abs":      "/etc/hostname",
		"link_dangling": "/nonexistent/n4ws/target",
	}
	for name, target := range symlinks {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Link(filepath.Join(dir, "hard1"), filepath.Join(dir, "a/hard2")); err != nil {
		t.Fatal(err)
	}
	chmod(t, filepath.Join(dir, "a/b"), 0o750)
	chmod(t, filepath.Join(dir, "a/b/c"), 0o700)
	setDistinctTimes(t, dir)
}

func chmod(t testing.TB, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// setDistinctTimes gives every entry below dir its own mtime with a non-zero
// nanosecond part, children before parents so creating nothing disturbs them.
func setDistinctTimes(t testing.TB, dir string) {
	t.Helper()
	var paths []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != dir {
			paths = append(paths, p)
		}
		return err
	})
	slices.Reverse(paths)
	for i, p := range paths {
		ts := []unix.Timespec{
			{Sec: 1_500_000_000 + int64(i)*3600, Nsec: 111_111_111},
			{Sec: 1_600_000_000 + int64(i)*86_400, Nsec: int64(123_456_789 + i)},
		}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatalf("utimensat %s: %v", p, err)
		}
	}
}

// entry is what a user would compare between two copies of one file.
type entry struct {
	typ         fs.FileMode
	perm        uint32
	size        int64
	mtime       int64 // ns
	uid, gid    uint32
	sum, target string
	ino, nlink  uint64
}

// scanTree lstat's every entry below root (root itself excluded).
func scanTree(t testing.TB, root string) map[string]entry {
	t.Helper()
	tree := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		e := entry{
			typ: d.Type(), perm: st.Mode & 0o7777, size: st.Size,
			mtime: st.Mtim.Nano(), uid: st.Uid, gid: st.Gid, ino: st.Ino, nlink: uint64(st.Nlink),
		}
		switch {
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.sum = sha(b)
			if int64(len(b)) != st.Size {
				t.Errorf("%s: stat size %d but read %d bytes", p, st.Size, len(b))
			}
		case d.Type()&fs.ModeSymlink != 0:
			if e.target, err = os.Readlink(p); err != nil {
				return err
			}
			e.perm, e.size = 0, 0 // not meaningful for symlinks
		case d.IsDir():
			e.size, e.nlink = 0, 0 // file-system specific
		}
		rel, _ := filepath.Rel(root, p)
		tree[rel] = e
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return tree
}

// compareTrees fails the test on any difference in names, types, modes,
// sizes, content, ns mtimes, owners, symlink targets or hard-link identity.
func compareTrees(t testing.TB, want, got string) {
	t.Helper()
	w, g := scanTree(t, want), scanTree(t, got)
	for name := range w {
		if _, ok := g[name]; !ok {
			t.Errorf("%s: missing %q", got, name)
		}
	}
	for name := range g {
		if _, ok := w[name]; !ok {
			t.Errorf("%s: unexpected %q", got, name)
		}
	}
	// Hard links: source and copy inodes must map one-to-one.
	copyOf := map[uint64]uint64{} // source inode -> copy inode
	srcOf := map[uint64]uint64{}  // copy inode -> source inode
	for _, name := range slices.Sorted(maps.Keys(w)) {
		we, ge := w[name], g[name]
		if _, ok := g[name]; !ok {
			continue
		}
		if we.typ != ge.typ || we.perm != ge.perm || we.size != ge.size || we.sum != ge.sum ||
			we.target != ge.target || we.uid != ge.uid || we.gid != ge.gid {
			t.Errorf("%q differs:\nwant %+v\n got %+v", name, we, ge)
		}
		if we.mtime != ge.mtime {
			t.Errorf("%q: mtime %d ns, want %d ns", name, ge.mtime, we.mtime)
		}
		if !we.typ.IsRegular() {
			continue
		}
		if we.nlink != ge.nlink {
			t.Errorf("%q: nlink %d, want %d", name, ge.nlink, we.nlink)
		}
		if c, ok := copyOf[we.ino]; ok && c != ge.ino {
			t.Errorf("%q: hard link lost (inode %d, its other name has %d)", name, ge.ino, c)
		}
		if s, ok := srcOf[ge.ino]; ok && s != we.ino {
			t.Errorf("%q: shares inode %d with an unrelated file", name, ge.ino)
		}
		copyOf[we.ino], srcOf[ge.ino] = ge.ino, we.ino
	}
}
