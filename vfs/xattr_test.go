package vfs

import (
	"bytes"
	"crypto/sha256"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
)

// Layer 3: extended attributes and statfs through the mount.

// listXattr lists p's extended attributes, leaving out the computed
// user.n4ws.* ones (TestXattrComputedSHA256 checks those).
func listXattr(t *testing.T, p string) []string {
	t.Helper()
	n, err := unix.Listxattr(p, nil)
	if err != nil {
		t.Fatalf("listxattr size: %v", err)
	}
	buf := make([]byte, n)
	n, err = unix.Listxattr(p, buf)
	if err != nil {
		t.Fatalf("listxattr: %v", err)
	}
	var names []string
	for s := range strings.SplitSeq(string(buf[:n]), "\x00") {
		if s != "" && !strings.HasPrefix(s, catalog.XattrPrefix) {
			names = append(names, s)
		}
	}
	return names
}

func TestXattrUser(t *testing.T) {
	mnt, _ := mountTest(t, Options{})
	f := filepath.Join(mnt, "runs", "f")
	writeFile(t, f, []byte("x"))
	for _, p := range []string{f, filepath.Join(mnt, "runs")} {
		if names := listXattr(t, p); len(names) != 0 {
			t.Errorf("%s: fresh node lists %v", p, names)
		}
		big := bytes.Repeat([]byte("v"), 3000)
		if err := unix.Setxattr(p, "user.a", []byte("1"), 0); err != nil {
			t.Fatalf("setxattr: %v", err)
		}
		if err := unix.Setxattr(p, "user.big", big, 0); err != nil {
			t.Fatalf("setxattr big: %v", err)
		}
		if err := unix.Setxattr(p, "user.empty", nil, 0); err != nil {
			t.Fatalf("setxattr empty: %v", err)
		}
		// The size query (empty buffer) and a too-small buffer.
		if n, err := unix.Getxattr(p, "user.big", nil); err != nil || n != len(big) {
			t.Errorf("getxattr size: %d, %v; want %d", n, err, len(big))
		}
		_, err := unix.Getxattr(p, "user.big", make([]byte, 10))
		wantErrno(t, "getxattr small buffer", err, syscall.ERANGE)
		buf := make([]byte, 4096)
		if n, err := unix.Getxattr(p, "user.big", buf); err != nil || !bytes.Equal(buf[:n], big) {
			t.Errorf("getxattr big: %d, %v", n, err)
		}
		if n, err := unix.Getxattr(p, "user.empty", buf); err != nil || n != 0 {
			t.Errorf("getxattr empty: %d, %v", n, err)
		}
		// XATTR_CREATE on an existing name, XATTR_REPLACE on a missing one.
		wantErrno(t, "setxattr create existing", unix.Setxattr(p, "user.a", []byte("2"), unix.XATTR_CREATE), syscall.EEXIST)
		wantErrno(t, "setxattr replace missing", unix.Setxattr(p, "user.none", []byte("2"), unix.XATTR_REPLACE), syscall.ENODATA)
		if err := unix.Setxattr(p, "user.a", []byte("22"), unix.XATTR_REPLACE); err != nil {
			t.Errorf("setxattr replace: %v", err)
		}
		if n, err := unix.Getxattr(p, "user.a", buf); err != nil || string(buf[:n]) != "22" {
			t.Errorf("getxattr after replace: %q, %v", buf[:n], err)
		}
		if names := listXattr(t, p); !slices.Equal(names, []string{"user.a", "user.big", "user.empty"}) {
			t.Errorf("listxattr = %v", names)
		}
		if err := unix.Removexattr(p, "user.a"); err != nil {
			t.Errorf("removexattr: %v", err)
		}
		_, err = unix.Getxattr(p, "user.a", buf)
		wantErrno(t, "getxattr removed", err, syscall.ENODATA)
		wantErrno(t, "removexattr missing", unix.Removexattr(p, "user.a"), syscall.ENODATA)
		if names := listXattr(t, p); !slices.Equal(names, []string{"user.big", "user.empty"}) {
			t.Errorf("listxattr after remove = %v", names)
		}
	}
}

