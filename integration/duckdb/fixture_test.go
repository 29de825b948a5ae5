// Package duckdb_test reads the catalog Parquet files that
// github.com/n4ws/n4ws/catalog writes with DuckDB, a reader that shares no
// code with parquet-go, the way users will: SQL over the files. It is its
// own module so that the DuckDB static library (cgo, large) is built only
// by this test and never linked into n4ws.
package duckdb_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/n4ws/n4ws/catalog"
)

// pipe is one fixture pipeline; its metrics are computed from its arrays
// so that SQL over predictions_data.parquet can be checked against the
// scores in predictions_meta.parquet.
type pipe struct {
	dataset, folder, cfg, hash, model, class, task, status string
	number                                                 int32
	created                                                *time.Time // nil: unknown
	duration                                               *float64
	parts                                                  map[string][2][]float64 // partition → y_true, y_pred
	weights                                                []float64               // nil: none
	deleted                                                bool
}

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func num(v float64) *float64 { return &v }

// series makes n regression targets and predictions off by err·(±1, ±2).
func series(n int, base, err float64) [2][]float64 {
	yt, yp := make([]float64, n), make([]float64, n)
	for i := range n {
		yt[i] = base + float64(i)/2
		yp[i] = yt[i] + err*float64((i%4)-1) // offsets -1, 0, 1, 2
	}
	return [2][]float64{yt, yp}
}

// classes makes n binary labels and predictions with wrong predictions
// at every `every`-th sample.
func classes(n, every int) [2][]float64 {
	yt, yp := make([]float64, n), make([]float64, n)
	for i := range n {
		yt[i] = float64(i % 2)
		yp[i] = yt[i]
		if i%every == 0 {
			yp[i] = 1 - yp[i]
		}
	}
	return [2][]float64{yt, yp}
}

// The fixture: wheat's best by test RMSE is 0002_rf; 0003 failed and has
// no scores; 0004 has no test partition, so no score under wheat's ranking
// (test RMSE): neither is in the flat file. corn's best is 0001_ridge
// (its run deleted). soil is classification (no RMSE at all).
func fixture() []pipe {
	reg, cls := catalog.TaskRegression, catalog.TaskBinary
	return []pipe{
		{dataset: "wheat", folder: "0001_pls_a1b2c3", cfg: "pls", hash: "a1b2c3", number: 1,
			model: "PLSRegression", class: "sklearn.cross_decomposition._pls.PLSRegression", task: reg,
			status: "completed", created: at("2026-03-01T09:00:00Z"), duration: num(12.5),
			parts: map[string][2][]float64{"train": series(20, 10, 0.2), "val": series(8, 11, 0.3),
				"test": series(6, 12, 0.5)},
			weights: []float64{1, 1, 0.5, 0.5, 1, 1}},
		{dataset: "wheat", folder: "0002_rf_b2c3d4", cfg: "rf", hash: "b2c3d4", number: 2,
			model: "RandomForestRegressor", class: "sklearn.ensemble._forest.RandomForestRegressor",
			task: reg, status: "completed", created: at("2026-03-01T10:30:00+02:00"), duration: num(40),
			parts: map[string][2][]float64{"train": series(20, 10, 0.05), "val": series(8, 11, 0.2),
				"test": series(6, 12, 0.25)}},
		{dataset: "wheat", folder: "0003_svr_c3d4e5", cfg: "svr", hash: "c3d4e5", number: 3,
			model: "SVR", class: "sklearn.svm._classes.SVR", task: reg, status: "failed",
			created: at("2026-03-01T11:00:00Z")},
		{dataset: "wheat", folder: "0004_d4e5f6", hash: "d4e5f6", number: 4, model: "Ridge",
			class: "sklearn.linear_model._ridge.Ridge", task: reg, status: "completed",
			parts: map[string][2][]float64{"val": series(8, 11, 0.3)}},
		{dataset: "corn", folder: "0001_ridge_e5f6a7", cfg: "ridge", hash: "e5f6a7", number: 1,
			model: "Ridge", class: "sklearn.linear_model._ridge.Ridge", task: reg, status: "completed",
			created: at("2026-03-02T08:00:00Z"), duration: num(3), deleted: true,
			parts: map[string][2][]float64{"test": series(10, 30, 0.4)}},
		{dataset: "corn", folder: "0002_pls_f6a7b8", cfg: "pls", hash: "f6a7b8", number: 2,
			model: "PLSRegression", class: "sklearn.cross_decomposition._pls.PLSRegression", task: reg,
			status: "completed", created: at("2026-03-02T09:00:00Z"), duration: num(2),
			parts: map[string][2][]float64{"test": series(10, 30, 0.9)}},
		{dataset: "soil", folder: "0001_svc_a7b8c9", cfg: "svc", hash: "a7b8c9", number: 1,
			model: "SVC", class: "sklearn.svm._classes.SVC", task: cls, status: "completed",
			created: at("2026-03-03T08:00:00Z"), duration: num(1),
			parts: map[string][2][]float64{"val": classes(10, 5), "test": classes(10, 4)}},
	}
}

func predID(p pipe, part string) string { return p.dataset + ":" + p.folder + ":" + part }

func rmse(yt, yp []float64) float64 {
	s := 0.0
	for i := range yt {
		s += (yt[i] - yp[i]) * (yt[i] - yp[i])
	}
	return math.Sqrt(s / float64(len(yt)))
}

