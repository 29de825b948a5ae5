package catalog

import (
	"context"
	"math"
	"path"
	"slices"
	"strings"
	"testing"
)

func TestParsePipelineID(t *testing.T) {
	tests := []struct {
		in         string
		num        int
		name, hash string
		ok         bool
	}{
		{"0001_a1b2c3", 1, "", "a1b2c3", true},
		{"0042_pls_baseline_x9y8z7", 42, "pls_baseline", "x9y8z7", true},
		{"0001_config_3fa2c1", 1, "config", "3fa2c1", true},
		{"9999_x", 9999, "", "x", true},
		{"0100_my pipeline_ab", 100, "my pipeline", "ab", true},
		{"0000_a1b2c3", 0, "", "", false},
		{"001_a1b2c3", 0, "", "", false},
		{"00001_a1b2c3", 0, "", "", false},
		{"0001a1b2c3", 0, "", "", false},
		{"0001_", 0, "", "", false},
		{"0001", 0, "", "", false},
		{"0001__a1b2c3", 0, "", "", false},
		{"0001_name_", 0, "", "", false},
		{"0x01_a1b2c3", 0, "", "", false},
		{"٠٠٠١_a1b2c3", 0, "", "", false},
		{"0001_a/b_c", 0, "", "", false},
		{"_binaries", 0, "", "", false},
		{"best_0001_a1b2c3.csv", 0, "", "", false},
		{"", 0, "", "", false},
	}
	for _, tt := range tests {
		num, name, hash, ok := ParsePipelineID(tt.in)
		if num != tt.num || name != tt.name || hash != tt.hash || ok != tt.ok {
			t.Errorf("ParsePipelineID(%q) = %d, %q, %q, %v; want %d, %q, %q, %v",
				tt.in, num, name, hash, ok, tt.num, tt.name, tt.hash, tt.ok)
		}
		if IsPipelineFolder(tt.in) != tt.ok {
			t.Errorf("IsPipelineFolder(%q) = %v", tt.in, !tt.ok)
		}
	}
}

// TestParseDemoWorkspace parses every file the demo generator writes and
// checks that the parsers and the generator agree on what it means.
func TestParseDemoWorkspace(t *testing.T) {
	files := map[string][]byte{}
	emit := func(_ context.Context, p string, data []byte) error {
		files[p] = data
		return nil
	}
	if err := Demo(context.Background(), DemoOptions{Datasets: 3, Pipelines: 12, Seed: 7}, emit); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	models := map[string]string{} // pipeline folder → model from pipeline.json
	for _, p := range slices.Sorted(mapKeys(files)) {
		parts := strings.Split(p, "/")
		if len(parts) != 4 || parts[0] != "runs" {
			t.Fatalf("unexpected demo path %s", p)
		}
		ds, pid, file := parts[1], parts[2], parts[3]
		if pid == "_binaries" {
			continue
		}
		if num, _, hash, ok := ParsePipelineID(pid); !ok || num < 1 || num > 12 || len(hash) != 6 {
			t.Fatalf("%s: folder %q = %d, %q, %v", p, pid, num, hash, ok)
		}
		classification := ds == "soil_class"
		kind := file
		if strings.HasPrefix(file, "folds_") {
			kind = "folds"
		}
		seen[kind]++
		switch kind {
		case "pipeline.json":
			models[path.Dir(p)] = checkDemoPipeline(t, p, files[p], pid, classification)
		case "manifest.yaml":
			checkDemoManifest(t, p, files[p], pid, ds, files[path.Dir(p)+"/pipeline.json"])
		case "metrics.json":
			checkDemoMetrics(t, p, files[p], files[path.Dir(p)+"/predictions.csv"], classification)
		case "predictions.csv":
			checkDemoPredictions(t, p, files[p])
		case "folds":
			f, err := ParseFolds(file, files[p])
			if err != nil || len(f.Train) != 3 || len(f.Train[0]) != 40 {
				t.Errorf("%s: %d folds, err %v", p, len(f.Train), err)
			}
		}
	}
	for _, kind := range []string{"pipeline.json", "manifest.yaml", "metrics.json", "predictions.csv", "folds"} {
		if seen[kind] == 0 {
			t.Errorf("demo wrote no %s", kind)
		}
	}
	if len(models) != 36 {
		t.Errorf("%d pipelines parsed, want 36", len(models))
	}
}

