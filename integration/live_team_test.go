//go:build linux

package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLiveTeamStore runs nirs4all (the stand-in) at the root of one mount
// of a team store (PostgreSQL index, S3 blobs) and checks what each
// machine sees. The projected runs/ folders are in the shared index: the
// second mount lists them, byte for byte, with their _binaries/ (and
// artifacts/, stored too). nirs4all's own files (store.sqlite, arrays/,
// logs/) stay on the machine that ran it: the second mount has its own,
// empty store.sqlite. Then nirs4all runs on the second machine too, on the
// same dataset: its pipelines are numbered after the first machine's, and
// neither machine's projection removes the other's folders (a pipeline
// missing from this machine's store.sqlite was not deleted by nirs4all).
func TestLiveTeamStore(t *testing.T) {
	stores := teamStore(t, 2)
	mntA, mntB := mountStore(t, stores[0]), mountStore(t, stores[1])
	standin(t, mntA, "run", "--datasets", "wheat", "--pipelines", "2", "--run-name", "on_a")
	fromA := storePipelines(t, mntA)["wheat"]
	if !waitFor(30*time.Second, func() bool { return len(pipelineDirs(mntA, "wheat")) == len(fromA) && runEndShown(t, mntA, "wheat") }) {
		t.Fatalf("mount A: runs/wheat %v, store.sqlite %d pipelines\n%s", pipelineDirs(mntA, "wheat"), len(fromA), logTail(stores[0]))
	}
	checkCreationOrder(t, "wheat", pipelineDirs(mntA, "wheat"), fromA)
	foldersA := pipelineDirs(mntA, "wheat")
	seenWithin(t, 10*time.Second, "A's projected folders on mount B", func() bool {
		return slices.Equal(pipelineDirs(mntB, "wheat"), foldersA)
	})
	sameTree(t, filepath.Join(mntA, "runs/wheat"), filepath.Join(mntB, "runs/wheat"))
	sameTree(t, filepath.Join(mntA, "artifacts"), filepath.Join(mntB, "artifacts"))

	// nirs4all's own files are A's alone.
	if fi, err := os.Stat(filepath.Join(mntB, "store.sqlite")); err != nil || fi.Size() != 0 {
		t.Errorf("mount B's store.sqlite: %v, want its own empty file", err)
	}
	for _, name := range []string{"arrays", "logs"} {
		if _, err := os.Stat(filepath.Join(mntA, name)); err != nil {
			t.Errorf("mount A: %v", err)
		}
		if _, err := os.Stat(filepath.Join(mntB, name)); !os.IsNotExist(err) {
			t.Errorf("mount B has %s/ (%v): nirs4all's own files should stay on the machine that ran it", name, err)
		}
	}

	// nirs4all on machine B, same dataset.
	standin(t, mntB, "run", "--datasets", "wheat", "--pipelines", "2", "--run-name", "on_b")
	fromB := storePipelines(t, mntB)["wheat"]
	want := len(fromA) + len(fromB)
	for _, mnt := range []string{mntA, mntB} {
		if !waitFor(30*time.Second, func() bool { return len(pipelineDirs(mnt, "wheat")) == want }) {
			t.Fatalf("%s: runs/wheat %v, want A's %d and B's %d pipelines\n%s%s", mnt, pipelineDirs(mnt, "wheat"),
				len(fromA), len(fromB), logTail(stores[0]), logTail(stores[1]))
		}
	}
	// Both projections have had passes since B's run: A's folders are all
	// still there, B's come after them, in B's creation order.
	time.Sleep(3 * time.Second)
	got := pipelineDirs(mntA, "wheat")
	if !slices.Equal(got[:len(foldersA)], foldersA) {
		t.Errorf("after B's run, runs/wheat %v: A's folders %v changed", got, foldersA)
	}
	checkCreationOrder(t, "wheat", got, append(slices.Clone(fromA), fromB...))
	sameTree(t, filepath.Join(mntA, "runs/wheat"), filepath.Join(mntB, "runs/wheat"))
	n4ws(t, stores[0], "fsck")
}

// sameTree: diff -r of two folders (the same tree through two mounts).
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	if out, err := exe("", "diff", "-r", a, b); err != nil {
		t.Errorf("diff -r %s %s: %v\n%s", a, b, err, strings.TrimSpace(out))
	}
}
