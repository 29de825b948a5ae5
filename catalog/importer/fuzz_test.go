package importer

// Fuzz targets for what `n4ws import` reads from a nirs4all workspace: era
// A's <ds>.json, eras B/C's <ds>.meta.parquet + <ds>.arrays.parquet, era
// 0's JSON and the rows of a current store.sqlite. Each checks that bad
// input is an error or a skipped row, never a panic; that every pipeline
// folder named by a row is a plain folder name (it becomes a path); and
// that the metrics.json and predictions.csv synthesised from the rows read
// back with the catalog's own parsers. Parquet seeds are the files of the
// era C fixture (testdata/fuzz/FuzzRowsFromParquet/, made by
// TestWriteParquetSeeds with N4WS_WRITE_FUZZ_SEEDS=1).

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/backing/backingtest"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// checkRows applies the invariants of every per-dataset row source.
func checkRows(t *testing.T, rows []importRow) {
	t.Helper()
	for _, r := range rows {
		if !nirs4all.IsPipelineFolder(r.PID) || len(r.YTrue) != len(r.YPred) {
			t.Fatalf("row of %q with %d/%d values", r.PID, len(r.YTrue), len(r.YPred))
		}
	}
	for pid, rs := range groupRows(rows) {
		files, ok := synthesize(rs)
		if !ok {
			continue
		}
		if _, err := nirs4all.ParsePredictions(files.Predictions, 0); err != nil {
			var pe *nirs4all.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%s: synthesised predictions.csv: %v", pid, err)
			}
		}
		if _, err := nirs4all.ParseMetrics(files.Metrics); err != nil && !json.Valid(files.Metrics) {
			t.Fatalf("%s: synthesised metrics.json is not JSON: %s", pid, files.Metrics)
		}
	}
}

func FuzzRowsFromJSON(f *testing.F) {
	good, err := json.Marshal([]map[string]any{
		eraARow("0001_pls_a1b2c3", "0", "val", "[1, 2]", "[1.5, 2.5]"),
		eraARow("0001_pls_a1b2c3", "avg", "test", "[1.0, 2.0]", "array([1.1, 2.2])"),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`[{"config_name": "../../0001_x", "y_true": "[1]", "y_pred": "[1]"}, 3, null]`))
	f.Add([]byte(`[{"pipeline_uid": "0001_a_b", "y_true": "[nan, inf]", "y_pred": "[1e999, -0.0]", "partition": "test"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, _, err := rowsFromJSON(data)
		if err == nil {
			checkRows(t, rows)
		}
	})
}

func FuzzRowsFromParquet(f *testing.F) {
	f.Add([]byte("PAR1"), []byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Fuzz(func(t *testing.T, meta, arrays []byte) {
		rows, _, err := rowsFromParquet(meta, arrays)
		if err == nil {
			checkRows(t, rows)
		}
	})
}

// TestWriteParquetSeeds writes the era C fixture's parquet pair as a seed
// of FuzzRowsFromParquet (run once with N4WS_WRITE_FUZZ_SEEDS=1).
func TestWriteParquetSeeds(t *testing.T) {
	if os.Getenv("N4WS_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set N4WS_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz/FuzzRowsFromParquet/")
	}
	ws := eraCWorkspace(t)
	meta, err := os.ReadFile(filepath.Join(ws, "wheat.meta.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	arrays, err := os.ReadFile(filepath.Join(ws, "wheat.arrays.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	dir := "testdata/fuzz/FuzzRowsFromParquet"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(%q)\n", meta, arrays)
	if err := os.WriteFile(filepath.Join(dir, "era_c_wheat"), []byte(seed), 0o644); err != nil {
		t.Fatal(err)
	}
}

func FuzzEra0Objects(f *testing.F) {
	f.Add([]byte(`{"config": "a", "y_true": [1, 2]}` + "\n" + `{"config": "b"}`))
	f.Add([]byte(`[{"config": {"deep": [1, {"x": null}]}}]`))
	f.Add([]byte("{\"a\": NaN}\n\n{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := era0Objects(data)
		if err != nil {
			return
		}
		cfgs := map[string]bool{}
		for _, o := range objs {
			era0Config(o, cfgs) // any answer, no panic
		}
	})
}

// storeCells are the store.sqlite cells FuzzStoreImport may replace: the
// text columns the import reads.
var storeCells = []struct{ table, column string }{
	{"pipelines", "pipeline_id"}, {"pipelines", "name"}, {"pipelines", "expanded_config"},
	{"pipelines", "dataset_name"}, {"pipelines", "status"}, {"pipelines", "created_at"},
	{"pipelines", "error"}, {"pipelines", "run_id"}, {"runs", "created_at"}, {"runs", "name"},
	{"chains", "steps"}, {"chains", "model_class"}, {"chains", "fold_artifacts"}, {"chains", "shared_artifacts"},
	{"predictions", "fold_id"}, {"predictions", "partition"}, {"predictions", "best_params"},
	{"predictions", "model_name"}, {"predictions", "dataset_name"}, {"predictions", "task_type"},
	{"artifacts", "artifact_path"}, {"artifacts", "content_hash"}, {"artifacts", "operator_class"},
	{"artifacts", "format"},
}

// FuzzStoreImport replaces one cell of one row of the nirs4all 0.11
// store fixture with fuzzed text, then plans its import:
// any value is an error, a skip or a plan, and every write of the plan
// lands below runs/ under a clean path.
func FuzzStoreImport(f *testing.F) {
	f.Add(uint8(2), "[{\"model\": {\"class\": \"x.Y\"}}]")
	f.Add(uint8(3), "../../etc")
	f.Add(uint8(3), "a/b")
	f.Add(uint8(10), `[{"step_idx": "1", "artifact_id": ["x"]}]`)
	f.Add(uint8(20), "../../../outside.pkl")
	f.Add(uint8(15), "\x00")
	fixture := storeWorkspace(f)
	s := backingtest.NewStore(f) // only read: plans write nothing
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		cell := storeCells[int(which)%len(storeCells)]
		ws := t.TempDir()
		if err := os.CopyFS(ws, os.DirFS(fixture)); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite3", filepath.Join(ws, "store.sqlite"))
		if err != nil {
			t.Fatal(err)
		}
		// One row: which, divided by the cells, picks it.
		_, err = db.Exec(fmt.Sprintf(`UPDATE %[1]s SET %[2]s = ? WHERE rowid = (SELECT rowid FROM %[1]s ORDER BY rowid
			LIMIT 1 OFFSET ? %% max(1, (SELECT count(*) FROM %[1]s)))`, cell.table, cell.column), value, int(which)/len(storeCells))
		db.Close()
		if err != nil {
			return // a value the schema refuses (a duplicate key): nothing to import
		}
		plan, err := PlanWorkspace(context.Background(), os.DirFS(ws), catalog.StoreTree{S: s}, "")
		if err != nil {
			return
		}
		for _, w := range plan.writes {
			if !strings.HasPrefix(w.dst, "runs/") || path.Clean(w.dst) != w.dst || strings.Contains(w.dst, "\x00") {
				t.Fatalf("%s.%s = %q: the plan writes %q", cell.table, cell.column, value, w.dst)
			}
		}
	})
}
