package importer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/n4ws/n4ws/catalog"
)

// nirs4all's <ds>.meta.parquet and <ds>.arrays.parquet columns (§3.8).
type n4aMeta struct {
	ID              string   `parquet:"id"`
	DatasetName     string   `parquet:"dataset_name"`
	ConfigName      string   `parquet:"config_name"`
	ConfigPath      string   `parquet:"config_path"`
	PipelineUID     string   `parquet:"pipeline_uid"`
	StepIdx         int64    `parquet:"step_idx"`
	OpCounter       int64    `parquet:"op_counter"`
	ModelName       string   `parquet:"model_name"`
	ModelClassname  string   `parquet:"model_classname"`
	FoldID          string   `parquet:"fold_id"`
	Partition       string   `parquet:"partition"`
	ValScore        *float64 `parquet:"val_score,optional"`
	TestScore       *float64 `parquet:"test_score,optional"`
	Metric          string   `parquet:"metric"`
	TaskType        string   `parquet:"task_type"`
	NSamples        int64    `parquet:"n_samples"`
	NFeatures       int64    `parquet:"n_features"`
	Preprocessings  string   `parquet:"preprocessings"`
	BestParams      string   `parquet:"best_params"`
	YTrueID         string   `parquet:"y_true_id"`
	YPredID         string   `parquet:"y_pred_id"`
	SampleIndicesID string   `parquet:"sample_indices_id"`
	Scores          string   `parquet:"scores"`
}

type n4aArray struct {
	ArrayID    string    `parquet:"array_id"`
	ArrayData  []float64 `parquet:"array_data,list"`
	ArrayHash  string    `parquet:"array_hash"`
	ArraySize  int64     `parquet:"array_size"`
	ArrayShape string    `parquet:"array_shape"`
	ArrayType  string    `parquet:"array_type"`
}

// n4aPred is one (pipeline, model, fold, partition) of a fixture.
type n4aPred struct {
	pid, model, fold, part string
	yTrue, yPred           []float64
}

func writeParquetFile[T any](t testing.TB, p string, rows []T) {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	writeOS(t, p, buf.String())
}

// writePredParquet writes <ws>/<ds>.meta.parquet and .arrays.parquet.
func writePredParquet(t *testing.T, ws, ds string, rows []n4aPred) {
	var metas []n4aMeta
	var arrays []n4aArray
	add := func(kind string, v []float64) string {
		id := fmt.Sprintf("array_%012d", len(arrays))
		arrays = append(arrays, n4aArray{ArrayID: id, ArrayData: v, ArraySize: int64(len(v)),
			ArrayShape: fmt.Sprintf("[%d]", len(v)), ArrayType: kind})
		return id
	}
	for i, r := range rows {
		idx := make([]float64, len(r.yTrue))
		for j := range idx {
			idx[j] = float64(100*i + j)
		}
		metas = append(metas, n4aMeta{ID: fmt.Sprintf("%016x", i), DatasetName: ds, ConfigName: r.pid,
			ConfigPath: ds + "/" + r.pid, PipelineUID: r.pid, StepIdx: 3, ModelName: r.model,
			ModelClassname: "PLSRegression", FoldID: r.fold, Partition: r.part, Metric: "mse",
			TaskType: catalog.TaskRegression, NSamples: int64(len(r.yTrue)), NFeatures: 700,
			BestParams: `{"n_components": 5}`, YTrueID: add("y_true", r.yTrue), YPredID: add("y_pred", r.yPred),
			SampleIndicesID: add("indices", idx)})
	}
	writeParquetFile(t, filepath.Join(ws, ds+".meta.parquet"), metas)
	writeParquetFile(t, filepath.Join(ws, ds+".arrays.parquet"), arrays)
}

