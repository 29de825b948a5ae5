package live

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog/importer/standintest"
)

// passCounting runs one pass (no catalog refresh) and returns its report
// and how many index writes it made.
func (f *fixture) passCounting() (Report, uint64) {
	f.t.Helper()
	before := f.s.Writes()
	rep, err := f.p.Pass(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return rep, f.s.Writes() - before
}

// execStore changes store.sqlite as nirs4all would (its own connection).
func execStore(t *testing.T, ws, q string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(ws, "store.sqlite")+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("%s: no row changed", q)
	}
}

// TestPassUnchangedWritesNothing: a second pass over an unchanged store
// writes no file and makes no index write at all.
func TestPassUnchangedWritesNothing(t *testing.T) {
	f := newFixture(t)
	standintest.Run(t, "run", f.ws, "--datasets", "wheat,corn", "--pipelines", "3")
	rep, writes := f.passCounting()
	if len(rep.Written) != 8 || len(rep.Files) == 0 || writes == 0 {
		t.Fatalf("first pass: %d folders, %d files, %d index writes", len(rep.Written), len(rep.Files), writes)
	}
	rep, writes = f.passCounting()
	if len(rep.Written) != 0 || len(rep.Files) != 0 || writes != 0 {
		t.Fatalf("second pass, nothing changed: folders %v, files %v, %d index writes", rep.Written, rep.Files, writes)
	}
}

// TestPassReadsOnlyNewRows: a pass reads into Go only the store rows
// written since the pass before (not the whole store again, which made a
// long run's projection cost in proportion to its square), and still
// projects the new pipelines.
func TestPassReadsOnlyNewRows(t *testing.T) {
	f := newFixture(t)
	standintest.Run(t, "run", f.ws, "--datasets", "wheat", "--pipelines", "6", "--no-refit", "--run-name", "first")
	first, _ := f.passCounting()
	if first.RowsRead < 6*3 { // each pipeline has its row, a chain, predictions
		t.Fatalf("first pass read %d rows of a store of 6 pipelines", first.RowsRead)
	}
	if rep, _ := f.passCounting(); rep.RowsRead != 0 {
		t.Fatalf("a pass over an unchanged store read %d rows again", rep.RowsRead)
	}
	standintest.Run(t, "run", f.ws, "--datasets", "wheat", "--pipelines", "1", "--no-refit", "--run-name", "second")
	rep, _ := f.passCounting()
	if len(rep.Written) != 1 {
		t.Fatalf("after one more pipeline: folders written %v", rep.Written)
	}
	// The new run's row, its pipeline's rows and artifacts: far fewer than
	// the store holds.
	if rep.RowsRead == 0 || rep.RowsRead*3 > first.RowsRead {
		t.Fatalf("after one more pipeline the pass read %d rows; the first read %d", rep.RowsRead, first.RowsRead)
	}
}

// TestPassOnePipelineChanged: when one pipeline's row changes, a pass
// writes that folder's manifest.yaml (the file showing the row) and
// nothing else.
func TestPassOnePipelineChanged(t *testing.T) {
	f := newFixture(t)
	standintest.Run(t, "run", f.ws, "--datasets", "wheat,corn", "--pipelines", "3")
	f.passCounting()
	name := storeNames(t, f.ws, "corn")[1]
	execStore(t, f.ws, `UPDATE pipelines SET best_val = 0.125 WHERE dataset_name = 'corn' AND name = ?`, name)
	rep, writes := f.passCounting()
	dir := ""
	for _, d := range folders(t, f.s, "corn") {
		if d[5:] == name {
			dir = "runs/corn/" + d
		}
	}
	if len(rep.Written) != 1 || rep.Written[0] != dir {
		t.Fatalf("folders written %v, want only %s", rep.Written, dir)
	}
	if len(rep.Files) != 1 || rep.Files[0] != dir+"/manifest.yaml" {
		t.Fatalf("files written %v, want only %s/manifest.yaml", rep.Files, dir)
	}
	if writes != 1 { // the file with the fingerprints that record it
		t.Errorf("%d index writes, want 1", writes)
	}
	if m := readStore(t, f.s, dir+"/manifest.yaml"); !strings.Contains(m, "best_val: 0.125") {
		t.Errorf("manifest.yaml does not show the new row:\n%s", m)
	}
}

