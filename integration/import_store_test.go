//go:build linux

package integration

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"
)

// Tests of `n4ws import <folder>` for a current nirs4all store
// (store.sqlite, arrays/, artifacts/) and an era 0 workspace (results/).

type storeArr struct {
	PredictionID  string    `parquet:"prediction_id"`
	DatasetName   string    `parquet:"dataset_name"`
	FoldID        string    `parquet:"fold_id"`
	Partition     string    `parquet:"partition"`
	YTrue         []float64 `parquet:"y_true,list"`
	YPred         []float64 `parquet:"y_pred,list"`
	SampleIndices []int32   `parquet:"sample_indices,list"`
}

const soySHA = "9be4d1aa00112233445566778899aabbccddeeff00112233445566778899aabb"

// makeStore writes a nirs4all 0.11 workspace of soy: pipelines cfg_aaaaaa
// (created first) and pls_bbbbbb (better on test), a tombstoned
// prediction, one model binary.
func makeStore(t *testing.T) string {
	ws := filepath.Join(t.TempDir(), "workspace")
	mkdirAll(t, ws)
	db, err := sql.Open("sqlite3", filepath.Join(ws, "store.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := `[{"class": "sklearn.cross_decomposition._pls.PLSRegression", "params": {"n_components": 5}}]`
	stmts := []string{
		`PRAGMA journal_mode = WAL`,
		`CREATE TABLE pipelines (pipeline_id TEXT, run_id TEXT, name TEXT, expanded_config TEXT, dataset_name TEXT, status TEXT, created_at TEXT)`,
		`CREATE TABLE chains (chain_id TEXT, pipeline_id TEXT, steps TEXT, model_class TEXT)`,
		`CREATE TABLE predictions (prediction_id TEXT, pipeline_id TEXT, chain_id TEXT, dataset_name TEXT, model_name TEXT, model_class TEXT, fold_id TEXT, partition TEXT, metric TEXT, task_type TEXT)`,
		`CREATE TABLE artifacts (artifact_id TEXT, artifact_path TEXT, content_hash TEXT, operator_class TEXT, format TEXT)`,
		`PRAGMA user_version = 5`,
		`INSERT INTO pipelines VALUES ('pa', 'r', 'cfg_aaaaaa', '` + cfg + `', 'soy', 'completed', '2026-03-01T10:00:00')`,
		`INSERT INTO pipelines VALUES ('pb', 'r', 'pls_bbbbbb', '` + cfg + `', 'soy', 'completed', '2026-03-01T11:00:00')`,
		`INSERT INTO chains VALUES ('cb', 'pb', '[{"step_idx": 0, "artifact_id": "am"}]', 'PLSRegression')`,
		`INSERT INTO artifacts VALUES ('am', '9b/` + soySHA + `.joblib', '` + soySHA + `', 'sklearn.cross_decomposition._pls.PLSRegression', 'joblib')`,
	}
	var arrays []storeArr
	for i, p := range []struct{ id, pipe, part string }{{"a1", "pa", "val"}, {"a2", "pa", "test"}, {"b1", "pb", "val"}, {"b2", "pb", "test"}, {"b3", "pb", "test"}} {
		model := "PLS"
		if p.id == "b3" {
			model = "Ridge"
		}
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO predictions VALUES ('%s', '%s', 'c%s', 'soy', '%s', 'PLSRegression', '0', '%s', 'mse', 'regression')`, p.id, p.pipe, model, model, p.part))
		off := []float64{0.5, 0.5, 0.1, 0.1, 5}[i]
		arrays = append(arrays, storeArr{PredictionID: p.id, DatasetName: "soy", FoldID: "0", Partition: p.part,
			YTrue: []float64{1, 2, 3}, YPred: []float64{1 + off, 2, 3}, SampleIndices: []int32{4, 5, 6}})
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	writeParquet(t, filepath.Join(ws, "arrays/soy.parquet"), arrays)
	writeFile(t, filepath.Join(ws, "arrays/_tombstones.json"), []byte(`{"b3": 1772000000.0}`))
	writeFile(t, filepath.Join(ws, "arrays/soy.parquet.lock"), nil)
	writeFile(t, filepath.Join(ws, "artifacts/9b/"+soySHA+".joblib"), randBytes(9, 50_000))
	return ws
}

func TestImportStore(t *testing.T) {
	store := newStore(t)
	mnt := mountStore(t, store)
	ws := makeStore(t)
	out := n4ws(t, store, "import", ws)
	if !strings.Contains(out, "2 new pipeline folders") || !strings.Contains(out, "skipped arrays/soy.parquet.lock") {
		t.Errorf("first import:\n%s", out)
	}
	ds := filepath.Join(mnt, "runs/soy")
	cmpFiles(t, filepath.Join(ws, "arrays/soy.parquet"), filepath.Join(ds, "_nirs4all/arrays/soy.parquet"))
	cmpFiles(t, filepath.Join(ws, "artifacts/9b/"+soySHA+".joblib"), filepath.Join(ds, "_binaries/artifact_PLSRegression_9be4d1aa0011.joblib"))
	if got := readFile(t, filepath.Join(ds, "0002_pls_bbbbbb/manifest.yaml")); !strings.Contains(got, "path: artifact_PLSRegression_9be4d1aa0011.joblib") {
		t.Errorf("manifest.yaml:\n%s", got)
	}
	wantBest(t, ds, "0002_pls_bbbbbb", filepath.Join(ds, "0002_pls_bbbbbb/predictions.csv"))
	again := n4ws(t, store, "import", ws)
	if !strings.Contains(again, "0 new pipeline folders, 2 already imported") {
		t.Errorf("second import:\n%s", again)
	}
}

func TestImportEra0(t *testing.T) {
	store := newStore(t)
	mnt := mountStore(t, store)
	ws := filepath.Join(t.TempDir(), "ws")
	var rows []map[string]any
	for i, cfg := range []string{"config_aaaaaa", "config_bbbbbb"} {
		writeFile(t, filepath.Join(ws, "results/rice", cfg, "pipeline.json"), []byte(`["sklearn.cross_decomposition._pls.PLSRegression"]`))
		for _, part := range []string{"val", "test"} {
			rows = append(rows, map[string]any{"config_name": cfg, "model_name": "PLS", "fold_id": "0",
				"partition": part, "task_type": "regression", "metric": "mse",
				"y_true": "[1.0, 2.0]", "y_pred": fmt.Sprintf("[1.%d, 2.0]", 5-4*i)})
		}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(ws, "results/rice/predictions.json"), b)
	out := n4ws(t, store, "import", ws)
	if !strings.Contains(out, "imported results/rice/config_bbbbbb as runs/rice/0002_config_bbbbbb") {
		t.Errorf("import:\n%s", out)
	}
	ds := filepath.Join(mnt, "runs/rice")
	cmpFiles(t, filepath.Join(ws, "results/rice/config_aaaaaa/pipeline.json"), filepath.Join(ds, "0001_config_aaaaaa/pipeline.json"))
	cmpFiles(t, filepath.Join(ws, "results/rice/predictions.json"), filepath.Join(ds, "_nirs4all/predictions.json"))
	wantBest(t, ds, "0002_config_bbbbbb", filepath.Join(ds, "0002_config_bbbbbb/predictions.csv"))
	before := sh(t, "find "+ds+" | sort | xargs -d '\\n' ls -ld --time-style=+%s | md5sum")
	if again := n4ws(t, store, "import", ws); !strings.Contains(again, "0 new pipeline folders, 2 already imported") {
		t.Errorf("second import:\n%s", again)
	}
	if after := sh(t, "find "+ds+" | sort | xargs -d '\\n' ls -ld --time-style=+%s | md5sum"); after != before {
		t.Error("the second import changed runs/rice")
	}
}
