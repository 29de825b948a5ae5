//go:build linux

package integration

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The values of the three Parquet files of catalog/, read through a real
// mount with DuckDB, against the files they were ingested from: pipeline
// folders in the design format (metrics.json, predictions.csv,
// pipeline.json, error.log) are generated in a temporary folder with
// irregular 17-digit values, copied into runs/ with cp -r, then read back
// from that folder with encoding/json and encoding/csv to build the rows
// each file must hold. Every score, array element, status, date, session
// and sample count is compared, row by row, and a missing or extra row
// fails as well. Values are compared as Go prints them (fmt.Sprint of the
// float64 DuckDB returns, the shortest text that round-trips), so equal
// text means equal doubles.

// valuePipe describes one generated pipeline folder.
type valuePipe struct {
	pid     string
	model   string // estimator class path
	created string // pipeline.json created_at
	failed  bool   // error.log in the folder
	noPreds bool   // a failure before any prediction: no metrics.json, no predictions.csv
}

var (
	valueRegression = []valuePipe{
		{pid: "0001_pls_c1a2b3", model: plsClass, created: "2026-01-15T08:30:00Z"},
		{pid: "0002_ridge_d4e5f6", model: ridgeClass, created: "2026-02-03T23:59:59Z"},
		{pid: "0003_pls_0a0b0c", model: plsClass, created: "2026-02-10T12:00:00Z", failed: true},
		{pid: "0004_pls_77aa11", model: plsClass, created: "2026-03-01T00:00:01Z"},
		{pid: "0005_pls_ff0001", model: plsClass, created: "2026-03-02T09:00:00Z", failed: true, noPreds: true},
	}
	valueClassification = []valuePipe{
		{pid: "0001_rf_aa11bb", model: "sklearn.ensemble.RandomForestClassifier", created: "2025-12-31T23:00:00Z"},
		{pid: "0002_svc_cc22dd", model: "sklearn.svm.SVC", created: "2026-01-20T10:10:10Z", failed: true},
		{pid: "0003_rf_ee33ff", model: "sklearn.ensemble.RandomForestClassifier", created: "2026-04-05T06:07:08Z"},
	}
)

// writeValuePipe writes p's folder below dir. Partitions are interleaved
// in predictions.csv and their sizes differ per pipeline, so a shuffled
// array or a count of the wrong partition shows.
func writeValuePipe(t testing.TB, dir string, p valuePipe, classify bool, n int, rng *rand.Rand) {
	t.Helper()
	f := filepath.Join(dir, p.pid)
	hash := p.pid[strings.LastIndexByte(p.pid, '_')+1:]
	writeFile(t, filepath.Join(f, "pipeline.json"), fmt.Appendf(nil, `{"id": %q, "name": %q, "hash": %q, "created_at": %q,
  "duration_seconds": %v, "status": "completed",
  "steps": [{"step": 1, "operator": "SNV", "class": "nirs4all.operators.transforms.SNV", "params": {}},
    {"step": 2, "operator": "model", "class": %q, "params": {}}]}
`, p.pid, "cfg_"+p.pid[5:], hash, p.created, 1+rng.Float64()*100, p.model))
	if p.failed {
		writeFile(t, filepath.Join(f, "error.log"), []byte("Traceback (most recent call last):\nValueError: n_components\n"))
	}
	if p.noPreds {
		return
	}
	sizes := map[string]int{"train": n + 3, "val": n, "test": n + 1}
	var b strings.Builder
	b.WriteString("sample_id,y_true,y_pred,partition\n")
	left := []string{"test", "train", "val"} // not the catalog's order
	for i := 0; len(left) > 0; i++ {
		part := left[i%len(left)]
		sizes[part]--
		if sizes[part] == 0 {
			left = slices.DeleteFunc(left, func(s string) bool { return s == part })
		}
		if classify {
			fmt.Fprintf(&b, "%s-%d,%d,%d,%s\n", p.pid[:4], i, rng.IntN(3), rng.IntN(3), part)
			continue
		}
		yt := 5 + rng.Float64()*20
		fmt.Fprintf(&b, "%s-%d,%v,%v,%s\n", p.pid[:4], i, yt, yt+rng.NormFloat64(), part)
	}
	writeFile(t, filepath.Join(f, "predictions.csv"), []byte(b.String()))
	metrics := map[string]any{}
	for _, part := range []string{"train", "val", "test"} {
		if classify {
			metrics[part] = map[string]float64{"accuracy": rng.Float64(), "balanced_accuracy": rng.Float64(), "f1": rng.Float64()}
		} else {
			metrics[part] = map[string]float64{"rmse": rng.Float64(), "r2": rng.Float64(), "mae": rng.Float64()}
		}
	}
	metrics["task_type"] = "regression"
	if classify {
		metrics["task_type"] = "multiclass_classification"
	}
	js, _ := json.Marshal(metrics)
	writeFile(t, filepath.Join(f, "metrics.json"), js)
}

