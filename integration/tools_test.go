//go:build linux

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestMv(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	at := func(p string) string { return filepath.Join(mnt, "runs/ds", p) }
	local := t.TempDir()
	run(t, "", "mkdir", "-p", at("0001_a/sub/deeper"), at("0002_b"), at("empty"))
	writeFile(t, at("0001_a/f1"), []byte("one"))
	writeFile(t, at("0001_a/sub/deeper/f2"), []byte("two"))
	writeFile(t, at("0001_a/old"), []byte("old content"))

	run(t, "", "mv", at("0001_a/f1"), at("0001_a/renamed"))                         // within a folder
	run(t, "", "mv", at("0001_a/renamed"), at("0002_b/moved"))                      // across folders
	run(t, "", "mv", at("0001_a/sub"), at("0002_b/"))                               // folder across folders
	run(t, "", "mv", at("0002_b/sub"), at("0002_b/sub2"))                           // folder rename
	run(t, "", "mv", at("0002_b/moved"), filepath.Join(mnt, "library/templates/t")) // runs -> library
	wantContent(t, filepath.Join(mnt, "library/templates/t"), "one")
	wantContent(t, at("0002_b/sub2/deeper/f2"), "two")
	for _, gone := range []string{"0001_a/f1", "0001_a/renamed", "0002_b/moved", "0001_a/sub", "0002_b/sub"} {
		wantGone(t, at(gone))
	}

	// mv onto an existing file replaces it, keeping the moved file's inode (ls -i).
	writeFile(t, at("0001_a/new"), []byte("new content"))
	ino := run(t, "", "stat", "-c", "%i", at("0001_a/new"))
	run(t, "", "mv", at("0001_a/new"), at("0001_a/old"))
	wantContent(t, at("0001_a/old"), "new content")
	wantGone(t, at("0001_a/new"))
	if got := run(t, "", "stat", "-c", "%i", at("0001_a/old")); got != ino {
		t.Errorf("inode after rename-over: %s, want %s", got, ino)
	}

	// A folder replaces an empty one, but not a non-empty one.
	run(t, "", "mv", "-T", at("0002_b/sub2"), at("empty"))
	wantContent(t, at("empty/deeper/f2"), "two")
	run(t, "", "mkdir", at("other"))
	out, _ := runFail(t, "", "mv", "-T", at("other"), at("0001_a"))
	wantOneOf(t, "mv -T onto a non-empty folder", out, "Directory not empty", "File exists")
	wantContent(t, at("0001_a/old"), "new content")

	// Across file systems: out of the mount and back in (copy + unlink).
	run(t, "", "mv", at("0001_a/old"), local+"/")
	wantContent(t, filepath.Join(local, "old"), "new content")
	wantGone(t, at("0001_a/old"))
	run(t, "", "mv", filepath.Join(local, "old"), at("0001_a/back"))
	wantContent(t, at("0001_a/back"), "new content")
}

func TestRmRfLargeTree(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	src := filepath.Join(t.TempDir(), "big")
	for d := 0; d < 20; d++ {
		for f := 0; f < 100; f++ {
			writeFile(t, filepath.Join(src, fmt.Sprintf("d%02d/f%03d.csv", d, f)), []byte(fmt.Sprintf("%d,%d\n", d, f)))
		}
	}
	runs := filepath.Join(mnt, "runs")
	run(t, "", "cp", "-r", src, filepath.Join(runs, "big"))
	if n := atoi(sh(t, "find "+runs+" -type f | wc -l")); n != 2000 {
		t.Errorf("find runs -type f | wc -l = %d, want 2000", n)
	}
	if n := atoi(sh(t, "find "+runs+" -type d | wc -l")); n != 22 {
		t.Errorf("find runs -type d | wc -l = %d, want 22", n)
	}
	if st := stats(t, store); st["files"] < 2000 {
		t.Errorf("stats files = %v after creating 2000 files", st["files"])
	}
	run(t, "", "rm", "-rf", filepath.Join(runs, "big"))
	if out := run(t, "", "find", runs, "-mindepth", "1"); out != "" {
		t.Errorf("find after rm -rf still shows:\n%.500s", out)
	}
	if st := stats(t, store); st["files"] != 0 {
		t.Errorf("stats files = %v after rm -rf, want 0", st["files"])
	}
}

// TestDDTruncate writes 64 MiB with dd, patches it in place with dd
// conv=notrunc and resizes it with truncate, doing the same to a local copy
// and comparing sha256sum after every step.
func TestDDTruncate(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	local := filepath.Join(t.TempDir(), "big.bin")
	inMnt := filepath.Join(mnt, "runs/ds/0001_dd/big.bin")
	run(t, "", "mkdir", "-p", filepath.Dir(inMnt))

	sh(t, fmt.Sprintf("dd if=/dev/urandom bs=1M count=64 status=none | tee %s | dd of=%s bs=1M iflag=fullblock status=none", local, inMnt))
	same := func(step string, size int64) {
		t.Helper()
		if got, want := sha256sum(t, inMnt), sha256sum(t, local); got != want {
			t.Fatalf("after %s: sha256 in mount %s, source %s", step, got, want)
		}
		if got := run(t, "", "stat", "-c", "%s", inMnt); strings.TrimSpace(got) != strconv.FormatInt(size, 10) {
			t.Fatalf("after %s: size %s, want %d", step, strings.TrimSpace(got), size)
		}
	}
	same("dd 64 MiB", 64<<20)

	patch := filepath.Join(t.TempDir(), "patch")
	run(t, "", "dd", "if=/dev/urandom", "of="+patch, "bs=4096", "count=3", "status=none")
	for _, f := range []string{local, inMnt} {
		run(t, "", "dd", "if="+patch, "of="+f, "bs=4096", "seek=2561", "conv=notrunc", "status=none")
		sh(t, "printf XYZ | dd of="+f+" bs=1 seek=12345 conv=notrunc status=none")
	}
	same("dd conv=notrunc", 64<<20)

	for _, size := range []string{"70M", "1M", "+5000", "4097", "0", "3M"} {
		for _, f := range []string{local, inMnt} {
			run(t, "", "truncate", "-s", size, f)
		}
		fi, err := os.Stat(local)
		if err != nil {
			t.Fatal(err)
		}
		same("truncate -s "+size, fi.Size())
	}
}

func wantContent(t testing.TB, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("read %s: %v", path, err)
	} else if string(b) != want {
		t.Errorf("%s: got %q, want %q", path, b, want)
	}
}

func wantGone(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("%s should not exist (err=%v)", path, err)
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return -1
	}
	return n
}

// stats runs `n4ws stats --json` and returns its numeric fields.
func stats(t testing.TB, store string) map[string]float64 {
	t.Helper()
	out := stdout(t, n4wsBin, "--store", store, "stats", "--json")
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("n4ws stats --json is not a JSON object: %v\n%s", err, out)
	}
	st := map[string]float64{}
	for _, k := range []string{"files", "dirs", "symlinks", "logical_bytes", "stored_bytes", "blobs", "dedup_ratio"} {
		v, ok := raw[k].(float64)
		if !ok {
			t.Fatalf("n4ws stats --json: key %q missing or not a number in %s", k, out)
		}
		st[k] = v
	}
	return st
}
