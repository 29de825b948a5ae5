//go:build linux

package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// Tests of `n4ws import <folder>`: a nirs4all folder workspace (era C)
// imported into a mounted store, checked with cmp, ls and find.

type wsMeta struct {
	ConfigName  string `parquet:"config_name"`
	PipelineUID string `parquet:"pipeline_uid"`
	ModelName   string `parquet:"model_name"`
	FoldID      string `parquet:"fold_id"`
	Partition   string `parquet:"partition"`
	TaskType    string `parquet:"task_type"`
	Metric      string `parquet:"metric"`
	BestParams  string `parquet:"best_params"`
	YTrueID     string `parquet:"y_true_id"`
	YPredID     string `parquet:"y_pred_id"`
}

type wsArray struct {
	ArrayID   string    `parquet:"array_id"`
	ArrayData []float64 `parquet:"array_data,list"`
	ArrayType string    `parquet:"array_type"`
}

func writeParquet[T any](t *testing.T, p string, rows []T) {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, buf.Bytes())
}

// eraCFiles are the original files of the era C workspace, relative to it.
var eraCFiles = []string{
	"runs/wheat/0001_config_aaaaaa/manifest.yaml",
	"runs/wheat/0001_config_aaaaaa/pipeline.json",
	"runs/wheat/0002_pls_bbbbbb/manifest.yaml",
	"runs/wheat/0002_pls_bbbbbb/pipeline.json",
	"runs/wheat/0002_pls_bbbbbb/folds_KFold_seed42.csv",
	"runs/wheat/0002_pls_bbbbbb/2D_Chart.png",
	"runs/wheat/best_0002_pls_bbbbbb.csv",
	"binaries/wheat/model_PLSRegression_3fa2c1d4e5b6.joblib",
	"wheat.meta.parquet",
	"wheat.arrays.parquet",
}

// makeEraC writes a small era C workspace: two pipelines of wheat with
// per-dataset Parquet predictions; 0002 is better on test.
func makeEraC(t *testing.T) string {
	ws := filepath.Join(t.TempDir(), "workspace")
	for i, pid := range []string{"0001_config_aaaaaa", "0002_pls_bbbbbb"} {
		dir := filepath.Join(ws, "runs/wheat", pid)
		writeFile(t, filepath.Join(dir, "manifest.yaml"), fmt.Appendf(nil, `uid: uid-%d
pipeline_id: %s
name: %s
dataset: wheat
created_at: '2025-12-20T09:12:03+00:00'
pipeline:
  steps:
  - sklearn.preprocessing._data.MinMaxScaler
  - model: {class: sklearn.cross_decomposition._pls.PLSRegression}
artifacts:
  schema_version: '2.0'
  items:
  - {path: model_PLSRegression_3fa2c1d4e5b6.joblib, artifact_type: !!python/name:nirs4all.X model}
`, i, pid, pid[5:]))
		writeFile(t, filepath.Join(dir, "pipeline.json"), []byte(`[
  "sklearn.preprocessing._data.MinMaxScaler",
  {"model": {"class": "sklearn.cross_decomposition._pls.PLSRegression", "params": {"n_components": 5}}}
]
`))
	}
	writeFile(t, filepath.Join(ws, "runs/wheat/0002_pls_bbbbbb/folds_KFold_seed42.csv"), []byte("fold_0,fold_1\n0,1\n2,\n"))
	writeFile(t, filepath.Join(ws, "runs/wheat/0002_pls_bbbbbb/2D_Chart.png"), randBytes(7, 40_000))
	writeFile(t, filepath.Join(ws, "runs/wheat/best_0002_pls_bbbbbb.csv"), []byte("y_pred,y_true\n1.1,1\n"))
	writeFile(t, filepath.Join(ws, "binaries/wheat/model_PLSRegression_3fa2c1d4e5b6.joblib"), randBytes(8, 100_000))
	writeFile(t, filepath.Join(ws, "exports/wheat/old.csv"), []byte("y_pred,y_true\n"))
	var metas []wsMeta
	var arrays []wsArray
	arr := func(v ...float64) string {
		id := fmt.Sprintf("array_%012d", len(arrays))
		arrays = append(arrays, wsArray{ArrayID: id, ArrayData: v, ArrayType: "y"})
		return id
	}
	for i, pid := range []string{"0001_config_aaaaaa", "0002_pls_bbbbbb"} {
		off := 0.5 / float64(i+1)
		for _, part := range []string{"train", "val", "test"} {
			metas = append(metas, wsMeta{ConfigName: pid, PipelineUID: pid, ModelName: "PLS", FoldID: "0",
				Partition: part, TaskType: "regression", Metric: "mse", BestParams: `"{'n_components': 5}"`,
				YTrueID: arr(1, 2, 3), YPredID: arr(1+off, 2-off, 3)})
		}
	}
	writeParquet(t, filepath.Join(ws, "wheat.meta.parquet"), metas)
	writeParquet(t, filepath.Join(ws, "wheat.arrays.parquet"), arrays)
	return ws
}

