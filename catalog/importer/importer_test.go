package importer

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// importInto plans and applies a workspace import into s.
func importInto(t *testing.T, s *backing.Store, ws string) *Plan {
	t.Helper()
	return importFrom(t, s, os.DirFS(ws))
}

// importFrom plans and applies the import of the workspace src into s.
func importFrom(t *testing.T, s *backing.Store, src fs.FS) *Plan {
	t.Helper()
	ctx := context.Background()
	tree := catalog.StoreTree{S: s}
	plan, err := PlanWorkspace(ctx, src, tree, "")
	if err != nil {
		t.Fatal(err)
	}
	write := func(ctx context.Context, dst string, r io.Reader, mtime time.Time) error {
		_, err := s.WriteFile(ctx, dst, r, 0o644, mtime)
		return err
	}
	if err := plan.Apply(ctx, src, write, tree.RemoveAll, nil); err != nil {
		t.Fatal(err)
	}
	return plan
}

func storeBytes(t *testing.T, s *backing.Store, p string) string {
	t.Helper()
	r, err := catalog.StoreTree{S: s}.Open(context.Background(), p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkOriginals compares every file of the workspace with its place in
// the store.
func checkOriginals(t *testing.T, s *backing.Store, ws string, where map[string]string) {
	t.Helper()
	for src, dst := range where {
		want, err := os.ReadFile(filepath.Join(ws, src))
		if err != nil {
			t.Fatal(err)
		}
		if got := storeBytes(t, s, dst); got != string(want) {
			t.Errorf("%s → %s: content differs", src, dst)
		}
	}
}

func TestWorkspaceImportEraC(t *testing.T) {
	ctx := context.Background()
	ws := eraCWorkspace(t)
	s := backingtest.NewStore(t)
	cat, err := catalog.Open(ctx, s, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan := importInto(t, s, ws)
	if plan.New() != 3 {
		t.Fatalf("new = %d, want 3: %+v", plan.New(), plan.Pipelines)
	}
	r := "runs/wheat/"
	checkOriginals(t, s, ws, map[string]string{
		"runs/wheat/0001_config_aaaaaa/manifest.yaml":            r + "0001_config_aaaaaa/manifest.yaml",
		"runs/wheat/0002_pls_bbbbbb/pipeline.json":               r + "0002_pls_bbbbbb/pipeline.json",
		"runs/wheat/0002_pls_bbbbbb/folds_KFold_seed42.csv":      r + "0002_pls_bbbbbb/folds_KFold_seed42.csv",
		"runs/wheat/0002_pls_bbbbbb/2D_Chart.png":                r + "0002_pls_bbbbbb/2D_Chart.png",
		"runs/wheat/best_0002_pls_bbbbbb.csv":                    r + "_nirs4all/best_0002_pls_bbbbbb.csv",
		"runs/wheat/_binaries/Branch_abc123.pkl":                 r + "_binaries/Branch_abc123.pkl",
		"binaries/wheat/model_PLSRegression_3fa2c1d4e5b6.joblib": r + "_binaries/model_PLSRegression_3fa2c1d4e5b6.joblib",
		"wheat.meta.parquet":                                     r + "_nirs4all/wheat.meta.parquet",
		"wheat.arrays.parquet":                                   r + "_nirs4all/wheat.arrays.parquet",
	})
	m, err := nirs4all.ParseMetrics([]byte(storeBytes(t, s, r+"0002_pls_bbbbbb/metrics.json")))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Scores["test"]["rmse"], math.Sqrt((0.01+0.04)/2); math.Abs(got-want) > 1e-12 {
		t.Errorf("0002 test rmse %v, want %v (the avg fold)", got, want)
	}
	if m.Samples["val"] != 4 || m.TaskType != catalog.TaskRegression {
		t.Errorf("0002 metrics: %+v", m)
	}
	preds, err := nirs4all.ParsePredictions([]byte(storeBytes(t, s, r+"0002_pls_bbbbbb/predictions.csv")), 0)
	if err != nil || len(preds) != 3 {
		t.Fatalf("predictions: %v %+v", err, preds)
	}
	if _, err := s.ResolvePath(ctx, r+"0003_config_cccccc/metrics.json"); err == nil {
		t.Error("a pipeline without rows got metrics.json")
	}
	skipped := map[string]bool{}
	for _, sk := range plan.Skipped {
		skipped[sk.Path] = true
	}
	if !skipped["exports/"] || !skipped["library/"] {
		t.Errorf("skipped: %+v", plan.Skipped)
	}
	checkBest(t, cat, "wheat", "0002_pls_bbbbbb")
	// A second import adds nothing.
	again := importInto(t, s, ws)
	if again.New() != 0 || len(again.writes) != 0 || len(again.Pipelines) != 3 {
		t.Errorf("second import: new %d, writes %d, %+v", again.New(), len(again.writes), again.Pipelines)
	}
}

// checkBest refreshes the catalog and checks the dataset's best.
func checkBest(t *testing.T, cat *catalog.Catalog, ds, pid string) {
	t.Helper()
	ctx := context.Background()
	if _, err := cat.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	best, _, err := cat.BestOf(ctx, ds)
	if err != nil || best == nil || best.PID != pid || best.Model != "PLSRegression" {
		t.Fatalf("best: %+v %v", best, err)
	}
}

func TestWorkspaceImportRenumbers(t *testing.T) {
	ws := eraCWorkspace(t)
	s := backingtest.NewStore(t)
	backingtest.WriteFile(t, s, "runs/wheat/0001_other_zzzzzz/pipeline.json", "[]")
	plan := importInto(t, s, ws)
	dest := map[string]string{}
	for _, p := range plan.Pipelines {
		dest[filepath.Base(p.Source)] = p.Dest
	}
	if dest["0001_config_aaaaaa"] != "0004_config_aaaaaa" || dest["0002_pls_bbbbbb"] != "0002_pls_bbbbbb" {
		t.Errorf("numbers: %v", dest)
	}
	if !strings.Contains(strings.Join(plan.Notes, "\n"), "renumbered runs/wheat/0001_config_aaaaaa → runs/wheat/0004_config_aaaaaa") {
		t.Errorf("notes: %v", plan.Notes)
	}
	if again := importInto(t, s, ws); again.New() != 0 {
		t.Errorf("second import after renumbering: %+v", again.Pipelines)
	}
}

func TestWorkspaceImportBadParquet(t *testing.T) {
	ws := eraCWorkspace(t)
	writeOS(t, filepath.Join(ws, "wheat.meta.parquet"), "PAR1 not really")
	s := backingtest.NewStore(t)
	plan := importInto(t, s, ws)
	if plan.New() != 3 || !strings.Contains(strings.Join(plan.Notes, "\n"), "wheat.meta.parquet: cannot read predictions") {
		t.Errorf("notes: %v", plan.Notes)
	}
	if got := storeBytes(t, s, "runs/wheat/_nirs4all/wheat.meta.parquet"); got != "PAR1 not really" {
		t.Error("the unreadable file was not stored as is")
	}
}

func TestWorkspaceImportNotAWorkspace(t *testing.T) {
	ctx := context.Background()
	s := backingtest.NewStore(t)
	for name, files := range map[string]map[string]string{
		"empty":   {"notes.txt": "x"},
		"parent":  {"workspace/runs/wheat/0001_config_aaaaaa/pipeline.json": "[]"},
		"store":   {"store.sqlite": "SQLite format 3\x00"},
		"no pipe": {"runs/wheat/readme.txt": "x"},
	} {
		ws := t.TempDir()
		for p, c := range files {
			writeOS(t, filepath.Join(ws, p), c)
		}
		_, err := PlanWorkspace(ctx, os.DirFS(ws), catalog.StoreTree{S: s}, "")
		if !errors.Is(err, ErrNotWorkspace) {
			t.Errorf("%s: err %v", name, err)
		}
		if name == "parent" && !strings.Contains(err.Error(), "import workspace/") {
			t.Errorf("parent: %v", err)
		}
	}
}

func TestReadParquetRowsCorrupt(t *testing.T) {
	for _, data := range []string{"", "PAR1", "PAR1xxxxPAR1", strings.Repeat("\x00", 64)} {
		if _, err := readParquetRows([]byte(data)); err == nil {
			t.Errorf("%q: no error", data)
		}
	}
}

var _ fs.FS = os.DirFS(".")
