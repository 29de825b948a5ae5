package importer

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/backing/backingtest"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// storeArraysRow is a row of arrays/<ds>.parquet (§6).
type storeArraysRow struct {
	PredictionID  string    `parquet:"prediction_id"`
	DatasetName   string    `parquet:"dataset_name"`
	ModelName     string    `parquet:"model_name"`
	FoldID        string    `parquet:"fold_id"`
	Partition     string    `parquet:"partition"`
	Metric        string    `parquet:"metric"`
	ValScore      *float64  `parquet:"val_score,optional"`
	TaskType      string    `parquet:"task_type"`
	YTrue         []float64 `parquet:"y_true,list"`
	YPred         []float64 `parquet:"y_pred,list"`
	SampleIndices []int32   `parquet:"sample_indices,list"`
}

// storeSchema holds the v5 columns the import reads.
const storeSchema = `
CREATE TABLE runs (run_id TEXT PRIMARY KEY, name TEXT, status TEXT, created_at TEXT);
CREATE TABLE pipelines (pipeline_id TEXT PRIMARY KEY, run_id TEXT, name TEXT, expanded_config TEXT,
  dataset_name TEXT, status TEXT, created_at TEXT, completed_at TEXT, best_val REAL, best_test REAL,
  metric TEXT, error TEXT);
CREATE TABLE chains (chain_id TEXT PRIMARY KEY, pipeline_id TEXT, steps TEXT, model_class TEXT,
  model_name TEXT, fold_artifacts TEXT, shared_artifacts TEXT, metric TEXT, task_type TEXT);
CREATE TABLE predictions (prediction_id TEXT PRIMARY KEY, pipeline_id TEXT, chain_id TEXT,
  dataset_name TEXT, model_name TEXT, model_class TEXT, fold_id TEXT, partition TEXT, metric TEXT,
  task_type TEXT, n_samples INTEGER, n_features INTEGER, best_params TEXT, preprocessings TEXT,
  branch_id INTEGER, created_at TEXT);
CREATE TABLE artifacts (artifact_id TEXT PRIMARY KEY, artifact_path TEXT, content_hash TEXT,
  operator_class TEXT, artifact_type TEXT, format TEXT, size_bytes INTEGER, created_at TEXT);
PRAGMA user_version = 5;
`

const storeConfig = `[{"class": "sklearn.preprocessing._data.MinMaxScaler"}, {"model": {"class": "sklearn.cross_decomposition._pls.PLSRegression", "params": {"n_components": 5}}}]`

const storeModelSHA = "3fa2c1d4e5b6a7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"