// TestPassRunRowChanged: a change of the run's row (nirs4all completing
// its run) rewrites each of its pipelines' manifest.yaml only, the one
// file that shows the run; pipelines of another run are left alone.
func TestPassRunRowChanged(t *testing.T) {
	f := newFixture(t)
	standintest.Run(t, "run", f.ws, "--datasets", "wheat", "--pipelines", "2", "--run-name", "first")
	standintest.Run(t, "run", f.ws, "--datasets", "wheat,corn", "--pipelines", "2", "--run-name", "second")
	f.passCounting()
	execStore(t, f.ws, `UPDATE runs SET summary = '{"note": "changed by the test"}' WHERE name = 'second'`)
	rep, _ := f.passCounting()
	want := len(folders(t, f.s, "wheat")) - 3 + len(folders(t, f.s, "corn")) // the first run: 2 + refit
	if len(rep.Written) != want || len(rep.Files) != want {
		t.Fatalf("folders %v, files %v; want the %d of the second run", rep.Written, rep.Files, want)
	}
	for _, p := range rep.Files {
		if !strings.HasSuffix(p, "/manifest.yaml") {
			t.Errorf("%s written: only manifest.yaml shows the run", p)
		}
		if m := readStore(t, f.s, p); !strings.Contains(m, "changed by the test") {
			t.Errorf("%s does not show the run's new row", p)
		}
	}
	if rep, writes := f.passCounting(); len(rep.Files) != 0 || writes != 0 {
		t.Errorf("pass after: files %v, %d index writes", rep.Files, writes)
	}
}

// TestPassRunRowChangedFolderGone: a folder removed by hand is written
// whole again (same number) when its run's row changes.
func TestPassRunRowChangedFolderGone(t *testing.T) {
	f := newFixture(t)
	standintest.Run(t, "run", f.ws, "--datasets", "wheat", "--pipelines", "2", "--no-refit")
	f.passCounting()
	first := folders(t, f.s, "wheat")[0]
	if _, err := f.s.RemoveAll(context.Background(), "runs/wheat/"+first); err != nil {
		t.Fatal(err)
	}
	execStore(t, f.ws, `UPDATE runs SET summary = '{"note": "again"}'`)
	f.passCounting()
	if got := folders(t, f.s, "wheat"); len(got) != 2 || got[0] != first {
		t.Fatalf("folders %v, want %s back", got, first)
	}
	for _, n := range []string{"manifest.yaml", "pipeline.json", "metrics.json", "predictions.csv"} {
		if readStore(t, f.s, "runs/wheat/"+first+"/"+n) == "" {
			t.Errorf("%s/%s empty or missing", first, n)
		}
	}
}

// TestPassUnknownFilesLookedUp: mappings that do not record their files
// (written before files were recorded) are re-projected once, and files
// already holding the right content are found, not written again.
func TestPassUnknownFilesLookedUp(t *testing.T) {
	f := newFixture(t)
	standintest.Run(t, "run", f.ws, "--datasets", "wheat", "--pipelines", "2")
	f.passCounting()
	err := f.s.Update(context.Background(), func(tx *backing.Tx) error {
		_, err := tx.Exec(`UPDATE live_pipelines SET files = '', fingerprint = 'old'`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, writes := f.passCounting()
	if len(rep.Written) != 3 || len(rep.Files) != 0 || writes != 1 {
		t.Fatalf("folders %v, files %v, %d index writes; want 3 folders checked, no file written, 1 write (the mapping)", rep.Written, rep.Files, writes)
	}
	if rep, writes := f.passCounting(); len(rep.Written) != 0 || writes != 0 {
		t.Fatalf("pass after: folders %v, %d index writes", rep.Written, writes)
	}
}

// TestPassArraysReplaced: arrays/<ds>.parquet parsed by a pass is kept
// only while the file is unchanged: after nirs4all replaces it (a second
// run), the new pipelines' predictions find their arrays.
func TestPassArraysReplaced(t *testing.T) {
	f := newFixture(t)
	standintest.Run(t, "run", f.ws, "--datasets", "wheat", "--pipelines", "1", "--no-refit")
	f.passCounting()
	standintest.Run(t, "run", f.ws, "--datasets", "wheat", "--pipelines", "2", "--no-refit")
	f.passCounting()
	got := folders(t, f.s, "wheat")
	if len(got) != 3 {
		t.Fatalf("folders %v", got)
	}
	for _, d := range got {
		if readStore(t, f.s, "runs/wheat/"+d+"/predictions.csv") == "" || readStore(t, f.s, "runs/wheat/"+d+"/metrics.json") == "" {
			t.Errorf("%s: no predictions.csv or metrics.json", d)
		}
	}
}
