//go:build linux

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Hostile input through the mount and the CLI (issue 12): odd names, huge
// sparse files, very deep trees, symlinks that point out of the store, and
// zips built to escape or explode. Each gets correct behaviour or a clear
// error, never a crash of the mount (checkDaemonReports fails on a panic)
// or a write outside the store.

// namesScript creates files with hostile names through the mount and
// prints, per name, "ok" or the errno name.
const namesScript = `
import errno, os, sys
d = os.fsencode(sys.argv[1])
names = {
    "ctrl": b"ctl\x01\x02\x1b[31mred\x7f",
    "newline-tab": b"a\nb\tc\r",
    "invalid-utf8": b"bad\xff\xfe\xc3(.csv",
    "lone-surrogate": b"\xed\xa0\x80x",
    "name-255": b"N" * 255,
    "name-256": b"N" * 256,
    "dot-dot-like": b"..." ,
    "leading-dash": b"-rf",
}
os.makedirs(os.path.join(d, b"dirs"))
os.makedirs(os.path.join(d, b"moved"))
for key, name in names.items():
    try:
        with open(os.path.join(d, name), "wb") as f:
            f.write(key.encode())
        os.mkdir(os.path.join(d, b"dirs", name))
        os.rename(os.path.join(d, b"dirs", name), os.path.join(d, b"moved", name))
        print(key, "ok")
    except OSError as e:
        print(key, errno.errorcode.get(e.errno, e.errno))
listed = set(os.listdir(d))
for key, name in names.items():
    if name in listed:
        with open(os.path.join(d, name), "rb") as f:
            assert f.read() == key.encode(), key
        print("listed", key)
`

func TestHostileNames(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	pid := mountAt(t, store, mnt)
	dir := filepath.Join(mnt, "runs/names")
	mkdirAll(t, dir)
	out := py(t, namesScript, dir)
	want := map[string]string{"name-256": "ENAMETOOLONG"}
	got := map[string]string{}
	listed := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "listed" {
			listed[f[1]] = true
		} else if len(f) == 2 {
			got[f[0]] = f[1]
		}
	}
	for _, key := range []string{"ctrl", "newline-tab", "invalid-utf8", "lone-surrogate", "name-255", "name-256", "dot-dot-like", "leading-dash"} {
		w := want[key]
		if w == "" {
			w = "ok"
		}
		if got[key] != w {
			t.Errorf("name %s: %s, want %s", key, got[key], w)
		}
		if (w == "ok") != listed[key] {
			t.Errorf("name %s: listed %v after create %s", key, listed[key], got[key])
		}
	}
	// The names survive a remount byte for byte, and the CLI copes with them.
	unmount(t, store, mnt, pid)
	mountAt(t, store, mnt)
	py(t, `import os, sys
d = os.fsencode(sys.argv[1])
assert len(os.listdir(os.path.join(d, b"moved"))) == 7, os.listdir(os.path.join(d, b"moved"))
assert os.path.exists(os.path.join(d, b"bad\xff\xfe\xc3(.csv"))`, dir)
	n4ws(t, store, "status")
	n4ws(t, store, "runs", "list")
	n4ws(t, store, "fsck")
	n4ws(t, store, "gc")
	run(t, "", "rm", "-rf", dir)
	n4ws(t, store, "fsck")
}

// TestHostileSparseAndDeep: a sparse file (truncate -s 10G under make
// crash; N4WS_SPARSE_GB, 1 by default, because every byte of it is hashed
// at commit and by fsck) reads back zeros and does not choke fsck or gc; a 1,000-level deep tree can be
// made, read, listed, survives a remount and is removed with rm -rf.
func TestHostileSparseAndDeep(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	pid := mountAt(t, store, mnt)
	sparse := filepath.Join(mnt, "runs/big/sparse.bin")
	mkdirAll(t, filepath.Dir(sparse))
	gb := 1
	if v := os.Getenv("N4WS_SPARSE_GB"); v != "" {
		if _, err := fmt.Sscan(v, &gb); err != nil || gb < 1 {
			t.Fatalf("N4WS_SPARSE_GB=%q: want a positive number", v)
		}
	}
	slow(t, "truncate", "-s", fmt.Sprintf("%dG", gb), sparse)
	if size := fileSize(t, sparse); size != gb<<30 {
		t.Errorf("stat size %d, want %d GiB", size, gb)
	}
	out := run(t, "", "dd", "if="+sparse, "bs=4096", fmt.Sprintf("skip=%d", gb<<17), "count=2", "status=none")
	if len(out) != 8192 || strings.Trim(out, "\x00") != "" {
		t.Errorf("dd of 8 KiB at the middle read %d bytes, not all zero", len(out))
	}
	// Deep: 1,000 levels of "d" (a 2,000-byte path below the mount).
	deepRel := strings.Repeat("d/", 1000) + "leaf.txt"
	py(t, `import os, sys
os.mkdir(sys.argv[1])
os.chdir(sys.argv[1])
for _ in range(1000):  # one level at a time, relative: as tar or rsync do
    os.mkdir("d")
    os.chdir("d")
with open("leaf.txt", "w") as f:
    f.write("bottom\n")`, filepath.Join(mnt, "runs/deep"))
	if got := readFile(t, filepath.Join(mnt, "runs/deep", deepRel)); got != "bottom\n" {
		t.Errorf("deep leaf reads %q", got)
	}
	if n := strings.Count(sh(t, "find "+filepath.Join(mnt, "runs/deep")+" | wc -l"), "\n"); n != 1 {
		t.Errorf("find printed %d lines of count", n)
	}
	if got := strings.TrimSpace(sh(t, "find "+filepath.Join(mnt, "runs/deep")+" -type d | wc -l")); got != "1001" {
		t.Errorf("find -type d counts %s folders, want 1001", got)
	}
	unmount(t, store, mnt, pid)
	slow(t, n4wsBin, "--store", store, "fsck")
	slow(t, n4wsBin, "--store", store, "gc")
	n4ws(t, store, "status")
	mountAt(t, store, mnt)
	if got := readFile(t, filepath.Join(mnt, "runs/deep", deepRel)); got != "bottom\n" {
		t.Errorf("after remount the deep leaf reads %q", got)
	}
	if size := fileSize(t, sparse); size != gb<<30 {
		t.Errorf("after remount stat size %d, want %d GiB", size, gb)
	}
	run(t, "", "rm", "-rf", filepath.Join(mnt, "runs/deep"), filepath.Join(mnt, "runs/big"))
	n4ws(t, store, "fsck")
}

// slow runs a command that must succeed, with a time limit fit for
// hashing gigabytes on a busy machine.
func slow(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	t.Logf("%s %s: %v", filepath.Base(name), args[len(args)-1], time.Since(start).Round(time.Millisecond))
}
