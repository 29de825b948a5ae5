package duckdb_test

import (
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" driver
)

// open returns a DuckDB in memory whose relative file names resolve in
// dir, so the queries read exactly as a user in catalog/ would type them.
func open(t *testing.T, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// One connection: file_search_path is a per-connection setting.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("SET file_search_path = '" + dir + "'"); err != nil {
		t.Fatal(err)
	}
	return db
}

// query returns all rows, each value as the driver gives it (nil for NULL).
func query(t *testing.T, db *sql.DB, q string) [][]any {
	t.Helper()
	rs, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s\n%v", q, err)
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]any
	for rs.Next() {
		row := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatalf("%s\n%v", q, err)
		}
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("%s\n%v", q, err)
	}
	return out
}

// lines renders rows as "a|b|c" strings for compact comparisons.
func lines(rows [][]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		parts := make([]string, len(r))
		for j, v := range r {
			parts[j] = fmt.Sprint(v)
		}
		out[i] = strings.Join(parts, "|")
	}
	return out
}

func expect(t *testing.T, db *sql.DB, q string, want ...string) {
	t.Helper()
	if got := lines(query(t, db, q)); !slices.Equal(got, want) {
		t.Errorf("%s\n got %q\nwant %q", q, got, want)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestDescribe(t *testing.T) {
	db := open(t, writeFiles(t))
	const (
		s, d, i, ts = "VARCHAR", "DOUBLE", "INTEGER", "TIMESTAMP WITH TIME ZONE"
	)
	want := map[string][]string{
		"meta": {"prediction_id " + s, "dataset " + s, "run_date " + s, "pipeline_id " + s,
			"pipeline_number " + i, "config_name " + s, "config_hash " + s, "model_name " + s,
			"model_class " + s, "task_type " + s, "partition " + s, "train_score " + d,
			"val_score " + d, "test_score " + d, "metric " + s, "train_rmse " + d, "val_rmse " + d,
			"test_rmse " + d, "test_r2 " + d, "test_mae " + d, "test_accuracy " + d,
			"test_balanced_accuracy " + d, "n_samples " + i, "n_features " + i, "created_at " + ts,
			"run_deleted BOOLEAN", "status " + s},
		"data": {"prediction_id " + s, "dataset " + s, "pipeline_id " + s, "partition " + s,
			"y_true DOUBLE[]", "y_pred DOUBLE[]", "sample_indices BIGINT[]", "weights DOUBLE[]",
			"sample_ids VARCHAR[]"},
		"flat": {"dataset " + s, "session " + s, "pipeline " + s, "date DATE", "rmse " + d,
			"r2 " + d, "mae " + d, "accuracy " + d, "balanced_accuracy " + d, "n_samples BIGINT",
			"duration_sec " + d, "model " + s, "status " + s, "run_deleted BOOLEAN", "task_type " + s,
			"metric " + s, "partition " + s, "score " + d},
	}
	files := map[string][2]string{
		"meta": {"predictions_meta.parquet", "empty_meta.parquet"},
		"data": {"predictions_data.parquet", "empty_data.parquet"},
		"flat": {"predictions.parquet", "empty_flat.parquet"},
	}
	for kind, names := range files {
		// An empty file (no pipelines yet) must show the same schema.
		for _, name := range names {
			q := "SELECT column_name || ' ' || column_type FROM (DESCRIBE SELECT * FROM '" + name + "')"
			expect(t, db, q, want[kind]...)
		}
		expect(t, db, "SELECT count(*) FROM '"+names[1]+"'", "0")
	}
}

func TestNulls(t *testing.T) {
	db := open(t, writeFiles(t))
	meta := "FROM 'predictions_meta.parquet'"
	expect(t, db, "SELECT count(*) "+meta, "11")
	// soil's two rows and wheat 0004's val-only row have no test RMSE.
	expect(t, db, "SELECT prediction_id "+meta+" WHERE test_rmse IS NULL ORDER BY 1",
		"soil:0001_svc_a7b8c9:test", "soil:0001_svc_a7b8c9:val", "wheat:0004_d4e5f6:val")
	expect(t, db, "SELECT count(*) "+meta+" WHERE test_accuracy IS NOT NULL", "2")
	expect(t, db, "SELECT count(*) "+meta+" WHERE n_features IS NULL", "11")
	expect(t, db, "SELECT pipeline_id "+meta+" WHERE created_at IS NULL", "0004_d4e5f6")
	// NULL, not NaN or 0: aggregates skip it.
	expect(t, db, "SELECT count(*) "+meta+" WHERE isnan(test_score) OR test_score = 0", "0")

	flat := "FROM 'predictions.parquet'"
	// Only completed, ranked pipelines: no failed row, no NULL score.
	expect(t, db, "SELECT pipeline "+flat+" WHERE rmse IS NULL ORDER BY 1", "0001_svc_a7b8c9")
	expect(t, db, "SELECT count(*) "+flat+" WHERE score IS NULL OR date IS NULL OR duration_sec IS NULL", "0")
	expect(t, db, "SELECT pipeline "+flat+" WHERE run_deleted", "0001_ridge_e5f6a7")
	expect(t, db, "SELECT pipeline, n_samples "+flat+" WHERE dataset = 'wheat' ORDER BY 1",
		"0001_pls_a1b2c3|6", "0002_rf_b2c3d4|6")
}

func TestLists(t *testing.T) {
	dir := writeFiles(t)
	db := open(t, dir)
	_, data, _ := rows()
	var want []string
	for _, d := range data {
		avg := 0.0
		for _, v := range d.YPred {
			avg += v / float64(len(d.YPred))
		}
		want = append(want, fmt.Sprintf("%s|%d|%d|%d|%d|%d|%.6f", d.PredictionID, len(d.YTrue),
			len(d.YPred), len(d.SampleIndices), len(d.Weights), len(d.SampleIDs), avg))
	}
	slices.Sort(want)
	expect(t, db, `SELECT prediction_id, len(y_true), len(y_pred), len(sample_indices), len(weights),
		len(sample_ids), printf('%.6f', list_avg(y_pred)) FROM 'predictions_data.parquet' ORDER BY 1`, want...)
	// Absent arrays are empty lists, never NULL.
	expect(t, db, `SELECT count(*) FROM 'predictions_data.parquet'
		WHERE weights IS NULL OR sample_ids IS NULL OR y_true IS NULL`, "0")
	expect(t, db, `SELECT weights, sample_ids[1], sample_indices[6], y_true[1]
		FROM 'predictions_data.parquet' WHERE prediction_id = 'wheat:0001_pls_a1b2c3:test'`,
		"[1 1 0.5 0.5 1 1]|wheat-A|5|12")
	// Arrays and scores agree: RMSE recomputed in SQL from the lists
	// equals test_rmse of the meta file, joined on prediction_id.
	got := query(t, db, `WITH e AS (SELECT prediction_id, unnest(y_true) AS t, unnest(y_pred) AS p
			FROM 'predictions_data.parquet')
		SELECT m.prediction_id, m.test_rmse, sqrt(avg((e.t - e.p) * (e.t - e.p)))
		FROM e JOIN 'predictions_meta.parquet' m USING (prediction_id)
		WHERE m.partition = 'test' AND m.task_type = 'regression'
		GROUP BY m.prediction_id, m.test_rmse ORDER BY 1`)
	if len(got) != 4 {
		t.Fatalf("joined %d test predictions, want 4", len(got))
	}
	for _, r := range got {
		if !near(r[1].(float64), r[2].(float64)) {
			t.Errorf("%v: test_rmse %v, from arrays %v", r[0], r[1], r[2])
		}
	}
}

func TestTimestamps(t *testing.T) {
	db := open(t, writeFiles(t))
	// created_at keeps the instant: 0002 was written at 10:30+02:00, i.e.
	// 08:30 UTC, before 0001's 09:00.
	expect(t, db, `SELECT pipeline_id FROM 'predictions_meta.parquet' WHERE dataset = 'wheat'
		AND partition = 'test' ORDER BY created_at NULLS LAST`, "0002_rf_b2c3d4", "0001_pls_a1b2c3")
	// The flat file's date is the session's day, a DATE, as in the seed.
	expect(t, db, `SELECT pipeline, date, session FROM 'predictions.parquet'
		WHERE date >= DATE '2026-03-02' ORDER BY date, pipeline`,
		"0001_ridge_e5f6a7|2026-03-02 00:00:00 +0000 UTC|2026-03-02_corn",
		"0002_pls_f6a7b8|2026-03-02 00:00:00 +0000 UTC|2026-03-02_corn",
		"0001_svc_a7b8c9|2026-03-03 00:00:00 +0000 UTC|2026-03-03_soil")
	expect(t, db, `SELECT count(*) FROM 'predictions_meta.parquet' m
		JOIN 'predictions.parquet' f ON f.pipeline = m.pipeline_id AND f.date = CAST(m.created_at AS DATE)`, "10")
	expect(t, db, `SELECT DISTINCT typeof(date), typeof(date - min(date) OVER ()), month(date)
		FROM 'predictions.parquet'`, "DATE|BIGINT|3")
}

// The queries of the issue: the best wheat pipeline, then the best
// pipeline of every dataset with a window function.
func TestBestQueries(t *testing.T) {
	db := open(t, writeFiles(t))
	got := query(t, db, `SELECT * FROM 'predictions.parquet' WHERE dataset = 'wheat' ORDER BY rmse LIMIT 1`)
	if len(got) != 1 || len(got[0]) != 18 {
		t.Fatalf("got %v", got)
	}
	best := got[0]
	if best[2] != "0002_rf_b2c3d4" || best[11] != "RandomForestRegressor" {
		t.Errorf("best wheat = %v, want 0002_rf_b2c3d4", best)
	}
	_, _, flat := rows()
	if !near(best[4].(float64), *flat[1].RMSE) {
		t.Errorf("rmse %v, want %v", best[4], *flat[1].RMSE)
	}

	expect(t, db, `SELECT dataset, pipeline FROM (
			SELECT dataset, pipeline, row_number() OVER (PARTITION BY dataset ORDER BY rmse) AS rank
			FROM 'predictions.parquet' WHERE rmse IS NOT NULL)
		WHERE rank = 1 ORDER BY dataset`,
		"corn|0001_ridge_e5f6a7", "wheat|0002_rf_b2c3d4")
	// Regression and classification together: lowest RMSE, else highest accuracy.
	expect(t, db, `SELECT dataset, pipeline, model FROM 'predictions.parquet'
		QUALIFY row_number() OVER (PARTITION BY dataset
			ORDER BY rmse ASC NULLS LAST, accuracy DESC NULLS LAST, pipeline) = 1
		ORDER BY dataset`,
		"corn|0001_ridge_e5f6a7|Ridge", "soil|0001_svc_a7b8c9|SVC", "wheat|0002_rf_b2c3d4|RandomForestRegressor")
	// The same from the per-prediction file, on the test partition.
	expect(t, db, `SELECT dataset, pipeline_id FROM 'predictions_meta.parquet' WHERE partition = 'test'
		QUALIFY rank() OVER (PARTITION BY dataset ORDER BY
			CASE WHEN metric = 'rmse' THEN test_score ELSE -test_score END) = 1
		ORDER BY dataset`,
		"corn|0001_ridge_e5f6a7", "soil|0001_svc_a7b8c9", "wheat|0002_rf_b2c3d4")
}