func mae(yt, yp []float64) float64 {
	s := 0.0
	for i := range yt {
		s += math.Abs(yt[i] - yp[i])
	}
	return s / float64(len(yt))
}

func r2(yt, yp []float64) float64 {
	mean := 0.0
	for _, v := range yt {
		mean += v / float64(len(yt))
	}
	var ss, st float64
	for i := range yt {
		ss += (yt[i] - yp[i]) * (yt[i] - yp[i])
		st += (yt[i] - mean) * (yt[i] - mean)
	}
	return 1 - ss/st
}

func accuracy(yt, yp []float64) float64 {
	ok := 0
	for i := range yt {
		if yt[i] == yp[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(yt))
}

// score is the named metric of a partition, nil when the partition is absent.
func score(p pipe, part string, f func(yt, yp []float64) float64) *float64 {
	a, ok := p.parts[part]
	if !ok {
		return nil
	}
	return num(f(a[0], a[1]))
}

// rows builds the three files' rows the way the catalog would.
func rows() (meta []catalog.MetaRow, data []catalog.DataRow, flat []catalog.FlatRow) {
	for _, p := range fixture() {
		primary, metric := rmse, "rmse"
		if p.task != catalog.TaskRegression {
			primary, metric = accuracy, "balanced_accuracy" // balanced = plain on this balanced fixture
		}
		// Regression rows carry RMSE/R²/MAE, classification rows accuracy.
		var reg, r2f, maef, cls func(yt, yp []float64) float64
		if p.task == catalog.TaskRegression {
			reg, r2f, maef = rmse, r2, mae
		} else {
			cls = accuracy
		}
		pick := func(f func(yt, yp []float64) float64, part string) *float64 {
			if f == nil {
				return nil
			}
			return score(p, part, f)
		}
		for _, part := range catalog.Partitions {
			a, ok := p.parts[part]
			if !ok {
				continue
			}
			meta = append(meta, catalog.MetaRow{
				PredictionID: predID(p, part), Dataset: p.dataset, RunDate: "2026-03-01",
				PipelineID: p.folder, PipelineNumber: p.number, ConfigName: p.cfg, ConfigHash: p.hash,
				ModelName: p.model, ModelClass: p.class, TaskType: p.task, Partition: part,
				TrainScore: score(p, "train", primary), ValScore: score(p, "val", primary),
				TestScore: score(p, "test", primary), Metric: metric,
				TrainRMSE: pick(reg, "train"), ValRMSE: pick(reg, "val"), TestRMSE: pick(reg, "test"),
				TestR2: pick(r2f, "test"), TestMAE: pick(maef, "test"),
				TestAccuracy: pick(cls, "test"), TestBalancedAccuracy: pick(cls, "test"),
				NSamples: int32(len(a[0])), CreatedAt: p.created, RunDeleted: p.deleted, Status: p.status,
			})
			d := catalog.DataRow{PredictionID: predID(p, part), Dataset: p.dataset,
				PipelineID: p.folder, Partition: part, YTrue: a[0], YPred: a[1]}
			for i := range a[0] {
				d.SampleIndices = append(d.SampleIndices, int64(i))
			}
			if part == "test" {
				d.Weights = p.weights
				for i := range a[0] {
					d.SampleIDs = append(d.SampleIDs, p.dataset+"-"+string(rune('A'+i)))
				}
			}
			data = append(data, d)
		}
		// Flat: completed pipelines with a score under their dataset's
		// ranking (the test partition: every dataset has one), as the
		// catalog writes them. wheat's 0003 (failed) and 0004 (val only)
		// have none.
		a, ok := p.parts["test"]
		if p.status != "completed" || !ok {
			continue
		}
		day := p.created.UTC().Format("2006-01-02")
		f := catalog.FlatRow{Dataset: p.dataset, Session: day + "_" + p.dataset, Pipeline: p.folder,
			Date: catalog.DateDays(*p.created), DurationSec: p.duration, Model: p.model, Status: "ok",
			RunDeleted: p.deleted, NSamples: int64(len(a[0])), TaskType: p.task, Metric: metric,
			Partition: "test", Score: primary(a[0], a[1])}
		if reg != nil {
			f.RMSE, f.R2, f.MAE = score(p, "test", rmse), score(p, "test", r2), score(p, "test", mae)
		} else {
			f.Accuracy, f.BalancedAccuracy = score(p, "test", accuracy), score(p, "test", accuracy)
		}
		flat = append(flat, f)
	}
	return meta, data, flat
}

// writeFiles writes the three catalog files into a fresh directory.
func writeFiles(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	meta, data, flat := rows()
	write := func(name string, fn func(*os.File) error) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := fn(f); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write("predictions_meta.parquet", func(f *os.File) error { return catalog.WriteMeta(f, meta) })
	write("predictions_data.parquet", func(f *os.File) error { return catalog.WriteData(f, data) })
	write("predictions.parquet", func(f *os.File) error { return catalog.WriteFlat(f, flat) })
	write("empty_meta.parquet", func(f *os.File) error { return catalog.WriteMeta(f, nil) })
	write("empty_data.parquet", func(f *os.File) error { return catalog.WriteData(f, nil) })
	write("empty_flat.parquet", func(f *os.File) error { return catalog.WriteFlat(f, nil) })
	return dir
}
