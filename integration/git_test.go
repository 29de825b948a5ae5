//go:build linux

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// git clone into the mount and back out: git creates, renames, links and
// locks many small files (objects, refs, index.lock -> index), so it
// exercises the write path the way a user's tools do. The clone must
// verify, its work tree must equal the source, and a clone back out of
// the mount must too.
func TestGitClone(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("git not in PATH")
		}
		t.Skip("git not in PATH")
	}
	t.Parallel()
	mnt := mountStore(t, newStore(t))
	src := filepath.Join(t.TempDir(), "src")
	makeGitRepo(t, src)

	in := filepath.Join(mnt, "runs", "code", "repo")
	mkdirAll(t, filepath.Dir(in))
	run(t, "", "git", "clone", "-q", src, in)
	run(t, "", "git", "-C", in, "fsck", "--strict")
	if out := run(t, "", "git", "-C", in, "status", "--porcelain"); strings.TrimSpace(out) != "" {
		t.Fatalf("clone in the mount is not clean:\n%s", out)
	}
	run(t, "", "diff", "-r", "--exclude=.git", src, in)

	// Commit inside the mount (index.lock, object writes, ref update).
	writeFile(t, filepath.Join(in, "notes.txt"), []byte("written in the mount\n"))
	run(t, "", "git", "-C", in, "add", "notes.txt")
	run(t, "", "git", "-C", in, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-q", "-m", "in mount")
	run(t, "", "git", "-C", in, "fsck", "--strict")

	out := filepath.Join(t.TempDir(), "out")
	run(t, "", "git", "clone", "-q", in, out)
	run(t, "", "git", "-C", out, "fsck", "--strict")
	run(t, "", "diff", "-r", "--exclude=.git", in, out)
	if got, want := run(t, "", "git", "-C", out, "rev-parse", "HEAD"), run(t, "", "git", "-C", in, "rev-parse", "HEAD"); got != want {
		t.Fatalf("HEAD out of the mount %s, in the mount %s", got, want)
	}
}

// makeGitRepo makes a repository with a few commits, a subfolder, an
// executable file and a symlink.
func makeGitRepo(t *testing.T, dir string) {
	t.Helper()
	mkdirAll(t, filepath.Join(dir, "sub"))
	git := func(args ...string) {
		run(t, "", "git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org"}, args...)...)
	}
	run(t, "", "git", "init", "-q", dir)
	for i, name := range []string{"a.txt", "sub/b.csv", "sub/model.bin"} {
		writeFile(t, filepath.Join(dir, name), randBytes(uint64(70+i), 3000*(i+1)))
		git("add", name)
		git("commit", "-q", "-m", "add "+name)
	}
	writeFile(t, filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho hi\n"))
	if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/b.csv", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	git("add", "run.sh", "link")
	git("commit", "-q", "-m", "script and link")
}
