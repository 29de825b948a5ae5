package live

import (
	"context"
	"database/sql"
	"os"
	"path"
	"path/filepath"
	"slices"
	"testing"

	"github.com/n4ws/n4ws/backing/backingtest"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/importer/standintest"
)

// binaries lists runs/<ds>/_binaries/.
func binaries(t *testing.T, f *fixture, ds string) []string {
	t.Helper()
	ents, err := catalog.StoreTree{S: f.s}.List(context.Background(), "runs/"+ds+"/_binaries")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name)
	}
	return out
}

// dropArtifacts does what nirs4all does to a pipeline's per-fold models
// once its refit is done: their artifact rows are deleted and their files
// unlinked. It returns the files' names.
func dropArtifacts(t *testing.T, ws, pipelineName string) []string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(ws, "store.sqlite")+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT a.artifact_id, a.artifact_path FROM artifacts a JOIN pipelines p
		ON a.artifact_id LIKE p.pipeline_id || '$s2:%' WHERE p.name = ?`, pipelineName)
	if err != nil {
		t.Fatal(err)
	}
	var ids, files []string
	for rows.Next() {
		var id, p string
		if err := rows.Scan(&id, &p); err != nil {
			t.Fatal(err)
		}
		ids, files = append(ids, id), append(files, p)
	}
	rows.Close()
	if len(ids) == 0 {
		t.Fatalf("pipeline %s has no per-fold model artifacts", pipelineName)
	}
	for i, id := range ids {
		if _, err := db.Exec(`DELETE FROM artifacts WHERE artifact_id = ?`, id); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(ws, "artifacts", files[i]))
		files[i] = path.Base(files[i])
	}
	return files
}

// TestPassRemovesDroppedBinaries: when nirs4all drops a pipeline's
// per-fold models, a pass removes their _binaries/ files, keeps the
// files other pipelines still use (the shared scaler), and leaves alone
// a _binaries/ file a folder copied into runs/ references.
func TestPassRemovesDroppedBinaries(t *testing.T) {
	f := newFixture(t)
	standintest.Run(t, "run", f.ws, "--datasets", "wheat", "--pipelines", "2", "--no-refit")
	f.pass()
	before := binaries(t, f, "wheat")
	names := storeNames(t, f.ws, "wheat")
	dropped := dropArtifacts(t, f.ws, names[0])
	// A copied pipeline folder that references the first dropped model.
	backingtest.WriteFile(t, f.s, "runs/wheat/0099_copied_abcdef/pipeline.json",
		`{"id": "0099_copied_abcdef", "artifacts": [{"step": 3, "name": "m", "path": "../_binaries/`+dropped[0]+`"}]}`)
	rep := f.pass()
	after := binaries(t, f, "wheat")
	for i, name := range dropped {
		if gone := !slices.Contains(after, name); gone != (i > 0) {
			t.Errorf("_binaries/%s: gone %v, want gone %v (referenced by the copied folder: %v); report %v",
				name, gone, i > 0, i == 0, rep.Stale)
		}
	}
	for _, name := range before {
		if !slices.Contains(dropped, name) && !slices.Contains(after, name) {
			t.Errorf("_binaries/%s, still used, was removed", name)
		}
	}
	if len(rep.Stale) != len(dropped)-1 {
		t.Errorf("report: stale %v, want the %d dropped models not referenced", rep.Stale, len(dropped)-1)
	}
	if rep := f.pass(); len(rep.Stale)+len(rep.Files) != 0 {
		t.Errorf("a pass over an unchanged store removed %v, wrote %v", rep.Stale, rep.Files)
	}
}

// TestPassDeletedRunRemovesItsBinaries: when nirs4all deletes a run, the
// _binaries/ files only its pipelines used go with their folders; those a
// remaining pipeline uses stay.
func TestPassDeletedRunRemovesItsBinaries(t *testing.T) {
	f := newFixture(t)
	standintest.Run(t, "run", f.ws, "--datasets", "wheat", "--pipelines", "2", "--run-name", "first")
	f.pass()
	first := binaries(t, f, "wheat")
	standintest.Run(t, "run", f.ws, "--datasets", "wheat", "--pipelines", "1", "--no-refit", "--run-name", "second")
	f.pass()
	standintest.Run(t, "delete", f.ws, "--run-name", "first")
	rep := f.pass()
	if len(rep.Removed) != 3 {
		t.Fatalf("removed %v, want the first run's 3 folders", rep.Removed)
	}
	// The second run's pipeline is the first's first config again: the
	// same scaler and fold models (3 folds), still used; the first run's
	// other models go.
	after := binaries(t, f, "wheat")
	if len(after) != 4 || len(first) <= 4 {
		t.Errorf("_binaries after the delete: %v (was %v), want the scaler and 3 models the second run uses", after, first)
	}
	for _, name := range after {
		if !slices.Contains(first, name) {
			t.Errorf("_binaries/%s: not one of the first run's", name)
		}
	}
	if len(rep.Stale) != len(first)-len(after) {
		t.Errorf("removed %v, want %d files", rep.Stale, len(first)-len(after))
	}
	for _, m := range rep.Stale {
		if slices.Contains(after, path.Base(m)) {
			t.Errorf("%s reported removed, still listed", m)
		}
	}
}

// TestPassTwoWorkspacesOneStore: two workspaces projected into one store
// (two machines' mounts of a team store, each with its own store.sqlite):
// a pass of either keeps the other's folders, numbers its own after them,
// and removes only its own pipelines that its nirs4all deleted.
func TestPassTwoWorkspacesOneStore(t *testing.T) {
	a := newFixture(t)
	wsB := t.TempDir()
	b, err := New(context.Background(), Options{Store: a.s, Workspace: wsB})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	b.owner = "machine-b" // another machine's folder of the store has another id
	standintest.Run(t, "run", a.ws, "--datasets", "wheat", "--pipelines", "1", "--no-refit", "--run-name", "on_a")
	a.pass()
	fromA := folders(t, a.s, "wheat")
	standintest.Run(t, "run", wsB, "--datasets", "wheat", "--pipelines", "2", "--no-refit", "--run-name", "on_b")
	if _, err := b.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.pass()
	both := folders(t, a.s, "wheat")
	if len(fromA) != 1 || len(both) != 3 || both[0] != fromA[0] {
		t.Fatalf("after both machines' passes: %v (A's alone: %v), want A's folder then B's 2", both, fromA)
	}
	standintest.Run(t, "delete", a.ws, "--run-name", "on_a")
	rep := a.pass()
	if _, err := b.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left := folders(t, a.s, "wheat"); !slices.Equal(rep.Removed, []string{"runs/wheat/" + fromA[0]}) || !slices.Equal(left, both[1:]) {
		t.Errorf("after A's nirs4all deleted its run: removed %v, left %v, want only %s removed", rep.Removed, left, fromA[0])
	}
}