func mapKeys(m map[string][]byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func checkDemoPipeline(t *testing.T, p string, data []byte, pid string, classification bool) string {
	t.Helper()
	info, err := ParsePipelineJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	want := demoModels
	if classification {
		want = demoClassifiers
	}
	if !slices.Contains(want, info.Model) || info.ModelClass != "nirs4all.operators."+info.Model {
		t.Errorf("%s: model %q (%q) not one of %v", p, info.Model, info.ModelClass, want)
	}
	if info.ID != pid || !strings.HasSuffix(pid, "_"+info.Hash) || info.CreatedAt == "" || info.DurationSec != 42 {
		t.Errorf("%s: id %q hash %q created %q duration %v", p, info.ID, info.Hash, info.CreatedAt, info.DurationSec)
	}
	if !slices.ContainsFunc(demoPreprocessing, func(pre []string) bool { return slices.Equal(pre, info.Preprocessing) }) {
		t.Errorf("%s: preprocessing %v is not a demo chain", p, info.Preprocessing)
	}
	if len(info.Artifacts) != len(info.Preprocessing)+1 || info.Status != "completed" && info.Status != "failed" {
		t.Errorf("%s: %d artifacts, status %q", p, len(info.Artifacts), info.Status)
	}
	for _, a := range info.Artifacts {
		if !strings.HasPrefix(a.Path, "../_binaries/") || !strings.HasPrefix(a.Hash, "sha256:") || a.Step < 1 {
			t.Errorf("%s: artifact %+v", p, a)
		}
	}
	return info.Model
}

func checkDemoManifest(t *testing.T, p string, data []byte, pid, ds string, pipelineJSON []byte) {
	t.Helper()
	m, err := ParseManifest(data)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	j, err := ParsePipelineJSON(pipelineJSON)
	if err != nil {
		t.Fatalf("%s: pipeline.json: %v", p, err)
	}
	if m.ID != pid || m.Dataset != ds || m.Name != pid[5:] || m.CreatedAt != j.CreatedAt {
		t.Errorf("%s: id %q dataset %q name %q created %q", p, m.ID, m.Dataset, m.Name, m.CreatedAt)
	}
	if m.Model != j.Model || m.ModelClass != j.ModelClass || !slices.Equal(m.Preprocessing, j.Preprocessing) ||
		len(m.Artifacts) != len(j.Artifacts) {
		t.Errorf("%s: manifest says %s %v (%d artifacts), pipeline.json %s %v (%d)", p,
			m.Model, m.Preprocessing, len(m.Artifacts), j.Model, j.Preprocessing, len(j.Artifacts))
	}
}

// checkDemoMetrics also recomputes the test score from predictions.csv:
// both files come from the same rows, so they must agree.
func checkDemoMetrics(t *testing.T, p string, data, predsCSV []byte, classification bool) {
	t.Helper()
	m, err := ParseMetrics(data)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	preds, err := ParsePredictions(predsCSV, 1000)
	if err != nil || len(preds) != 3 {
		t.Fatalf("%s: predictions.csv: %d partitions, %v", p, len(preds), err)
	}
	test := preds[2]
	var sse float64
	correct := 0
	for i := range test.YTrue {
		d := test.YTrue[i] - test.YPred[i]
		sse += d * d
		if d == 0 {
			correct++
		}
	}
	n := float64(len(test.YTrue))
	if m.Samples["test"] != len(test.YTrue) || m.Samples["train"] != 60 {
		t.Errorf("%s: samples %v", p, m.Samples)
	}
	if classification {
		acc := m.Scores["test"]["accuracy"]
		if m.TaskType != TaskMulticlass || math.Abs(acc-float64(correct)/n) > 1e-3 {
			t.Errorf("%s: %s accuracy %v, predictions give %v", p, m.TaskType, acc, float64(correct)/n)
		}
		return
	}
	rmse := m.Scores["test"]["rmse"]
	if m.TaskType != TaskRegression || rmse <= 0 || math.Abs(rmse-math.Sqrt(sse/n)) > 1e-3 {
		t.Errorf("%s: %s rmse %v, predictions give %v", p, m.TaskType, rmse, math.Sqrt(sse/n))
	}
}

func checkDemoPredictions(t *testing.T, p string, data []byte) {
	t.Helper()
	preds, err := ParsePredictions(data, 1000)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	wantRows := []int{60, 20, 20}
	if len(preds) != 3 {
		t.Fatalf("%s: %d partitions", p, len(preds))
	}
	for i, pr := range preds {
		if pr.Partition != Partitions[i] || len(pr.YTrue) != wantRows[i] || len(pr.SampleIDs) != wantRows[i] ||
			pr.Folds != nil || pr.Weights != nil || !strings.HasPrefix(pr.SampleIDs[0], "S") {
			t.Errorf("%s: partition %d = %s with %d rows", p, i, pr.Partition, len(pr.YTrue))
		}
	}
}