func TestImportWorkspaceEraC(t *testing.T) {
	store := newStore(t)
	mnt := mountStore(t, store)
	ws := makeEraC(t)
	out := n4ws(t, store, "import", ws)
	if !strings.Contains(out, "2 new pipeline folders") || !strings.Contains(out, "skipped exports/") {
		t.Errorf("first import:\n%s", out)
	}
	ds := filepath.Join(mnt, "runs/wheat")
	for _, f := range eraCFiles {
		dst := strings.TrimPrefix(f, "runs/wheat/")
		switch {
		case strings.HasPrefix(f, "binaries/wheat/"):
			dst = "_binaries/" + filepath.Base(f)
		case !strings.HasPrefix(f, "runs/") || strings.HasPrefix(dst, "best_"):
			dst = "_nirs4all/" + filepath.Base(f)
		}
		cmpFiles(t, filepath.Join(ws, f), filepath.Join(ds, dst))
	}
	wantBest(t, ds, "0002_pls_bbbbbb", filepath.Join(ds, "0002_pls_bbbbbb/predictions.csv"))
	run(t, "", "python3", "-c", `import json, sys
m = json.load(open(sys.argv[1]))
assert m["task_type"] == "regression" and m["test"]["samples"] == 3, m
assert m["nirs4all_import"]["best_params"] == {"n_components": 5}, m`, filepath.Join(ds, "0002_pls_bbbbbb/metrics.json"))
	if got := lsNames(t, filepath.Join(mnt, "exports/wheat")); len(got) == 0 {
		t.Error("exports/wheat is empty after the import")
	}
	before := sh(t, "find "+ds+" | sort | xargs -d '\\n' ls -ld --time-style=+%s | md5sum")
	again := n4ws(t, store, "import", ws)
	if !strings.Contains(again, "0 new pipeline folders, 2 already imported") {
		t.Errorf("second import:\n%s", again)
	}
	if after := sh(t, "find "+ds+" | sort | xargs -d '\\n' ls -ld --time-style=+%s | md5sum"); after != before {
		t.Error("the second import changed runs/wheat")
	}
}

func TestImportNotAWorkspace(t *testing.T) {
	store := newStore(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "notes.txt"), []byte("x"))
	out, code := n4wsFail(t, store, "import", dir)
	if code == 0 || !strings.Contains(out, "not a nirs4all workspace") {
		t.Errorf("code %d: %s", code, out)
	}
	ws := makeEraC(t)
	out, _ = n4wsFail(t, store, "import", filepath.Dir(ws))
	if !strings.Contains(out, "import workspace/ instead") {
		t.Errorf("parent folder: %s", out)
	}
}

// makeEraA writes two dated era A runs of corn whose 0001 folders clash,
// with corn.json holding arrays as JSON strings and a Python-repr
// best_params.
func makeEraA(t *testing.T) string {
	ws := filepath.Join(t.TempDir(), "ws")
	var rows []map[string]any
	for i, run := range []string{"2025-10-30_corn", "2025-11-02_corn"} {
		pid := fmt.Sprintf("0001_config_%06d", i)
		dir := filepath.Join(ws, "runs", run, pid)
		writeFile(t, filepath.Join(dir, "manifest.yaml"), fmt.Appendf(nil,
			"uid: u%d\npipeline_id: %s\nname: %s\ndataset: corn\npipeline:\n  steps:\n  - sklearn.cross_decomposition._pls.PLSRegression\nartifacts: []\npredictions: []\n", i, pid, pid[5:]))
		writeFile(t, filepath.Join(dir, "pipeline.json"), []byte(`["sklearn.cross_decomposition._pls.PLSRegression"]`))
		writeFile(t, filepath.Join(ws, "runs", run, "Best_prediction_"+pid+"_PLS_abc.csv"), []byte("y_pred,y_true\n1,1\n"))
		for _, part := range []string{"val", "test"} {
			rows = append(rows, map[string]any{"config_name": pid, "pipeline_uid": pid, "model_name": "PLS",
				"fold_id": "0", "partition": part, "task_type": "regression", "metric": "mse",
				"y_true": "[1.0, 2.0, 3.0]", "y_pred": fmt.Sprintf("[1.%d, 2.0, 3.0]", i+1),
				"best_params": `"{'n_components': 5}"`})
		}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(ws, "corn.json"), b)
	return ws
}

func TestImportWorkspaceEraA(t *testing.T) {
	store := newStore(t)
	ws := makeEraA(t)
	out := n4ws(t, store, "import", ws) // without a mount
	if !strings.Contains(out, "renumbered runs/2025-11-02_corn/0001_config_000001 → runs/corn/0002_config_000001") {
		t.Errorf("import:\n%s", out)
	}
	mnt := mountStore(t, store)
	ds := filepath.Join(mnt, "runs/corn")
	cmpFiles(t, filepath.Join(ws, "runs/2025-11-02_corn/0001_config_000001/manifest.yaml"), filepath.Join(ds, "0002_config_000001/manifest.yaml"))
	cmpFiles(t, filepath.Join(ws, "corn.json"), filepath.Join(ds, "_nirs4all/corn.json"))
	cmpFiles(t, filepath.Join(ws, "runs/2025-10-30_corn/Best_prediction_0001_config_000000_PLS_abc.csv"),
		filepath.Join(ds, "Best_prediction_0001_config_000000_PLS_abc.csv"))
	wantBest(t, ds, "0001_config_000000", filepath.Join(ds, "0001_config_000000/predictions.csv"))
	if again := n4ws(t, store, "import", ws); !strings.Contains(again, "0 new pipeline folders") {
		t.Errorf("second import:\n%s", again)
	}
}
