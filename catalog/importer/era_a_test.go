package importer

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/backing/backingtest"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

const fixtureManifestA = `uid: %s
pipeline_id: %s
name: %s
dataset: wheat
created_at: '2025-10-30T09:12:03.512+00:00'
version: '1.0'
pipeline:
  steps:
  - sklearn.preprocessing._data.MinMaxScaler
  - sklearn.cross_decomposition._pls.PLSRegression
metadata: {}
artifacts:
- hash: sha256:9be4d1aaaa
  name: PLSRegression_1.pkl
  path: PLSRegression_9be4d1.joblib
  format: !!python/object/apply:nirs4all.utils.Format [joblib]
  step: 1
- name: folds
  path: /home/u/ws/runs/2025-10-30_wheat/%s/folds_KFold.csv
  type: folds_csv
predictions: []
`

// eraARow is one row of era A's <ds>.json: arrays as JSON strings,
// best_params a JSON-quoted Python repr.
func eraARow(pid, fold, part string, yTrue, yPred string) map[string]any {
	return map[string]any{"id": "abc123", "dataset_name": "wheat", "config_name": pid,
		"config_path": "wheat/" + pid, "pipeline_uid": pid, "step_idx": 1, "op_counter": 0,
		"model_name": "PLSRegression", "model_classname": "PLSRegression", "fold_id": fold,
		"partition": part, "y_true": yTrue, "y_pred": yPred, "sample_indices": "[0, 1]",
		"weights": "null", "metadata": "{}", "val_score": 0.1, "test_score": nil, "metric": "mse",
		"task_type": "regression", "n_samples": 2, "n_features": 700,
		"best_params": `"{'n_components': 5, 'scale': True}"`}
}

// eraAWorkspace: two dated runs of wheat whose numbers clash, shared and
// clashing _binaries/, Best_prediction CSVs and wheat.json.
func eraAWorkspace(t *testing.T) string {
	ws := t.TempDir()
	runs := map[string][]string{
		"2025-10-30_wheat": {"0001_config_aaaaaa", "0002_config_bbbbbb"},
		"2025-11-02_wheat": {"0001_config_dddddd", "0002_config_bbbbbb"},
	}
	for run, pids := range runs {
		for _, pid := range pids {
			dir := filepath.Join(ws, "runs", run, pid)
			writeOS(t, filepath.Join(dir, "manifest.yaml"), fmt.Sprintf(fixtureManifestA, run+pid, pid, pid[5:], pid))
			writeOS(t, filepath.Join(dir, "pipeline.json"), fmt.Sprintf(fixturePipelineJSON, 5))
		}
		writeOS(t, filepath.Join(ws, "runs", run, "_binaries", "PLSRegression_9be4d1.joblib"), "same-binary")
		writeOS(t, filepath.Join(ws, "runs", run, "_binaries", "MinMaxScaler_111111.joblib"), "scaler of "+run)
		writeOS(t, filepath.Join(ws, "runs", run, "Best_prediction_"+pids[0]+"_PLS_abc123.csv"), "y_pred,y_true\n1,1\n")
	}
	var rows []map[string]any
	for _, pid := range []string{"0001_config_aaaaaa", "0001_config_dddddd", "0002_config_bbbbbb"} {
		rows = append(rows, eraARow(pid, "0", "train", "[1.0, 2.0]", "[1.0, 2.0]"),
			eraARow(pid, "0", "val", "[3.0, 4.0]", "[3.5, 4.0]"),
			eraARow(pid, "0", "test", "[12.5, 14.2]", "[12.0, 14.2]"))
	}
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	writeOS(t, filepath.Join(ws, "wheat.json"), string(b))
	return ws
}

func TestWorkspaceImportEraA(t *testing.T) {
	ws := eraAWorkspace(t)
	s := backingtest.NewStore(t)
	plan := importInto(t, s, ws)
	dest := map[string]string{}
	for _, p := range plan.Pipelines {
		dest[p.Source] = p.Dest
	}
	want := map[string]string{
		"runs/2025-10-30_wheat/0001_config_aaaaaa": "0001_config_aaaaaa",
		"runs/2025-10-30_wheat/0002_config_bbbbbb": "0002_config_bbbbbb",
		"runs/2025-11-02_wheat/0001_config_dddddd": "0003_config_dddddd",
		"runs/2025-11-02_wheat/0002_config_bbbbbb": "0004_config_bbbbbb",
	}
	if !reflect.DeepEqual(dest, want) {
		t.Errorf("mapping %v, want %v", dest, want)
	}
	notes := strings.Join(plan.Notes, "\n")
	for _, w := range []string{"renumbered runs/2025-11-02_wheat/0001_config_dddddd → runs/wheat/0003_config_dddddd",
		"rows of 0002_config_bbbbbb go to the later one",
		"kept as runs/wheat/_nirs4all/2025-11-02_wheat/_binaries/MinMaxScaler_111111.joblib"} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
	checkOriginals(t, s, ws, map[string]string{
		"runs/2025-11-02_wheat/0001_config_dddddd/manifest.yaml":                  "runs/wheat/0003_config_dddddd/manifest.yaml",
		"runs/2025-10-30_wheat/_binaries/PLSRegression_9be4d1.joblib":             "runs/wheat/_binaries/PLSRegression_9be4d1.joblib",
		"runs/2025-10-30_wheat/_binaries/MinMaxScaler_111111.joblib":              "runs/wheat/_binaries/MinMaxScaler_111111.joblib",
		"runs/2025-11-02_wheat/_binaries/MinMaxScaler_111111.joblib":              "runs/wheat/_nirs4all/2025-11-02_wheat/_binaries/MinMaxScaler_111111.joblib",
		"runs/2025-11-02_wheat/Best_prediction_0001_config_dddddd_PLS_abc123.csv": "runs/wheat/Best_prediction_0001_config_dddddd_PLS_abc123.csv",
		"wheat.json": "runs/wheat/_nirs4all/wheat.json",
	})
	m, err := nirs4all.ParseMetrics([]byte(storeBytes(t, s, "runs/wheat/0003_config_dddddd/metrics.json")))
	if err != nil || m.Scores["test"]["rmse"] == 0 || m.Samples["val"] != 2 {
		t.Fatalf("metrics %+v %v", m, err)
	}
	var doc struct {
		Import struct {
			BestParams map[string]any `json:"best_params"`
		} `json:"nirs4all_import"`
	}
	json.Unmarshal([]byte(storeBytes(t, s, "runs/wheat/0003_config_dddddd/metrics.json")), &doc)
	if fmt.Sprint(doc.Import.BestParams) != "map[n_components:5 scale:true]" {
		t.Errorf("best_params %v", doc.Import.BestParams)
	}
	if _, err := s.ResolvePath(t.Context(), "runs/wheat/0002_config_bbbbbb/metrics.json"); err == nil {
		t.Error("the earlier 0002_config_bbbbbb got the later run's rows")
	}
	if again := importInto(t, s, ws); again.New() != 0 || len(again.writes) != 0 {
		t.Errorf("second import: %+v %d writes", again.Pipelines, len(again.writes))
	}
}