func writeOS(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const fixtureManifestC = `uid: 8c1f0e2a-0000-4000-8000-%s
pipeline_id: %s
name: %s
dataset: wheat
created_at: '2025-12-20T09:12:03.512+00:00'
version: '1.0'
schema_version: '2.0'
pipeline:
  steps:
  - sklearn.preprocessing._data.MinMaxScaler
  - model:
      class: sklearn.cross_decomposition._pls.PLSRegression
      params: {n_components: 5}
artifacts:
  schema_version: '2.0'
  items:
  - artifact_id: %s$abc:all
    path: model_PLSRegression_3fa2c1d4e5b6.joblib
    artifact_type: !!python/object/apply:nirs4all.pipeline.ArtifactType [model]
    class_name: PLSRegression
    step_index: 1
`

const fixturePipelineJSON = `[
  "sklearn.preprocessing._data.MinMaxScaler",
  {
    "model": {
      "class": "sklearn.cross_decomposition._pls.PLSRegression",
      "params": {"n_components": %d}
    }
  }
]
`

// eraCWorkspace builds an era C workspace: three pipelines of wheat (the
// second with CV folds and avg rows, the third failed), best_*.csv,
// _binaries/, binaries/wheat/, the parquet pair, and exports/ to skip.
func eraCWorkspace(t *testing.T) string {
	ws := t.TempDir()
	run := filepath.Join(ws, "runs", "wheat")
	for i, pid := range []string{"0001_config_aaaaaa", "0002_pls_bbbbbb", "0003_config_cccccc"} {
		writeOS(t, filepath.Join(run, pid, "manifest.yaml"), fmt.Sprintf(fixtureManifestC, fmt.Sprint(i), pid, pid[5:], pid))
		writeOS(t, filepath.Join(run, pid, "pipeline.json"), fmt.Sprintf(fixturePipelineJSON, i+3))
	}
	writeOS(t, filepath.Join(run, "0002_pls_bbbbbb", "folds_KFold_seed42.csv"), "fold_0,fold_1\n0,1\n2,3\n4,\n")
	writeOS(t, filepath.Join(run, "0002_pls_bbbbbb", "2D_Chart.png"), "\x89PNG\r\n\x1a\n\x00binary")
	writeOS(t, filepath.Join(run, "0002_pls_bbbbbb", "Report_best_0002_pls_bbbbbb_PLS_x.csv"), ",Nsample\nCros Val,4\n")
	writeOS(t, filepath.Join(run, "best_0002_pls_bbbbbb.csv"), "y_pred,y_true\n1.1,1\n2.2,2\n")
	writeOS(t, filepath.Join(run, "_binaries", "Branch_abc123.pkl"), "branch-binary")
	writeOS(t, filepath.Join(ws, "binaries", "wheat", "model_PLSRegression_3fa2c1d4e5b6.joblib"), "joblib-bytes")
	writeOS(t, filepath.Join(ws, "exports", "wheat", "x_predictions.csv"), "y_pred,y_true\n")
	writeOS(t, filepath.Join(ws, "library", "templates", "t.json"), "{}")
	writePredParquet(t, ws, "wheat", []n4aPred{
		{"0001_config_aaaaaa", "PLS", "0", "train", []float64{1, 2, 3}, []float64{1.5, 2, 3}},
		{"0001_config_aaaaaa", "PLS", "0", "val", []float64{4, 5}, []float64{4, 6}},
		{"0001_config_aaaaaa", "PLS", "0", "test", []float64{1, 2}, []float64{1.5, 2.5}},
		{"0002_pls_bbbbbb", "PLS", "0", "val", []float64{1, 2}, []float64{9, 9}},
		{"0002_pls_bbbbbb", "PLS", "1", "val", []float64{3, 4}, []float64{9, 9}},
		{"0002_pls_bbbbbb", "PLS", "avg", "val", []float64{1, 2, 3, 4}, []float64{1.1, 2.1, 3, 4}},
		{"0002_pls_bbbbbb", "PLS", "avg", "test", []float64{1, 2}, []float64{1.1, 2.2}},
		{"0002_pls_bbbbbb", "PLS", "avg", "train", []float64{5, 6}, []float64{5, 6}},
	})
	return ws
}
