//go:build linux

package integration

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// trashItemJSON is one row of `n4ws trash list --json`.
type trashItemJSON struct {
	ID           uint64    `json:"id"`
	Path         string    `json:"path"`
	Whole        bool      `json:"whole"`
	Files        int       `json:"files"`
	LogicalBytes int64     `json:"logical_bytes"`
	Deleted      time.Time `json:"deleted"`
	Expires      time.Time `json:"expires"`
}

func trashList(t *testing.T, store string) []trashItemJSON {
	t.Helper()
	var items []trashItemJSON
	n4wsJSON(t, store, &items, "trash", "list", "--json")
	return items
}

// treeSums lists "sha256  ./path" for every file below dir, sorted: two
// trees with the same names and contents give the same text.
func treeSums(t *testing.T, dir string) string {
	t.Helper()
	return sh(t, "cd '"+dir+"' && find . -type f -print0 | sort -z | xargs -0 sha256sum")
}

// catalogRow returns pipeline pid's row of `n4ws catalog list ds --all`.
func catalogRow(t *testing.T, store, ds, pid string) listRowJSON {
	t.Helper()
	var rows []listRowJSON
	n4wsJSON(t, store, &rows, "catalog", "list", ds, "--all", "--json")
	for _, r := range rows {
		if r.Pipeline == pid {
			return r
		}
	}
	t.Fatalf("catalog list %s --all has no %s: %+v", ds, pid, rows)
	return listRowJSON{}
}

// TestTrashRmRfPipelineRestore: rm -rf of a pipeline folder through the
// mount puts it in the trash; n4ws trash restore brings it back with the
// same names and bytes (sha256sum through the mount), the catalog marks it
// deleted and then live again, and a taken place is refused clearly.
func TestTrashRmRfPipelineRestore(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	landDataset(t, mnt, "ds", threeSpecs...)
	ds := filepath.Join(mnt, "runs/ds")
	pipe := filepath.Join(ds, "0002_b_x2") // the best one
	writeFile(t, filepath.Join(pipe, "outputs/plots/model.bin"), randBytes(7, 300_000))
	run(t, "", "chmod", "640", filepath.Join(pipe, "metrics.json"))
	wantBest(t, ds, "0002_b_x2", filepath.Join(pipe, "predictions.csv")) // the catalog has it
	want := treeSums(t, pipe)
	wantModes := sh(t, "cd '"+pipe+"' && find . -printf '%p %m\\n' | sort")

	run(t, "", "rm", "-rf", pipe)
	mustNotExist(t, pipe)
	if r := catalogRow(t, store, "ds", "0002_b_x2"); !r.RunDeleted {
		t.Errorf("catalog row after rm -rf: %+v, want run_deleted", r)
	}
	items := trashList(t, store)
	if len(items) != 1 || items[0].Path != "runs/ds/0002_b_x2" || !items[0].Whole || items[0].Files != 4 ||
		items[0].LogicalBytes < 300_000 || !items[0].Expires.After(items[0].Deleted.Add(23*time.Hour)) {
		t.Fatalf("trash list: %+v, want one whole item runs/ds/0002_b_x2 of 4 files expiring in a day", items)
	}
	if out := n4ws(t, store, "trash", "list"); !strings.Contains(out, "runs/ds/0002_b_x2") || !strings.Contains(out, "EXPIRES") {
		t.Errorf("trash list:\n%s", out)
	}
	if out := n4ws(t, store, "stats"); !strings.Contains(out, "trash") {
		t.Errorf("stats does not mention the trash:\n%s", out)
	}
	n4ws(t, store, "fsck")
	if strings.Contains(run(t, "", "ls", "-a", mnt), "trash") {
		t.Error("the trash shows in the mount's root")
	}

	// The place is taken (same pipeline number): a clear error, nothing moved.
	run(t, "", "mkdir", filepath.Join(ds, "0002_other_zz"))
	out, code := n4wsFail(t, store, "trash", "restore", "runs/ds/0002_b_x2")
	if code != 1 || !strings.Contains(out, "--to") || !strings.Contains(out, "0002_") {
		t.Errorf("restore onto a taken number: exit %d, %q", code, out)
	}
	run(t, "", "rmdir", filepath.Join(ds, "0002_other_zz"))

	out = n4ws(t, store, "trash", "restore", "runs/ds/0002_b_x2")
	if !strings.Contains(out, "restored runs/ds/0002_b_x2") {
		t.Errorf("restore printed %q", out)
	}
	if got := treeSums(t, pipe); got != want {
		t.Errorf("restored tree differs:\n got %s\nwant %s", got, want)
	}
	if got := sh(t, "cd '"+pipe+"' && find . -printf '%p %m\\n' | sort"); got != wantModes {
		t.Errorf("restored modes differ:\n got %s\nwant %s", got, wantModes)
	}
	if r := catalogRow(t, store, "ds", "0002_b_x2"); r.RunDeleted || !r.Best {
		t.Errorf("catalog row after restore: %+v, want live and best again", r)
	}
	wantBest(t, ds, "0002_b_x2", filepath.Join(pipe, "predictions.csv"))
	for _, it := range trashList(t, store) {
		if it.Path == "runs/ds/0002_b_x2" {
			t.Errorf("restored item still listed: %+v", it)
		}
	}
	n4ws(t, store, "fsck")
}

