package nirs4all

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseManifestFiles(t *testing.T) {
	tests := []struct {
		file string
		want PipelineInfo
	}{
		{"testdata/manifest_era_ab.yaml", PipelineInfo{
			ID: "0001_config_3fa2c1", Name: "config_3fa2c1", Dataset: "wheat", CreatedAt: "2025-11-18T09:12:03.512Z",
			ModelClass: "sklearn.cross_decomposition._pls.PLSRegression", Model: "PLSRegression",
			Preprocessing: []string{"MinMaxScaler", "StandardNormalVariate", "Detrend", "SavitzkyGolay"},
			Artifacts: []Artifact{
				{Name: "MinMaxScaler_1", Path: "MinMaxScaler_9be4d1.joblib",
					Hash: "sha256:9be4d1c0ffee00000000000000000000000000000000000000000000000000aa", Step: 1},
				{Name: "PLSRegression_6.pkl", Path: "PLSRegression_5c0a77.joblib",
					Hash: "sha256:5c0a77beef0000000000000000000000000000000000000000000000000000bb", Step: 6},
			},
		}},
		{"testdata/manifest_era_c.yaml", PipelineInfo{
			ID: "0042_pls_baseline_x9y8z7", Name: "pls_baseline_x9y8z7", Dataset: "wheat",
			CreatedAt:  "2025-12-20T10:00:00.000001Z",
			ModelClass: "sklearn.cross_decomposition._pls.PLSRegression", Model: "PLSRegression",
			Preprocessing: []string{"StandardNormalVariate"},
			Artifacts: []Artifact{
				{Name: "StandardNormalVariate", Path: "transformer_StandardNormalVariate_3fa2c1d4e5b6.joblib",
					Hash: "sha256:3fa2c1d4e5b60000000000000000000000000000000000000000000000000001", Step: 1},
				{Name: "PLS12", Path: "model_PLSRegression_7d2e9a0b1c3f.joblib",
					Hash: "sha256:7d2e9a0b1c3f0000000000000000000000000000000000000000000000000002", Step: 3},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseManifest(data)
			if err != nil {
				t.Fatalf("ParseManifest: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseManifestShapes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want PipelineInfo
	}{
		{"python tags read as plain values",
			"pipeline_id: 0003_a1b2c3\nmetadata:\n  task: !!python/name:foo.Bar ''\n" +
				"artifacts:\n- name: PLSRegression_2\n  format: !!python/object/apply:nirs4all.Format [joblib]\n" +
				"  hash: !!python/str 'sha256:ab'\n  path: PLSRegression_ab.joblib\n  step: 2\n" +
				"pipeline:\n  steps:\n  - !!python/name:sklearn.cross_decomposition._pls.PLSRegression ''\n",
			PipelineInfo{ID: "0003_a1b2c3",
				Artifacts: []Artifact{{Name: "PLSRegression_2", Path: "PLSRegression_ab.joblib", Hash: "sha256:ab", Step: 2}}}},
		{"flow style as in FORMATS example, pipeline as a bare list",
			"pipeline_id: 0001_config_3fa2c1\npipeline: [sklearn.preprocessing._data.MinMaxScaler, {model: sklearn.svm.SVR}]\n" +
				"artifacts: [{hash: 'sha256:9be4..', path: PLSRegression_9be4d1.joblib, format: joblib, step: 3}]\n",
			PipelineInfo{ID: "0001_config_3fa2c1", ModelClass: "sklearn.svm.SVR", Model: "SVR", Preprocessing: []string{"MinMaxScaler"},
				Artifacts: []Artifact{{Path: "PLSRegression_9be4d1.joblib", Hash: "sha256:9be4..", Step: 3}}}},
		{"scalars of other types are text, anchors expand, unquoted timestamp",
			"pipeline_id: 42\nname: &n 1.5\ndataset: *n\ncreated_at: 2025-11-18T09:12:03Z\npipeline: {steps: []}\nartifacts: []\n",
			PipelineInfo{ID: "42", Name: "1.5", Dataset: "1.5", CreatedAt: "2025-11-18T09:12:03Z"}},
		{"only the first document", "pipeline_id: first\n---\npipeline_id: second\n", PipelineInfo{ID: "first"}},
		{"empty mapping", "{}\n", PipelineInfo{}},
		{"BOM and CRLF", "\xef\xbb\xbfpipeline_id: p\r\ndataset: d\r\n", PipelineInfo{ID: "p", Dataset: "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseManifest([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseManifest: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseManifestErrors(t *testing.T) {
	// Nine levels of nine aliases: 9^9 nodes once expanded.
	laughs := "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
	for i := 1; i <= 9; i++ {
		prev := "*a" + string(rune('0'+i-1))
		laughs += "a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [" +
			strings.TrimSuffix(strings.Repeat(prev+", ", 9), ", ") + "]\n"
	}
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty file"},
		{"comment only", "# nothing\n", "empty file"},
		{"invalid YAML", "pipeline_id: [a\n", "invalid YAML"},
		{"bad indentation", "a:\n  b: 1\n c: 2\n", "invalid YAML"},
		{"tab indentation", "a:\n\tb: 1\n", "invalid YAML"},
		{"list at top", "- a\n- b\n", "want a mapping, got an array"},
		{"scalar at top", "just text\n", "want a mapping, got a string"},
		{"pipeline of wrong type", "pipeline: 5\n", "pipeline: want a mapping with steps, got a number"},
		{"steps of wrong type", "pipeline:\n  steps: x\n", "pipeline.steps: want an array, got a string"},
		{"artifacts of wrong type", "artifacts: x\n", "artifacts: want an array, got a string"},
		{"items of wrong type", "artifacts:\n  schema_version: '2.0'\n  items: 3\n", "artifacts: want an array, got a number"},
		{"artifact item of wrong type", "artifacts:\n- 3\n", "artifacts[0]: want an object, got a number"},
		{"name of wrong type", "name: [1]\n", "name: want a string, got an array"},
		{"alias bomb", laughs, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(tt.in))
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "manifest.yaml" {
				t.Fatalf("err = %v, want a *ParseError for manifest.yaml", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}
