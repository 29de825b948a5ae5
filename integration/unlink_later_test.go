package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The mount answers the unlinks of rm first and writes them in batches
// (backing/unlink_later.go). What a user checks right after rm returns must
// already show them: the mount's own listing, a CLI command, and after an
// fsync of the folder, a kill -9 of the mount.

// trashFiles returns how many files the trash holds, as the CLI lists it.
func trashFiles(t *testing.T, store string) int {
	t.Helper()
	n := 0
	for _, it := range trashList(t, store) {
		n += it.Files
	}
	return n
}

func TestRmSeenAtOnceByMountAndCLI(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	dir := filepath.Join(mnt, "runs/ds/0001_x")
	sh(t, fmt.Sprintf(`mkdir -p %[1]s/sub && cd %[1]s && for i in $(seq 300); do echo $i > f$i; done && echo x > sub/y`, dir))
	// rm of the files alone: the folder's rmdir, a write that would write
	// the queue first, does not come after them.
	sh(t, fmt.Sprintf(`cd %s && rm f*`, dir))
	if got := trashFiles(t, store); got != 300 {
		t.Errorf("right after rm, the CLI lists %d files in the trash, want 300", got)
	}
	if out := run(t, dir, "ls", "-A"); out != "sub\n" {
		t.Errorf("ls after rm: %q, want only sub", out)
	}
	sh(t, fmt.Sprintf(`rm -rf %s`, dir))
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("stat after rm -rf: %v, want not found", err)
	}
	if got := trashFiles(t, store); got != 301 {
		t.Errorf("after rm -rf, the CLI lists %d files in the trash, want 301", got)
	}
	n4ws(t, store, "fsck")
}

// kill -9 of the mount right after rm: the unlinks before an fsync of
// their folder are all in the store (Sync writes the queue first, see
// TestUnlinkLaterWrittenBySync for the deterministic check); the others
// were either written or not, each removed file is back or in the trash,
// never lost, and the store is consistent.
func TestRmThenKill(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	pid := mountAt(t, store, mnt)
	synced := filepath.Join(mnt, "runs/ds/0001_synced")
	loose := filepath.Join(mnt, "runs/ds/0002_loose")
	sh(t, fmt.Sprintf(`for d in %s %s; do mkdir -p $d && for i in $(seq 100); do echo $i > $d/f$i; done; done`, synced, loose))
	// Both rm's, then the fsync of the first folder, then kill -9.
	sh(t, fmt.Sprintf(`rm %[1]s/f* && rm %[2]s/f* && python3 -c 'import os; fd = os.open("%[1]s", os.O_RDONLY); os.fsync(fd)'`, synced, loose))
	killDaemon(t, pid)
	mountAt(t, store, mnt)
	if out := run(t, synced, "ls", "-A"); out != "" {
		t.Errorf("after fsync of the folder and kill -9, it lists %q, want nothing", out)
	}
	left, err := os.ReadDir(loose)
	if err != nil {
		t.Fatal(err)
	}
	inTrash := trashFiles(t, store) - 100 // the synced folder's files are in it
	if len(left)+inTrash != 100 {
		t.Errorf("without fsync: %d files back and %d in the trash, want 100 together", len(left), inTrash)
	}
	t.Logf("without fsync: %d of 100 unlinks lost to kill -9", len(left))
	n4ws(t, store, "fsck")
}