// TestTrashDatasetRunsDeleteAndGC: rm -rf of a dataset folder is one item;
// n4ws runs delete goes to the trash too; gc keeps items younger than
// trash.retention and frees their space after it, with the mount running.
func TestTrashDatasetRunsDeleteAndGC(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	landDataset(t, mnt, "ds", threeSpecs[:2]...)
	landDataset(t, mnt, "other", threeSpecs[2:]...)
	for i, p := range []string{"runs/ds/0001_a_x1", "runs/ds/0002_b_x2", "runs/other/0003_c_x3"} {
		writeFile(t, filepath.Join(mnt, p, "model.bin"), randBytes(uint64(20+i), 400_000))
	}
	n4ws(t, store, "status") // the catalog knows every pipeline
	run(t, "", "rm", "-rf", filepath.Join(mnt, "runs/ds"))
	n4ws(t, store, "runs", "delete", "other/0003_c_x3", "--confirm")
	mustNotExist(t, filepath.Join(mnt, "runs/other/0003_c_x3"))
	items := trashList(t, store)
	if len(items) != 2 || items[0].Path != "runs/ds" || items[0].Files != 8 || items[1].Path != "runs/other/0003_c_x3" {
		t.Fatalf("trash list: %+v, want runs/ds (8 files) and runs/other/0003_c_x3", items)
	}
	if out := n4ws(t, store, "gc"); strings.Contains(out, "expired") {
		t.Errorf("gc dropped fresh items: %s", out)
	}
	if len(trashList(t, store)) != 2 {
		t.Error("gc with a 1d retention changed the trash")
	}
	before := stats(t, store)

	n4ws(t, store, "config", "set", "trash.retention", "1s")
	time.Sleep(1100 * time.Millisecond)
	out := n4ws(t, store, "gc")
	if !strings.Contains(out, "expired 2 trash items") {
		t.Errorf("gc after the retention: %s", out)
	}
	after := stats(t, store)
	if freed := before["stored_bytes"] - after["stored_bytes"]; freed < 3*400_000 {
		t.Errorf("gc freed %v stored bytes, want at least the 3 model.bin files (%d)", freed, 3*400_000)
	}
	if items := trashList(t, store); len(items) != 0 {
		t.Errorf("trash after gc: %+v", items)
	}
	if r := catalogRow(t, store, "ds", "0001_a_x1"); !r.RunDeleted || r.Scores["test"]["rmse"] == 0 {
		t.Errorf("catalog row after gc: %+v, want kept with its scores", r)
	}
	n4ws(t, store, "fsck")
	out, code := n4wsFail(t, store, "config", "set", "trash.retention", "soon")
	if code != 1 || !strings.Contains(out, "trash.retention") {
		t.Errorf("config set trash.retention soon: exit %d, %q", code, out)
	}
}
