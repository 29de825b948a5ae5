package nirs4all

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParsePipelineJSONFiles(t *testing.T) {
	tests := []struct {
		file string
		want PipelineInfo
	}{
		{"testdata/pipeline_design.json", PipelineInfo{
			ID: "0042_pls_baseline_x9y8z7", Hash: "x9y8z7", CreatedAt: "2025-10-23T12:05:00Z", DurationSec: 42.5,
			Status: "completed", ModelClass: "sklearn.cross_decomposition.PLSRegression", Model: "PLSRegression",
			Preprocessing: []string{"SNV", "SavitzkyGolay"},
			Artifacts: []Artifact{
				{Name: "SNV", Path: "../_binaries/SNV_aa11bb.pkl", Hash: "sha256:aa11", Step: 1},
				{Name: "PLSRegression", Path: "../_binaries/PLSRegression_cc22dd.pkl", Hash: "sha256:cc22", Step: 4},
			},
		}},
		{"testdata/pipeline_real.json", PipelineInfo{
			ModelClass: "sklearn.cross_decomposition._pls.PLSRegression", Model: "PLSRegression",
			Preprocessing: []string{"MinMaxScaler", "StandardNormalVariate", "Gaussian",
				"MultiplicativeScatterCorrection", "FirstDerivative"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParsePipelineJSON(data)
			if err != nil {
				t.Fatalf("ParsePipelineJSON: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestParsePipelineSteps covers the step shapes of FORMATS.md §3.2, each
// in a bare array: want is model class, then the preprocessing.
func TestParsePipelineSteps(t *testing.T) {
	tests := []struct {
		name, in, model string
		pre             []string
	}{
		{"class paths", `["sklearn.preprocessing._data.StandardScaler", "sklearn.cross_decomposition._pls.PLSRegression"]`,
			"sklearn.cross_decomposition._pls.PLSRegression", []string{"StandardScaler"}},
		{"model keyword as string", `["a.SNV", {"model": "sklearn.svm._classes.SVR", "name": "svr"}]`,
			"sklearn.svm._classes.SVR", []string{"SNV"}},
		{"model keyword as function", `["a.SNV", {"model": {"function": "nirs4all.operators.models.cirad_tf.nicon"}, "name": "nicon"}]`,
			"nirs4all.operators.models.cirad_tf.nicon", []string{"SNV"}},
		{"model keyword wrapping another record", `[{"model": {"estimator": {"class": "x.MyNet"}}}]`, "x.MyNet", nil},
		{"last model wins, earlier models are not preprocessing",
			`["a.MinMaxScaler", {"model": {"class": "sk.PLSRegression"}}, {"model": {"class": "sk.RandomForestRegressor"}}]`,
			"sk.RandomForestRegressor", []string{"MinMaxScaler"}},
		{"estimator heuristic without keyword", `["a.SNV", "xgboost.sklearn.XGBRegressor", "a.Unused"]`,
			"xgboost.sklearn.XGBRegressor", []string{"SNV"}},
		{"CV variant and boosting", `["a.SNV", "sklearn.linear_model.RidgeCV"]`, "sklearn.linear_model.RidgeCV", []string{"SNV"}},
		{"classifier names", `["lightgbm.LGBMClassifier", "a.PLSDA"]`, "a.PLSDA", []string{}},
		{"bare short names", `["SNV", "Ridge"]`, "Ridge", []string{"SNV"}},
		{"split, y_processing, splitters, charts skipped",
			`[{"split": {"class": "sklearn.model_selection.KFold"}}, {"y_processing": "sk.MinMaxScaler"}, "sklearn.model_selection._split.KFold",
			 {"class": "nirs4all.operators.splitters.KennardStone"}, "StratifiedKFold", "ShuffleSplit", "chart_2d", "fold_chart", "a.SNV", "sk.Lasso"]`,
			"sk.Lasso", []string{"SNV"}},
		{"preprocessing keyword and nested augmentation",
			`[{"preprocessing": "a.StandardScaler"}, {"sample_augmentation": {"transformers": ["a.Rotate_Translate"], "count": 2, "balance": "y"}},
			 {"feature_augmentation": {"_or_": ["a.Detrend", "a.Gaussian"], "size": 1}}, {"model": "sk.PLSRegression"}]`,
			"sk.PLSRegression", []string{"StandardScaler", "Rotate_Translate", "Detrend", "Gaussian"}},
		{"function step is preprocessing", `[{"function": "a.b.savgol", "params": {"w": 11}}, "sk.SVC"]`, "sk.SVC", []string{"savgol"}},
		{"non-operator values ignored", `[1, true, null, "not a class", "lower.case_fn", {"name": "PLS10"}, "sk.SVR"]`,
			"sk.SVR", nil},
		{"no model", `["a.SNV", "a.Detrend"]`, "", []string{"SNV", "Detrend"}},
		{"empty", `[]`, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePipelineJSON([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParsePipelineJSON: %v", err)
			}
			wantShort := tt.model[strings.LastIndexByte(tt.model, '.')+1:]
			if got.ModelClass != tt.model || got.Model != wantShort {
				t.Errorf("model = %q (%q), want %q (%q)", got.ModelClass, got.Model, tt.model, wantShort)
			}
			if len(got.Preprocessing) != len(tt.pre) || (len(tt.pre) > 0 && !reflect.DeepEqual(got.Preprocessing, tt.pre)) {
				t.Errorf("preprocessing = %q, want %q", got.Preprocessing, tt.pre)
			}
		})
	}
}

func TestParsePipelineJSONObjectShapes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want PipelineInfo
	}{
		{"design step marked model without an estimator name",
			`{"id": "0001_a1b2c3", "steps": [{"step": 1, "operator": "SNV", "class": "n.SNV"}, {"step": 2, "operator": "model", "class": "my.pkg.Nicon"}]}`,
			PipelineInfo{ID: "0001_a1b2c3", ModelClass: "my.pkg.Nicon", Model: "Nicon", Preprocessing: []string{"SNV"}}},
		{"nirs4all config object with pipeline list, numeric id",
			`{"id": 7, "name": "cfg", "pipeline": ["a.SNV", {"model": "sk.PLSRegression"}], "created_at": "2025-11-18 09:12:03"}`,
			PipelineInfo{ID: "7", Name: "cfg", CreatedAt: "2025-11-18T09:12:03Z", ModelClass: "sk.PLSRegression",
				Model: "PLSRegression", Preprocessing: []string{"SNV"}}},
		{"unreadable date left empty, null fields ignored",
			`{"hash": "abc", "created_at": "yesterday", "status": null, "duration_seconds": null, "artifacts": []}`,
			PipelineInfo{Hash: "abc"}},
		{"V3 and A/B artifact records, output records left out",
			`{"id": "x", "artifacts": [{"class_name": "PLSRegression", "custom_name": "", "content_hash": "sha256:ff", "path": "model_PLSRegression_ff.joblib", "step_index": 3},
			 {"name": "MinMaxScaler_1", "hash": "sha256:ee", "path": "MinMaxScaler_ee.joblib", "step": "1"},
			 {"name": "2D_Chart.png", "path": "/abs/2D_Chart.png", "type": "chart_output"}]}`,
			PipelineInfo{ID: "x", Artifacts: []Artifact{
				{Name: "PLSRegression", Path: "model_PLSRegression_ff.joblib", Hash: "sha256:ff", Step: 3},
				{Name: "MinMaxScaler_1", Path: "MinMaxScaler_ee.joblib", Hash: "sha256:ee", Step: 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePipelineJSON([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParsePipelineJSON: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParsePipelineJSONErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty file"},
		{"not JSON", "steps: [a]", "invalid JSON on line 1"},
		{"truncated", `["a.SNV",`, "unexpected end"},
		{"number", `42`, "want an array of steps or an object, got a number"},
		{"string", `"a.SNV"`, "want an array of steps or an object, got a string"},
		{"foreign object", `{"test": {"rmse": 1}}`, "object has none of id, hash, steps, pipeline, artifacts"},
		{"steps not a list", `{"id": "x", "steps": {"a": 1}}`, "steps: want an array, got an object"},
		{"pipeline not a list", `{"pipeline": "a.SNV"}`, "pipeline: want an array, got a string"},
		{"id of wrong type", `{"id": ["x"]}`, "id: want a string, got an array"},
		{"status of wrong type", `{"id": "x", "status": {"ok": true}}`, "status: want a string, got an object"},
		{"duration text", `{"id": "x", "duration_seconds": "long"}`, "duration_seconds: want a non-negative number"},
		{"duration negative", `{"id": "x", "duration_seconds": -1}`, "duration_seconds: want a non-negative number"},
		{"artifacts not a list", `{"id": "x", "artifacts": {"a": 1}}`, "artifacts: want an array"},
		{"artifact not an object", `{"id": "x", "artifacts": [{"name": "a"}, "b"]}`, "artifacts[1]: want an object, got a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePipelineJSON([]byte(tt.in))
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "pipeline.json" {
				t.Fatalf("err = %v, want a *ParseError for pipeline.json", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestParsePipelineJSONDeep checks that absurd nesting neither crashes nor
// hangs the walk.
func TestParsePipelineJSONDeep(t *testing.T) {
	deep := strings.Repeat("[", 5000) + `"sk.PLSRegression"` + strings.Repeat("]", 5000)
	if _, err := ParsePipelineJSON([]byte(deep)); err != nil {
		t.Fatalf("deep list: %v", err)
	}
	obj := strings.Repeat(`{"branch": `, 5000) + `"sk.PLSRegression"` + strings.Repeat("}", 5000)
	if _, err := ParsePipelineJSON([]byte(obj)); err == nil || !strings.Contains(err.Error(), "object has none") {
		t.Fatalf("deep object: err = %v", err)
	}
}

func TestLooksLikeEstimator(t *testing.T) {
	tests := map[string]bool{
		"PLSRegression": true, "RandomForestRegressor": true, "RandomForestClassifier": true, "SVR": true,
		"LinearSVC": true, "PLSDA": true, "Ridge": true, "KernelRidge": true, "LassoCV": true, "ElasticNet": true,
		"KNeighborsRegressor": true, "XGBRegressor": true, "GradientBoostingRegressor": true, "AdaBoostClassifier": true,
		"LGBMRegressor": true, "NGBoost": true, "CatBoostRegressor": true, "MLPClassifier": true, "LogisticRegressionCV": true, "IKPLS": true,
		"StandardScaler": false, "SNV": false, "SavitzkyGolay": false, "MinMaxScaler": false, "GridSearchCV": false,
		"KFold": false, "Detrend": false, "PCA": false, "": false,
	}
	for name, want := range tests {
		if got := looksLikeEstimator(name); got != want {
			t.Errorf("looksLikeEstimator(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestNormalizeTime(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2025-11-18T09:12:03.512+00:00", "2025-11-18T09:12:03.512Z"},
		{"2025-10-23T14:05:00+02:00", "2025-10-23T12:05:00Z"},
		{"2026-01-05T09:07:00Z", "2026-01-05T09:07:00Z"},
		{"2025-12-20T10:00:00.000001", "2025-12-20T10:00:00.000001Z"},
		{"2025-11-18T09:12:03+0100", "2025-11-18T08:12:03Z"},
		{"2025-11-18 09:12:03.5", "2025-11-18T09:12:03.5Z"},
		{" 2025-11-18 ", "2025-11-18T00:00:00Z"},
		{"", ""}, {"yesterday", ""}, {"2025-13-40T00:00:00Z", ""},
	}
	for _, tt := range tests {
		if got := normalizeTime(tt.in); got != tt.want {
			t.Errorf("normalizeTime(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