// Security labels and ACLs are not supported: EOPNOTSUPP, which ls and cp
// remember per file system instead of asking again for every file.
func TestXattrUnsupportedNamespaces(t *testing.T) {
	mnt, _ := mountTest(t, Options{})
	p := filepath.Join(mnt, "runs", "f")
	writeFile(t, p, []byte("x"))
	buf := make([]byte, 256)
	for _, name := range []string{"security.selinux", "security.capability", "system.posix_acl_access", "system.posix_acl_default", "trusted.x"} {
		_, err := unix.Getxattr(p, name, buf)
		wantErrno(t, "getxattr "+name, err, syscall.EOPNOTSUPP)
	}
	// The kernel validates capability and ACL values itself before asking
	// us, so only names whose values it passes through are set here.
	for _, name := range []string{"security.selinux", "trusted.x", "system.other"} {
		wantErrno(t, "setxattr "+name, unix.Setxattr(p, name, []byte("v"), 0), syscall.EOPNOTSUPP)
	}
	if names := listXattr(t, p); len(names) != 0 {
		t.Errorf("listxattr after refused sets = %v", names)
	}
}

// Removing an attribute of a namespace we do not support is refused like
// getting or setting it. The kernel forwards these names to us unchanged.
func TestRemovexattrUnsupportedNamespaces(t *testing.T) {
	mnt, _ := mountTest(t, Options{})
	p := filepath.Join(mnt, "runs", "f")
	writeFile(t, p, []byte("x"))
	for _, name := range []string{"security.selinux", "system.posix_acl_access", "trusted.x"} {
		wantErrno(t, "removexattr "+name, unix.Removexattr(p, name), syscall.EOPNOTSUPP)
	}
}

// Every regular file carries its content hash as a read-only computed
// attribute, also while a bare store is mounted (no catalog).
func TestXattrComputedSHA256(t *testing.T) {
	mnt, _ := mountTest(t, Options{})
	name := catalog.XattrPrefix + "sha256"
	for _, size := range []int{0, 100, 200 * kib} {
		p := filepath.Join(mnt, "runs", "f")
		data := randBytes(30, size)
		writeFile(t, p, data)
		buf := make([]byte, 128)
		n, err := unix.Getxattr(p, name, buf)
		if want := backing.Digest(sha256.Sum256(data)).String(); err != nil || string(buf[:n]) != want {
			t.Errorf("size %d: %s = %q, %v; want %s", size, name, buf[:n], err, want)
		}
		all, err := unix.Listxattr(p, buf)
		if err != nil || !slices.Contains(strings.Split(string(buf[:all]), "\x00"), name) {
			t.Errorf("size %d: listxattr %q (%v) lacks %s", size, buf[:all], err, name)
		}
		wantErrno(t, "setxattr "+name, unix.Setxattr(p, name, []byte("x"), 0), syscall.EPERM)
		wantErrno(t, "removexattr "+name, unix.Removexattr(p, name), syscall.EPERM)
	}
}

func TestStatfs(t *testing.T) {
	mnt, _ := mountTest(t, Options{})
	for _, p := range []string{mnt, filepath.Join(mnt, "runs")} {
		var st unix.Statfs_t
		if err := unix.Statfs(p, &st); err != nil {
			t.Fatalf("statfs %s: %v", p, err)
		}
		if st.Blocks == 0 || st.Bsize == 0 || st.Files == 0 {
			t.Errorf("statfs %s: blocks %d bsize %d files %d, want non-zero", p, st.Blocks, st.Bsize, st.Files)
		}
		if st.Namelen != 255 {
			t.Errorf("statfs %s: namelen %d, want 255", p, st.Namelen)
		}
		if st.Bavail > st.Blocks || st.Bfree > st.Blocks {
			t.Errorf("statfs %s: bavail %d bfree %d > blocks %d", p, st.Bavail, st.Bfree, st.Blocks)
		}
	}
}