// sourcePipe is a pipeline folder as read back from the source files.
type sourcePipe struct {
	valuePipe
	dataset, task string
	name          string  // pipeline.json name: the config name
	duration      float64 // pipeline.json duration_seconds
	metrics       map[string]map[string]float64
	rows          map[string][][3]string // partition -> (sample_id, y_true, y_pred) in file order
}

// readSource reads a copied folder's pipeline.json, metrics.json and
// predictions.csv.
func readSource(t testing.TB, dir, ds string, p valuePipe) sourcePipe {
	t.Helper()
	s := sourcePipe{valuePipe: p, dataset: ds, metrics: map[string]map[string]float64{}, rows: map[string][][3]string{}}
	raw, err := os.ReadFile(filepath.Join(dir, p.pid, "pipeline.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pj struct {
		Name     string  `json:"name"`
		Created  string  `json:"created_at"`
		Duration float64 `json:"duration_seconds"`
	}
	if err := json.Unmarshal(raw, &pj); err != nil {
		t.Fatalf("%s/pipeline.json: %v", p.pid, err)
	}
	s.name, s.created, s.duration = pj.Name, pj.Created, pj.Duration
	if p.noPreds {
		return s
	}
	raw, err = os.ReadFile(filepath.Join(dir, p.pid, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s/metrics.json: %v", p.pid, err)
	}
	for k, v := range m {
		if k == "task_type" {
			json.Unmarshal(v, &s.task)
			continue
		}
		var scores map[string]float64
		if err := json.Unmarshal(v, &scores); err != nil {
			t.Fatalf("%s/metrics.json %s: %v", p.pid, k, err)
		}
		s.metrics[k] = scores
	}
	fh, err := os.Open(filepath.Join(dir, p.pid, "predictions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	recs, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatalf("%s/predictions.csv: %v", p.pid, err)
	}
	for _, r := range recs[1:] { // sample_id,y_true,y_pred,partition
		s.rows[r[3]] = append(s.rows[r[3]], [3]string{r[0], r[1], r[2]})
	}
	return s
}

// num is a source value printed as duckq prints the double DuckDB read.
func num(t testing.TB, text string) string {
	t.Helper()
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		t.Fatalf("source value %q: %v", text, err)
	}
	return fmt.Sprint(v)
}

// score is metrics.json's value, or NULL when the file has none.
func (s sourcePipe) score(part, metric string) string {
	if v, ok := s.metrics[part][metric]; ok {
		return fmt.Sprint(v)
	}
	return "NULL"
}

func (s sourcePipe) status() string {
	if s.failed {
		return "failed"
	}
	return "ok"
}

func (s sourcePipe) rankMetric() string {
	if s.task == "regression" {
		return "rmse"
	}
	return "balanced_accuracy"
}

// expectedMeta is the predictions_meta.parquet row of each partition.
func expectedMeta(s sourcePipe) map[string][]string {
	out := map[string][]string{}
	created, _ := time.Parse(time.RFC3339, s.created)
	number, _ := strconv.Atoi(s.pid[:4])
	m := s.rankMetric()
	for part, rows := range s.rows {
		out[s.dataset+"/"+s.pid+"/"+part] = []string{
			s.dataset, s.pid, part, s.created[:10], fmt.Sprint(created.UTC().Unix()), strconv.Itoa(number),
			s.pid[strings.LastIndexByte(s.pid, '_')+1:], s.model[strings.LastIndexByte(s.model, '.')+1:], s.model,
			s.task, m, s.score("train", m), s.score("val", m), s.score("test", m),
			s.score("train", "rmse"), s.score("val", "rmse"), s.score("test", "rmse"), s.score("test", "r2"),
			s.score("test", "mae"), s.score("test", "accuracy"), s.score("test", "balanced_accuracy"),
			strconv.Itoa(len(rows)), "false", s.status(), "NULL", s.name}
	}
	return out
}

var metaColumns = []string{"dataset", "pipeline_id", "partition", "run_date", "epoch(created_at)::BIGINT",
	"pipeline_number", "config_hash", "model_name", "model_class", "task_type", "metric",
	"train_score", "val_score", "test_score", "train_rmse", "val_rmse", "test_rmse", "test_r2", "test_mae",
	"test_accuracy", "test_balanced_accuracy", "n_samples", "run_deleted", "status", "n_features", "config_name"}

// expectedData is the predictions_data.parquet row of each partition.
func expectedData(t testing.TB, s sourcePipe) map[string][]string {
	out := map[string][]string{}
	for part, rows := range s.rows {
		var ids, yt, yp, idx []string
		for i, r := range rows {
			ids = append(ids, r[0])
			yt = append(yt, num(t, r[1]))
			yp = append(yp, num(t, r[2]))
			idx = append(idx, strconv.Itoa(i))
		}
		list := func(v []string) string { return "[" + strings.Join(v, " ") + "]" }
		out[s.dataset+"/"+s.pid+"/"+part] = []string{s.dataset, s.pid, part,
			list(yt), list(yp), list(ids), list(idx), "[]", strconv.Itoa(len(rows))}
	}
	return out
}

var dataColumns = []string{"dataset", "pipeline_id", "partition", "y_true", "y_pred", "sample_ids",
	"sample_indices", "weights", "len(y_true)"}

// expectedFlat is the pipeline's predictions.parquet row: completed
// pipelines only, scores of the ranking's partition (test).
func expectedFlat(s sourcePipe) map[string][]string {
	if s.failed || s.noPreds {
		return nil
	}
	m := s.rankMetric()
	day := s.created[:10]
	return map[string][]string{s.dataset + "/" + s.pid: {s.dataset, s.pid, day + "_" + s.dataset, day, "DATE",
		s.score("test", "rmse"), s.score("test", "r2"), s.score("test", "mae"),
		s.score("test", "accuracy"), s.score("test", "balanced_accuracy"),
		strconv.Itoa(len(s.rows["test"])), "BIGINT", s.model[strings.LastIndexByte(s.model, '.')+1:],
		"ok", "false", s.task, m, "test", s.score("test", m), fmt.Sprint(s.duration)}}
}

var flatColumns = []string{"dataset", "pipeline", "session", "CAST(date AS VARCHAR)", "typeof(date)",
	"rmse", "r2", "mae", "accuracy", "balanced_accuracy", "n_samples", "typeof(n_samples)", "model",
	"status", "run_deleted", "task_type", "metric", "partition", "score", "duration_sec"}

// compareRows checks the rows of a Parquet file (keyed by their first
// keyCols values) against want, column by column.
func compareRows(t testing.TB, file string, cols []string, keyCols int, got [][]string, want map[string][]string) {
	t.Helper()
	seen := map[string]bool{}
	for _, row := range got {
		key := strings.Join(row[:keyCols], "/")
		if seen[key] {
			t.Errorf("%s: row %s twice", file, key)
		}
		seen[key] = true
		w, ok := want[key]
		if !ok {
			t.Errorf("%s: unexpected row %s: %v", file, key, row)
			continue
		}
		for i, col := range cols {
			if row[i] != w[i] {
				t.Errorf("%s row %s: %s = %s, the source files say %s", file, key, col, row[i], w[i])
			}
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("%s: no row %s", file, key)
		}
	}
}

// TestCatalogParquetValues: every value of predictions_meta.parquet,
// predictions_data.parquet and predictions.parquet, read with DuckDB
// through the mount, is the one in the pipeline folders copied in.
func TestCatalogParquetValues(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	rng := rand.New(rand.NewPCG(15, 2026))
	src := t.TempDir()
	var pipes []sourcePipe
	for _, d := range []struct {
		name     string
		classify bool
		pipes    []valuePipe
	}{{"corn", false, valueRegression}, {"grapes", true, valueClassification}} {
		dir := filepath.Join(src, d.name)
		for i, p := range d.pipes {
			writeValuePipe(t, dir, p, d.classify, 3+i, rng)
		}
		cpR(t, dir, filepath.Join(mnt, "runs"))
		for _, p := range d.pipes {
			pipes = append(pipes, readSource(t, dir, d.name, p))
		}
	}

	wantMeta, wantData, wantFlat := map[string][]string{}, map[string][]string{}, map[string][]string{}
	for _, s := range pipes {
		for k, v := range expectedMeta(s) {
			wantMeta[k] = v
		}
		for k, v := range expectedData(t, s) {
			wantData[k] = v
		}
		for k, v := range expectedFlat(s) {
			wantFlat[k] = v
		}
	}
	// 4 + 3 pipelines with predictions, 3 partitions each; 3 + 2 completed.
	if len(wantMeta) != 21 || len(wantData) != 21 || len(wantFlat) != 5 {
		t.Fatalf("the source folders give %d meta, %d data, %d flat rows; want 21, 21, 5",
			len(wantMeta), len(wantData), len(wantFlat))
	}
	cat := filepath.Join(mnt, "catalog")
	sel := func(cols []string, file string) string {
		return "SELECT " + strings.Join(cols, ", ") + " FROM '" + file + "'"
	}
	compareRows(t, "predictions_meta.parquet", metaColumns, 3,
		duckRows(t, cat, sel(metaColumns, "predictions_meta.parquet")), wantMeta)
	compareRows(t, "predictions_data.parquet", dataColumns, 3,
		duckRows(t, cat, sel(dataColumns, "predictions_data.parquet")), wantData)
	compareRows(t, "predictions.parquet", flatColumns, 2,
		duckRows(t, cat, sel(flatColumns, "predictions.parquet")), wantFlat)

	// The two files of one prediction share its id, and ids are unique.
	joined := duckRows(t, cat, `SELECT count(*), count(DISTINCT m.prediction_id) FROM 'predictions_meta.parquet' m
		JOIN 'predictions_data.parquet' d ON m.prediction_id = d.prediction_id
			AND m.dataset = d.dataset AND m.pipeline_id = d.pipeline_id AND m.partition = d.partition`)
	if joined[0][0] != "21" || joined[0][1] != "21" {
		t.Errorf("meta joined with data on prediction_id: %v rows (distinct ids), want 21 (21)", joined[0])
	}
}
