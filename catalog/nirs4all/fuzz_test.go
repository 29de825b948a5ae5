package nirs4all

// Fuzz targets for every parser of a pipeline folder's files. Each one
// checks that hostile input gives an error (a *ParseError where the
// parser promises one), never a panic, and where a file can be written
// back, that writing what was read and reading it again gives the same
// record. Seeds: testdata/ plus testdata/fuzz/FuzzX/ (crashers found are
// kept there as regression seeds). `make fuzz-ci` runs each for seconds,
// `make fuzz` for long.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// addSeeds adds the files of testdata/ as seeds.
func addSeeds(f *testing.F, names ...string) {
	f.Helper()
	for _, n := range names {
		b, err := os.ReadFile("testdata/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// wantParseError fails unless err is nil or a *ParseError naming file.
func wantParseError(t *testing.T, err error, file string) {
	t.Helper()
	var pe *ParseError
	if err != nil && (!errors.As(err, &pe) || (file != "" && pe.File != file)) {
		t.Fatalf("error %v (%T) is not a *ParseError of %s", err, err, file)
	}
}

func FuzzMetricsRoundTrip(f *testing.F) {
	addSeeds(f, "metrics_design.json")
	f.Add([]byte(`{"task_type": "classification", "test": {"Accuracy": 0.9, "samples": 12}, "cross_validation": {"folds": [1, 2]}}`))
	f.Add([]byte(`{"val": {"rmse": NaN, "r2": Infinity}, "test": {"RMSE": 1, "rmse": 2}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMetrics(data)
		wantParseError(t, err, MetricsFile)
		if err != nil {
			return
		}
		for part, scores := range m.Scores {
			for name, v := range scores {
				if math.IsNaN(v) || math.IsInf(v, 0) || name == "" || name != strings.ToLower(name) {
					t.Fatalf("score %s.%q = %v: want lowercase names and finite values", part, name, v)
				}
			}
		}
		back, err := ParseMetrics(renderMetrics(m))
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip: %+v, %v; want %+v", back, err, m)
		}
	})
}

// renderMetrics writes m as metrics.json.
func renderMetrics(m Metrics) []byte {
	doc := map[string]any{}
	if m.TaskSaid { // else the type is inferred again from the scores
		doc["task_type"] = m.TaskType
	}
	for _, part := range Partitions {
		obj := map[string]any{}
		for k, v := range m.Scores[part] {
			obj[k] = v
		}
		if n, ok := m.Samples[part]; ok {
			obj["samples"] = n
		}
		if len(obj) > 0 {
			doc[part] = obj
		}
	}
	if m.CVFolds > 0 {
		doc["cross_validation"] = map[string]any{"folds": m.CVFolds}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

func FuzzPredictionsRoundTrip(f *testing.F) {
	addSeeds(f, "best_real.csv")
	f.Add([]byte("sample_id,y_true,y_pred,partition,fold,weight\ns1,1.5,1.4,train,0,1\ns2,2,2.1,,1,0.5\n"))
	f.Add([]byte("\ufeffY_TRUE;Y_PRED\n1;2\n"))
	f.Add([]byte("y_true,y_pred,partition\n1,2,TEST\n\"3\",\"4\",validation\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		preds, err := ParsePredictions(data, 10_000)
		wantParseError(t, err, PredictionsFile)
		if err != nil {
			return
		}
		for _, p := range preds {
			checkPrediction(t, p)
		}
		// Writing what was read and reading it again changes nothing.
		once := renderPredictions(preds)
		again, err := ParsePredictions(once, 0)
		if err != nil {
			t.Fatalf("rendered predictions do not parse: %v\n%s", err, once)
		}
		if twice := renderPredictions(again); !bytes.Equal(once, twice) {
			t.Fatalf("round trip changed the file:\n%s\n---\n%s", once, twice)
		}
	})
}

func checkPrediction(t *testing.T, p Prediction) {
	t.Helper()
	n := len(p.YTrue)
	if n == 0 || len(p.YPred) != n || len(p.SampleIndices) != n ||
		p.SampleIDs != nil && len(p.SampleIDs) != n || p.Folds != nil && len(p.Folds) != n || p.Weights != nil && len(p.Weights) != n {
		t.Fatalf("partition %s: ragged columns %d/%d/%d/%d/%d/%d", p.Partition, n, len(p.YPred),
			len(p.SampleIndices), len(p.SampleIDs), len(p.Folds), len(p.Weights))
	}
	if p.Partition != "train" && p.Partition != "val" && p.Partition != "test" {
		t.Fatalf("partition %q", p.Partition)
	}
	for i := range p.YTrue {
		for _, v := range []float64{p.YTrue[i], p.YPred[i]} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("partition %s row %d: value %v", p.Partition, i, v)
			}
		}
	}
}

// renderPredictions writes predictions as predictions.csv, rows in the
// order of their sample indices.
func renderPredictions(preds []Prediction) []byte {
	type row struct {
		idx  int64
		cell []string
	}
	var ids, folds, weights bool
	for _, p := range preds {
		ids, folds, weights = ids || p.SampleIDs != nil, folds || p.Folds != nil, weights || p.Weights != nil
	}
	header := []string{"y_true", "y_pred", "partition"}
	var rows []row
	for _, p := range preds {
		for i := range p.YTrue {
			r := []string{fmtFloat(p.YTrue[i]), fmtFloat(p.YPred[i]), p.Partition}
			r = appendOpt(r, ids, p.SampleIDs, i)
			r = appendOpt(r, folds, p.Folds, i)
			if weights {
				w := ""
				if p.Weights != nil {
					w = fmtFloat(p.Weights[i])
				}
				r = append(r, w)
			}
			rows = append(rows, row{p.SampleIndices[i], r})
		}
	}
	for _, c := range []struct {
		on   bool
		name string
	}{{ids, "sample_id"}, {folds, "fold"}, {weights, "weight"}} {
		if c.on {
			header = append(header, c.name)
		}
	}
	sortRows := func(a, b int) bool { return rows[a].idx < rows[b].idx }
	for i := 1; i < len(rows); i++ { // insertion sort: stable, no import
		for j := i; j > 0 && sortRows(j, j-1); j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(header)
	for _, r := range rows {
		w.Write(r.cell)
	}
	w.Flush()
	return b.Bytes()
}

func appendOpt(r []string, on bool, col []string, i int) []string {
	if !on {
		return r
	}
	if col == nil {
		return append(r, "")
	}
	return append(r, col[i])
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func FuzzParseFolds(f *testing.F) {
	addSeeds(f, "folds_KFold_seed42.csv")
	f.Add([]byte("fold_1,fold_0\n4.0,1\n,2\n"))
	f.Add([]byte("fold_0\n-1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		folds, err := ParseFolds("folds_x.csv", data)
		wantParseError(t, err, "folds_x.csv")
		if err != nil {
			return
		}
		for i, train := range folds.Train {
			for _, idx := range train {
				if idx < 0 {
					t.Fatalf("fold %d: negative index %d", i, idx)
				}
			}
		}
		back, err := ParseFolds("folds_x.csv", renderFolds(folds.Train))
		if err != nil || !reflect.DeepEqual(back.Train, folds.Train) {
			t.Fatalf("round trip: %v, %v; want %v", back.Train, err, folds.Train)
		}
	})
}

// renderFolds writes fold_0..fold_k-1 columns, padding short ones.
func renderFolds(train [][]int64) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	header, rows := make([]string, len(train)), 0
	for i, col := range train {
		header[i] = fmt.Sprintf("fold_%d", i)
		rows = max(rows, len(col))
	}
	w.Write(header)
	for r := range rows {
		rec := make([]string, len(train))
		for i, col := range train {
			if r < len(col) {
				rec[i] = strconv.FormatInt(col[r], 10)
			}
		}
		w.Write(rec)
	}
	w.Flush()
	return b.Bytes()
}

func FuzzParseManifest(f *testing.F) {
	addSeeds(f, "manifest_era_ab.yaml", "manifest_era_c.yaml")
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("pipeline_id: 1\ncreated_at: 2026-01-02 03:04:05\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := ParseManifest(data)
		wantParseError(t, err, "")
		if err == nil {
			checkInfo(t, info)
		}
	})
}

func FuzzParsePipelineJSON(f *testing.F) {
	addSeeds(f, "pipeline_design.json", "pipeline_real.json")
	f.Add([]byte(`{"steps": [{"model": {"class": "sklearn.linear_model.Ridge"}}], "artifacts": [{"name": "a", "path": "../_binaries/a.pkl", "hash": "sha256:00", "step": 1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := ParsePipelineJSON(data)
		wantParseError(t, err, "")
		if err == nil {
			checkInfo(t, info)
		}
	})
}

func checkInfo(t *testing.T, info PipelineInfo) {
	t.Helper()
	if info.DurationSec < 0 || math.IsNaN(info.DurationSec) || math.IsInf(info.DurationSec, 0) {
		t.Fatalf("duration %v", info.DurationSec)
	}
	if info.ModelClass == "" && info.Model != "" {
		t.Fatalf("model %q without a class", info.Model)
	}
}

func FuzzParsePipelineID(f *testing.F) {
	for _, s := range []string{"0001_a1b2c3", "0042_pls_baseline_x9y8z7", "0000_x", "9999__x", "12345_a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, folder string) {
		n, name, hash, ok := ParsePipelineID(folder)
		if ok != IsPipelineFolder(folder) {
			t.Fatalf("ParsePipelineID ok=%v, IsPipelineFolder %v", ok, !ok)
		}
		if !ok {
			return
		}
		back := fmt.Sprintf("%04d_%s", n, hash)
		if name != "" {
			back = fmt.Sprintf("%04d_%s_%s", n, name, hash)
		}
		if n < 1 || n > 9999 || back != folder {
			t.Fatalf("%q parsed as %d %q %q, which names %q", folder, n, name, hash, back)
		}
	})
}

func FuzzParsePyLiteral(f *testing.F) {
	for _, s := range []string{`{'a': [1, 2.5, -3e-2], 'b': None, 'c': (True, False)}`, `[nan, inf, -inf]`,
		`array([1., 2.])`, `{"k": 'v\'q'}`, strings.Repeat("[", 300) + strings.Repeat("]", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParsePyLiteral(s)
		if err != nil {
			return
		}
		if _, err := FloatsOf(v); err != nil {
			return // not a list of numbers: fine, no panic
		}
	})
}
