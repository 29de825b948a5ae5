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

// TestLiveMigrateToTeam: `n4ws migrate` of a store nirs4all ran on (local
// to team) copies nirs4all's own files and the live projection's record,
// so that on the team store's mount nirs4all goes on with the same
// store.sqlite: the tree is the same, a new run is numbered after the old
// ones, and when nirs4all deletes its first run the folders it projected
// before the migration go.
func TestLiveMigrateToTeam(t *testing.T) {
	local := filepath.Join(t.TempDir(), "local")
	n4ws(t, local, "init")
	mnt := filepath.Join(t.TempDir(), "mnt")
	pid := mountAt(t, local, mnt)
	standin(t, mnt, "run", "--datasets", "wheat", "--pipelines", "2", "--run-name", "before")
	first := storePipelines(t, mnt)["wheat"]
	if !waitFor(20*time.Second, func() bool { return len(pipelineDirs(mnt, "wheat")) == len(first) && runEndShown(t, mnt, "wheat") }) {
		t.Fatalf("runs/wheat: %v, store.sqlite %d pipelines\n%s", pipelineDirs(mnt, "wheat"), len(first), logTail(local))
	}
	before := pipelineDirs(mnt, "wheat")
	dbSum := sha256sum(t, filepath.Join(mnt, "store.sqlite"))
	tree := filepath.Join(t.TempDir(), "wheat")
	run(t, "", "cp", "-r", filepath.Join(mnt, "runs/wheat"), tree)
	unmount(t, local, mnt, pid)

	team := teamStore(t, 1)[0]
	out := n4ws(t, local, "migrate", "--to", team)
	if !strings.Contains(out, "native files") {
		t.Errorf("n4ws migrate says nothing of nirs4all's files:\n%s", out)
	}
	tmnt := mountStore(t, team)
	if got := sha256sum(t, filepath.Join(tmnt, "store.sqlite")); got != dbSum {
		t.Errorf("store.sqlite on the team mount: sha256 %s, was %s", got, dbSum)
	}
	sameTree(t, tree, filepath.Join(tmnt, "runs/wheat"))

	standin(t, tmnt, "run", "--datasets", "wheat", "--pipelines", "1", "--no-refit", "--run-name", "after")
	if !waitFor(20*time.Second, func() bool { return len(pipelineDirs(tmnt, "wheat")) == len(before)+1 }) {
		t.Fatalf("after a run on the team mount: runs/wheat %v, want %v and one more\n%s", pipelineDirs(tmnt, "wheat"), before, logTail(team))
	}
	checkCreationOrder(t, "wheat", pipelineDirs(tmnt, "wheat"), storePipelines(t, tmnt)["wheat"])
	standin(t, tmnt, "delete", "--run-name", "before")
	if !waitFor(20*time.Second, func() bool { return len(pipelineDirs(tmnt, "wheat")) == 1 }) {
		t.Errorf("after nirs4all deleted the run projected before the migration: runs/wheat %v, want only the new run's folder\n%s",
			pipelineDirs(tmnt, "wheat"), logTail(team))
	}
}