// storeWorkspace builds a nirs4all 0.11 workspace: wheat's pipelines
// p-late (config_aaaaaa, created second), p-early (pls_bbbbbb, better on
// test) and p-failed; a tombstoned Ridge prediction of p-late that would
// win if read; an unused artifact, a lock, a .parquet.tmp and exports/.
func storeWorkspace(t testing.TB) string {
	ws := t.TempDir()
	db, err := sql.Open("sqlite3", filepath.Join(ws, "store.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	stmts := []string{storeSchema, `PRAGMA journal_mode = WAL`,
		`INSERT INTO runs VALUES ('r1', 'run one', 'completed', '2026-02-10T08:00:00')`,
		`INSERT INTO pipelines VALUES ('p-late', 'r1', 'config_aaaaaa', '` + storeConfig + `', 'wheat', 'completed',
		  '2026-02-10T10:00:00.000000', '2026-02-10T10:01:00.000000', 0.1, 0.2, 'mse', NULL)`,
		`INSERT INTO pipelines VALUES ('p-early', 'r1', 'pls_bbbbbb', '` + storeConfig + `', 'wheat', 'completed',
		  '2026-02-10T09:00:00.000000', NULL, 0.1, 0.2, 'mse', NULL)`,
		`INSERT INTO pipelines VALUES ('p-failed', 'r1', 'config_cccccc', '[]', 'wheat', 'failed',
		  '2026-02-10T11:00:00', NULL, NULL, NULL, NULL, 'ValueError: boom')`,
		`INSERT INTO chains VALUES ('c1', 'p-early', '[{"step_idx": 1, "operator_class": "PLSRegression", "artifact_id": "a-model"}]',
		  'sklearn.cross_decomposition._pls.PLSRegression', 'PLS', '{}', '{}', 'mse', 'regression')`,
		`INSERT INTO chains VALUES ('c2', 'p-late', '[]', 'PLSRegression', 'PLS', '{"fold_0": "a-model"}', '{}', 'mse', 'regression')`,
		`INSERT INTO chains VALUES ('c3', 'p-late', '[]', 'Ridge', 'Ridge', '{}', '{}', 'mse', 'regression')`,
		`INSERT INTO artifacts VALUES ('a-model', '3f/` + storeModelSHA + `.joblib', '` + storeModelSHA + `',
		  'sklearn.cross_decomposition._pls.PLSRegression', 'model', 'joblib', 12, '2026-02-10T09:00:00')`,
		`INSERT INTO artifacts VALUES ('a-unused', 'ab/abcdef.joblib', 'abcdef', 'MinMaxScaler', 'transformer', 'joblib', 3, NULL)`,
	}
	preds := []struct{ id, pipe, chain, model, fold, part string }{
		{"x1", "p-early", "c1", "PLS", "avg", "val"}, {"x2", "p-early", "c1", "PLS", "avg", "test"},
		{"x3", "p-late", "c2", "PLS", "0", "val"}, {"x4", "p-late", "c2", "PLS", "0", "test"},
		{"x5", "p-late", "c3", "Ridge", "0", "test"},
	}
	for _, p := range preds {
		stmts = append(stmts, `INSERT INTO predictions VALUES ('`+p.id+`', '`+p.pipe+`', '`+p.chain+`', 'wheat', '`+p.model+
			`', 'PLSRegression', '`+p.fold+`', '`+p.part+`', 'mse', 'regression', 2, 700, '{"n_components": 5}', 'MinMax', 0, '2026-02-10')`)
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	arr := func(id, fold, part string, yt, yp []float64) storeArraysRow {
		return storeArraysRow{PredictionID: id, DatasetName: "wheat", ModelName: "PLS", FoldID: fold, Partition: part,
			Metric: "mse", TaskType: catalog.TaskRegression, YTrue: yt, YPred: yp, SampleIndices: []int32{10, 11}}
	}
	writeParquetFile(t, filepath.Join(ws, "arrays", "wheat.parquet"), []storeArraysRow{
		arr("x1", "avg", "val", []float64{1, 2}, []float64{1.1, 2.1}),
		arr("x2", "avg", "test", []float64{1, 2}, []float64{1.1, 2.2}),
		arr("x3", "0", "val", []float64{1, 2}, []float64{1.5, 2.5}),
		arr("x4", "0", "test", []float64{1, 2}, []float64{1.5, 2.5}),
		arr("x5", "0", "test", []float64{1, 2}, []float64{1, 2}),
	})
	writeOS(t, filepath.Join(ws, "arrays", "_tombstones.json"), `{"x5": 1770000000.5}`)
	writeOS(t, filepath.Join(ws, "arrays", "wheat.parquet.lock"), "")
	writeOS(t, filepath.Join(ws, "arrays", "corn.parquet.tmp"), "partial")
	writeOS(t, filepath.Join(ws, "artifacts", "3f", storeModelSHA+".joblib"), "joblib-bytes")
	writeOS(t, filepath.Join(ws, "artifacts", "ab", "abcdef.joblib"), "min")
	writeOS(t, filepath.Join(ws, "exports", "wheat", "x.csv"), "y_pred,y_true\n")
	return ws
}

func TestWorkspaceImportStore(t *testing.T) {
	ctx := context.Background()
	ws := storeWorkspace(t)
	s := backingtest.NewStore(t)
	cat, err := catalog.Open(ctx, s, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan := importInto(t, s, ws)
	dest := map[string]string{}
	for _, p := range plan.Pipelines {
		dest[p.Source] = p.Dest
	}
	want := map[string]string{"store.sqlite#p-early": "0001_pls_bbbbbb", "store.sqlite#p-late": "0002_config_aaaaaa",
		"store.sqlite#p-failed": "0003_config_cccccc"}
	for src, d := range want {
		if dest[src] != d {
			t.Errorf("%s → %q, want %q (%v)", src, dest[src], d, dest)
		}
	}
	r := "runs/wheat/"
	checkOriginals(t, s, ws, map[string]string{
		"arrays/wheat.parquet":                      r + "_nirs4all/arrays/wheat.parquet",
		"arrays/_tombstones.json":                   r + "_nirs4all/arrays/_tombstones.json",
		"artifacts/3f/" + storeModelSHA + ".joblib": r + "_binaries/model_PLSRegression_3fa2c1d4e5b6.joblib",
	})
	if got := storeBytes(t, s, r+"0001_pls_bbbbbb/pipeline.json"); got != storeConfig+"\n" {
		t.Errorf("pipeline.json = %q", got)
	}
	info, err := nirs4all.ParseManifest([]byte(storeBytes(t, s, r+"0001_pls_bbbbbb/manifest.yaml")))
	if err != nil || len(info.Artifacts) != 1 || info.Artifacts[0].Path != "model_PLSRegression_3fa2c1d4e5b6.joblib" || info.Artifacts[0].Step != 1 {
		t.Errorf("manifest: %v %+v", err, info)
	}
	m, err := nirs4all.ParseMetrics([]byte(storeBytes(t, s, r+"0002_config_aaaaaa/metrics.json")))
	if err != nil || m.Scores["test"]["rmse"] != 0.5 {
		t.Errorf("0002 metrics (the tombstoned Ridge row must be left out): %v %+v", err, m)
	}
	if got := storeBytes(t, s, r+"0003_config_cccccc/error.log"); got != "ValueError: boom\n" {
		t.Errorf("error.log = %q", got)
	}
	if _, err := s.ResolvePath(ctx, r+"0003_config_cccccc/metrics.json"); err == nil {
		t.Error("a pipeline without predictions got metrics.json")
	}
	checkStoreReport(t, plan)
	checkBest(t, cat, "wheat", "0001_pls_bbbbbb")
	again := importInto(t, s, ws)
	if again.New() != 0 || len(again.writes) != 0 || len(again.Pipelines) != 3 {
		t.Errorf("second import: new %d, writes %+v, %+v", again.New(), again.writes, again.Pipelines)
	}
}

func TestWorkspaceImportStoreRenumbers(t *testing.T) {
	ws := storeWorkspace(t)
	s := backingtest.NewStore(t)
	backingtest.WriteFile(t, s, "runs/wheat/0001_other_zzzzzz/pipeline.json", "[]")
	plan := importInto(t, s, ws)
	for _, p := range plan.Pipelines {
		if p.Source == "store.sqlite#p-early" && p.Dest != "0002_pls_bbbbbb" {
			t.Errorf("p-early → %s, want the number after the folder already there, 0002_pls_bbbbbb", p.Dest)
		}
	}
	if again := importInto(t, s, ws); again.New() != 0 {
		t.Errorf("second import after renumbering: %+v", again.Pipelines)
	}
}

func TestWorkspaceImportStoreRefusals(t *testing.T) {
	ctx := context.Background()
	tree := catalog.StoreTree{S: backingtest.NewStore(t)}
	duck := t.TempDir()
	writeOS(t, filepath.Join(duck, "store.duckdb"), "DUCK")
	if _, err := PlanWorkspace(ctx, os.DirFS(duck), tree, ""); err == nil || !strings.Contains(err.Error(), "store.duckdb") {
		t.Errorf("store.duckdb: %v", err)
	}
	bad := t.TempDir()
	writeOS(t, filepath.Join(bad, "store.sqlite"), "not a database at all, just text")
	if _, err := PlanWorkspace(ctx, os.DirFS(bad), tree, ""); err == nil || !strings.Contains(err.Error(), "store.sqlite") {
		t.Errorf("corrupt store.sqlite: %v", err)
	}
	ws := storeWorkspace(t)
	writeOS(t, filepath.Join(ws, "arrays", "wheat.parquet"), "PAR1 broken")
	plan, err := PlanWorkspace(ctx, os.DirFS(ws), tree, "")
	if err != nil || plan.New() != 3 || !strings.Contains(strings.Join(plan.Notes, "\n"), "arrays/wheat.parquet: cannot read predictions") {
		t.Errorf("broken arrays: %v %+v", err, plan)
	}
	if _, err := PlanWorkspace(ctx, os.DirFS(ws), tree, "corn"); err == nil {
		t.Error("--dataset corn: no error")
	}
}

// checkStoreReport checks the skipped entries and the tombstone note.
func checkStoreReport(t *testing.T, plan *Plan) {
	t.Helper()
	skipped := map[string]string{}
	for _, sk := range plan.Skipped {
		skipped[sk.Path] = sk.Reason
	}
	for _, p := range []string{"exports/", "arrays/wheat.parquet.lock", "arrays/corn.parquet.tmp", "artifacts/ab/abcdef.joblib"} {
		if skipped[p] == "" {
			t.Errorf("%s not listed as skipped: %v", p, skipped)
		}
	}
	if notes := strings.Join(plan.Notes, "\n"); !strings.Contains(notes, "store.sqlite#p-late (0002_config_aaaaaa): 1 predictions deleted in nirs4all") {
		t.Errorf("notes: %s", notes)
	}
}

// TestWorkspaceImportStoreWAL reads rows still in store.sqlite-wal.
func TestWorkspaceImportStoreWAL(t *testing.T) {
	ws := storeWorkspace(t)
	db, err := sql.Open("sqlite3", filepath.Join(ws, "store.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{`PRAGMA wal_autocheckpoint = 0`,
		`INSERT INTO pipelines VALUES ('p-wal', 'r1', 'late_eeeeee', '[]', 'wheat', 'running', '2026-02-11T00:00:00', NULL, NULL, NULL, NULL, NULL)`} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(ws, "store.sqlite-wal")); err != nil {
		t.Skip("no -wal file kept open:", err)
	}
	plan, err := PlanWorkspace(context.Background(), os.DirFS(ws), catalog.StoreTree{S: backingtest.NewStore(t)}, "")
	if err != nil || plan.New() != 4 {
		t.Fatalf("%v %+v", err, plan)
	}
	for _, sk := range plan.Skipped {
		if sk.Path == "store.sqlite-shm" && sk.Reason != "" {
			return
		}
	}
	t.Errorf("store.sqlite-shm not skipped: %+v", plan.Skipped)
}
