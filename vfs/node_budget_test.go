package vfs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A walk of a tree larger than the node budget leaves the mount knowing
// about the budget's worth of nodes, not the whole tree, and nothing a
// user can see changes: every file reads back its bytes, ls lists every
// name, a file held open across the trimming still writes and reads, and
// a hard-linked file keeps both names.
func TestNodeBudgetBoundsKnownNodes(t *testing.T) {
	for _, c := range []struct {
		name   string
		budget int
	}{{"budget 300", 300}, {"no budget", -1}} {
		t.Run(c.name, func(t *testing.T) { walkUnderBudget(t, c.budget) })
	}
}

func walkUnderBudget(t *testing.T, budget int) {
	var known atomic.Int64
	known.Store(-1)
	mnt, store := mountTest(t, Options{NodeBudget: budget, onTrim: func(n int) { known.Store(int64(n)) }})
	const folders, perFolder = 30, 60 // 1,800 files, 6x the budget
	runs := filepath.Join(mnt, "runs", "wheat")
	content := func(d, f int) []byte { return []byte(fmt.Sprintf("folder %d file %d\n", d, f)) }
	for d := range folders {
		dir := filepath.Join(runs, fmt.Sprintf("%04d_pls_abc", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range perFolder {
			writeFile(t, filepath.Join(dir, fmt.Sprintf("f%02d.csv", f)), content(d, f))
		}
	}
	first := filepath.Join(runs, "0000_pls_abc", "f00.csv")
	if err := os.Link(first, filepath.Join(runs, "hardlink.csv")); err != nil {
		t.Fatal(err)
	}
	held, err := os.OpenFile(filepath.Join(runs, "0001_pls_abc", "f00.csv"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	out, err := exec.Command("find", mnt, "-type", "f").Output()
	if err != nil {
		t.Fatalf("find: %v", err)
	}
	if n := strings.Count(string(out), "\n"); n < folders*perFolder {
		t.Fatalf("find lists %d files, want at least %d", n, folders*perFolder)
	}
	// The kernel forgets what it was told to asynchronously.
	bounded := waitFor(5*time.Second, func() bool { n := known.Load(); return n >= 0 && n <= int64(budget) })
	switch {
	case budget > 0 && !bounded:
		t.Fatalf("the mount knows %d nodes 5 s after the walk, budget %d", known.Load(), budget)
	case budget < 0 && known.Load() != -1:
		t.Fatalf("no budget, yet the budget was checked (%d nodes)", known.Load())
	}

	// Nothing visible changed.
	if _, err := held.WriteAt([]byte("changed while trimmed\n"), 0); err != nil {
		t.Fatalf("write to the held file: %v", err)
	}
	for d := range folders {
		dir := filepath.Join(runs, fmt.Sprintf("%04d_pls_abc", d))
		ls, err := exec.Command("ls", dir).Output()
		if err != nil || strings.Count(string(ls), "\n") != perFolder {
			t.Fatalf("ls %s: %d names (%v), want %d", dir, strings.Count(string(ls), "\n"), err, perFolder)
		}
		for f := range perFolder {
			want := content(d, f)
			if d == 1 && f == 0 {
				want = []byte("changed while trimmed\n")
			}
			got, err := exec.Command("cat", filepath.Join(dir, fmt.Sprintf("f%02d.csv", f))).Output()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("cat folder %d file %d: %q, %v; want %q", d, f, got, err, want)
			}
		}
	}
	if err := held.Close(); err != nil {
		t.Fatalf("close the held file: %v", err)
	}
	checkStored(t, store, filepath.Join(runs, "0001_pls_abc", "f00.csv"), []byte("changed while trimmed\n"))
	var st1, st2 os.FileInfo
	if st1, err = os.Stat(first); err == nil {
		st2, err = os.Stat(filepath.Join(runs, "hardlink.csv"))
	}
	if err != nil || !os.SameFile(st1, st2) {
		t.Fatalf("hard link after the walk: same file %v, %v", err == nil && os.SameFile(st1, st2), err)
	}
	checkContent(t, filepath.Join(runs, "hardlink.csv"), content(0, 0))
}
