package live

import (
	"context"
	"database/sql"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/importer"
	"github.com/n4ws/n4ws/catalog/importer/standintest"
)

type fixture struct {
	t   *testing.T
	ws  string
	s   *backing.Store
	cat *catalog.Catalog
	p   *Projector
}

func newFixture(t *testing.T) *fixture {
	ctx := context.Background()
	f := &fixture{t: t, ws: t.TempDir(), s: backingtest.NewStore(t)}
	var err error
	if f.cat, err = catalog.Open(ctx, f.s, catalog.Options{}); err != nil {
		t.Fatal(err)
	}
	if f.p, err = New(ctx, Options{Store: f.s, Workspace: f.ws}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.p.Close() })
	return f
}

func (f *fixture) pass() Report {
	f.t.Helper()
	rep, err := f.p.Pass(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.cat.Refresh(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	return rep
}

// folders lists runs/<ds>'s pipeline folders.
func folders(t *testing.T, s *backing.Store, ds string) []string {
	t.Helper()
	ents, err := catalog.StoreTree{S: s}.List(context.Background(), "runs/"+ds)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.Dir && e.Name[0] >= '0' && e.Name[0] <= '9' {
			out = append(out, e.Name)
		}
	}
	return out
}

// storeNames lists the dataset's pipeline names in nirs4all's insertion order.
func storeNames(t *testing.T, ws, ds string) []string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(ws, "store.sqlite")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM pipelines WHERE dataset_name = ? ORDER BY rowid`, ds)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out = append(out, n)
	}
	return out
}

// TestProjectRunsAndDeletes: two nirs4all runs in sequence, then the
// deletion of the first: folders numbered in insertion order, the first
// run's numbers unchanged by the second, its folders removed (and marked
// deleted in the catalog) when nirs4all deletes it, and a number taken by
// a folder written directly is skipped.
func TestProjectRunsAndDeletes(t *testing.T) {
	f := newFixture(t)
	backingtest.WriteFile(t, f.s, "runs/wheat/0001_mine_abcdef/notes.txt", "mine")
	standintest.Run(t, "run", f.ws, "--datasets", "wheat,corn", "--pipelines", "3", "--fail", "2", "--run-name", "first")
	f.pass()
	first := folders(t, f.s, "wheat")
	names := storeNames(t, f.ws, "wheat")
	want := []string{"0001_mine_abcdef"}
	for i, n := range names {
		want = append(want, importer.FolderName(i+2, importer.StorePipeline{Name: n}))
	}
	if strings.Join(first, " ") != strings.Join(want, " ") {
		t.Fatalf("wheat folders %v, want %v", first, want)
	}
	standintest.Run(t, "run", f.ws, "--datasets", "wheat", "--pipelines", "2", "--run-name", "second")
	f.pass()
	second := folders(t, f.s, "wheat")
	if len(second) != len(first)+3 || strings.Join(second[:len(first)], " ") != strings.Join(first, " ") {
		t.Fatalf("after a second run: %v (first run's were %v)", second, first)
	}
	rows, err := f.cat.Pipelines(context.Background(), "wheat")
	if err != nil || len(rows) != len(second) {
		t.Fatalf("catalog has %d wheat pipelines (%v), want %d", len(rows), err, len(second))
	}
	corn := folders(t, f.s, "corn")
	standintest.Run(t, "delete", f.ws, "--run-name", "first")
	rep := f.pass()
	if len(rep.Removed) != len(first)-1+len(corn) {
		t.Fatalf("removed %v, want the first run's %d wheat and %d corn folders", rep.Removed, len(first)-1, len(corn))
	}
	left := folders(t, f.s, "wheat")
	if strings.Join(left, " ") != strings.Join(append([]string{"0001_mine_abcdef"}, second[len(first):]...), " ") {
		t.Errorf("after deleting the first run: %v", left)
	}
	rows, _ = f.cat.Pipelines(context.Background(), "wheat")
	deleted := 0
	for _, r := range rows {
		if !r.Present {
			deleted++
		}
	}
	if deleted != len(first)-1 {
		t.Errorf("catalog: %d wheat pipelines marked deleted, want %d", deleted, len(first)-1)
	}
}

// TestProjectSameAsImport: the live projection and `n4ws import` of the
// same workspace give the same pipeline folders, byte for byte.
func TestProjectSameAsImport(t *testing.T) {
	f := newFixture(t)
	standintest.Run(t, "run", f.ws, "--datasets", "wheat,corn", "--pipelines", "3", "--fail", "3")
	standintest.Run(t, "run", f.ws, "--datasets", "wheat", "--pipelines", "2", "--task", "regression")
	f.pass()
	imp := backingtest.NewStore(t)
	ctx := context.Background()
	src := importer.OSDir(f.ws)
	plan, err := importer.PlanWorkspace(ctx, src, catalog.StoreTree{S: imp}, "")
	if err != nil {
		t.Fatal(err)
	}
	write := func(ctx context.Context, dst string, r io.Reader, mtime time.Time) error {
		_, err := imp.WriteFile(ctx, dst, r, 0o644, mtime)
		return err
	}
	if err := plan.Apply(ctx, src, write, catalog.StoreTree{S: imp}.RemoveAll, nil); err != nil {
		t.Fatal(err)
	}
	for _, ds := range []string{"wheat", "corn"} {
		a, b := treeDigests(t, f.s, "runs/"+ds), treeDigests(t, imp, "runs/"+ds)
		for k := range b {
			if strings.HasPrefix(k, "_nirs4all/") {
				delete(b, k) // the import's copy of arrays/ (the mount keeps them at its root)
			}
		}
		if len(a) == 0 || !equalMaps(a, b) {
			t.Errorf("%s: live %d files, import %d files; differ: %v", ds, len(a), len(b), diffKeys(a, b))
		}
	}
}

func treeDigests(t *testing.T, s *backing.Store, dir string) map[string]backing.Digest {
	t.Helper()
	out := map[string]backing.Digest{}
	var walk func(rel string)
	walk = func(rel string) {
		ents, err := catalog.StoreTree{S: s}.List(context.Background(), dir+rel)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.Dir {
				walk(rel + "/" + e.Name)
			} else {
				out[strings.TrimPrefix(rel+"/"+e.Name, "/")] = e.Digest
			}
		}
	}
	walk("")
	return out
}

func equalMaps(a, b map[string]backing.Digest) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func diffKeys(a, b map[string]backing.Digest) []string {
	var out []string
	for k, v := range a {
		if b[k] != v {
			out = append(out, "live:"+k)
		}
	}
	for k, v := range b {
		if a[k] != v {
			out = append(out, "import:"+k)
		}
	}
	sort.Strings(out)
	return out
}

// TestProjectRunningThenCompleted: a pipeline seen while nirs4all trains
// it (its row committed as running) is projected, then completed in the
// same folder once nirs4all commits its predictions.
func TestProjectRunningThenCompleted(t *testing.T) {
	f := newFixture(t)
	gate := t.TempDir()
	done := make(chan error, 1)
	go func() {
		cmd := standinCmd(t, f.ws, "--datasets", "wheat", "--pipelines", "2", "--no-refit", "--train-ms", "1500", "--gate", gate)
		done <- cmd.Run()
	}()
	os.WriteFile(filepath.Join(gate, "go-1"), nil, 0o644)
	waitFor(t, func() bool { return len(storeNamesIfAny(f.ws)) == 1 })
	f.pass()
	first := folders(t, f.s, "wheat")
	if len(first) != 1 {
		t.Fatalf("while running: %v", first)
	}
	manifest := readStore(t, f.s, "runs/wheat/"+first[0]+"/manifest.yaml")
	if !strings.Contains(manifest, "status: running") {
		t.Errorf("manifest of a running pipeline:\n%s", manifest)
	}
	os.WriteFile(filepath.Join(gate, "go-2"), nil, 0o644)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	f.pass()
	if got := folders(t, f.s, "wheat"); len(got) != 2 || got[0] != first[0] {
		t.Fatalf("after the run: %v", got)
	}
	if !strings.Contains(readStore(t, f.s, "runs/wheat/"+first[0]+"/manifest.yaml"), "status: completed") ||
		readStore(t, f.s, "runs/wheat/"+first[0]+"/metrics.json") == "" {
		t.Error("the pipeline seen running was not completed")
	}
}

func readStore(t *testing.T, s *backing.Store, p string) string {
	t.Helper()
	r, err := catalog.StoreTree{S: s}.Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	return string(b)
}

// TestProjectReferencesBlobs: an artifact the store already holds (the
// mount stores nirs4all's artifacts/ files as blobs) is shown in
// _binaries/ as a reference to that blob, not read again.
func TestProjectReferencesBlobs(t *testing.T) {
	f := newFixture(t)
	standintest.Run(t, "run", f.ws, "--datasets", "wheat", "--pipelines", "1", "--no-refit")
	var model string
	filepath.Walk(filepath.Join(f.ws, "artifacts"), func(p string, info os.FileInfo, err error) error {
		if err == nil && strings.HasPrefix(info.Name(), "model_") {
			model = p
		}
		return nil
	})
	data, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	stored := backingtest.WriteFile(t, f.s, "library/templates/model.bin", string(data))
	if err := os.Remove(model); err != nil { // a copy would now fail
		t.Fatal(err)
	}
	f.pass()
	a, err := f.s.ResolvePath(context.Background(), "runs/wheat/_binaries/"+filepath.Base(model))
	if err != nil || a.Blob != stored.Blob || a.Size != int64(len(data)) {
		t.Fatalf("_binaries/%s: %v %+v, want the stored blob %s", filepath.Base(model), err, a, stored.Blob)
	}
}

func standinCmd(t *testing.T, ws string, args ...string) *exec.Cmd {
	return standintest.Command(t, "run", ws, args...)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("timed out")
}

// storeNamesIfAny lists the pipelines committed so far (none before the store exists).
func storeNamesIfAny(ws string) []string {
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(ws, "store.sqlite")+"?mode=ro")
	if err != nil {
		return nil
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM pipelines`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out = append(out, n)
	}
	return out
}
