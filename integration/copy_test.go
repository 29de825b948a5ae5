//go:build linux

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Each test copies the awkward tree of makeTree into the mount with a tool,
// then back out, and compares both copies with the source twice: with
// `diff -r` (what a user runs) and with compareTrees (modes, ns mtimes,
// owners, symlink targets, hard links).

func TestCpA(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src)

	in := filepath.Join(mnt, "runs/ds/0001_x")
	run(t, "", "mkdir", "-p", in)
	run(t, "", "cp", "-a", src+"/.", in)
	run(t, "", "diff", "-r", "--no-dereference", src, in)
	compareTrees(t, src, in)

	out := filepath.Join(t.TempDir(), "out")
	run(t, "", "cp", "-a", in, out)
	run(t, "", "diff", "-r", "--no-dereference", src, out)
	compareTrees(t, src, out)
}

func TestTar(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	makeTree(t, src)

	// posix (pax) format keeps ns mtimes; gnu format would round to seconds.
	run(t, "", "tar", "--format=posix", "-cf", filepath.Join(tmp, "src.tar"), "-C", src, ".")
	in := filepath.Join(mnt, "runs/ds/0002_tar")
	run(t, "", "mkdir", "-p", in)
	run(t, "", "tar", "-xpf", filepath.Join(tmp, "src.tar"), "-C", in)
	run(t, "", "diff", "-r", "--no-dereference", src, in)
	compareTrees(t, src, in)

	// Reading back with tar also catches "file changed as we read it".
	run(t, "", "tar", "--format=posix", "-cf", filepath.Join(tmp, "back.tar"), "-C", in, ".")
	out := filepath.Join(tmp, "out")
	mkdirAll(t, out)
	run(t, "", "tar", "-xpf", filepath.Join(tmp, "back.tar"), "-C", out)
	run(t, "", "diff", "-r", "--no-dereference", src, out)
	compareTrees(t, src, out)
}

func TestRsync(t *testing.T) {
	if _, err := exec.LookPath("rsync"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("rsync missing under CI: .ci/run must install it")
		}
		t.Skip("rsync not in PATH (apt-get install rsync)")
	}
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	makeTree(t, src)

	in := filepath.Join(mnt, "runs/ds/0003_rsync")
	run(t, "", "mkdir", "-p", in)
	run(t, "", "rsync", "-aH", src+"/", in+"/")
	run(t, "", "diff", "-r", "--no-dereference", src, in)
	compareTrees(t, src, in)

	// An update run: rsync writes a temp file and renames it over the old
	// one, and --delete removes what is gone from the source.
	writeFile(t, filepath.Join(src, "a/four_k"), randBytes(99, 5000))
	if err := os.Remove(filepath.Join(src, "one_byte")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "a/b/new_file"), randBytes(98, 70_000))
	setDistinctTimes(t, src)
	run(t, "", "rsync", "-aH", "--delete", src+"/", in+"/")
	run(t, "", "diff", "-r", "--no-dereference", src, in)
	compareTrees(t, src, in)

	out := filepath.Join(tmp, "out")
	run(t, "", "rsync", "-aH", in+"/", out+"/")
	run(t, "", "diff", "-r", "--no-dereference", src, out)
	compareTrees(t, src, out)
}
