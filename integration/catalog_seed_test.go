//go:build linux

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The seed document's queries of catalog/predictions.parquet ("Parquet
// Database" and Workflow 5), run with DuckDB (integration/duckdb/cmd/duckq)
// in the mount's catalog/ folder, with polars' null ordering (NULLS FIRST),
// so a NULL row or a failed pipeline at the top fails the test.

// duckRows runs a query with duckq in dir and returns its rows as text;
// it fails unless every row came back (duckq returns at most 100).
func duckRows(t testing.TB, dir, query string) [][]string {
	t.Helper()
	bin, why := duckqBin(t)
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	out, err := exec.Command(bin, "-dir", dir, "-n", "1", query).CombinedOutput()
	if err != nil {
		t.Fatalf("duckq %s: %v\n%s", query, err, out)
	}
	var rep struct {
		Rows   int        `json:"rows"`
		Result [][]string `json:"result"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("duckq output: %v\n%s", err, out)
	}
	if rep.Rows != len(rep.Result) {
		t.Fatalf("duckq returned %d of %d rows", len(rep.Result), rep.Rows)
	}
	return rep.Result
}

// seedBest runs the seed's "best ever" query for a dataset and Workflow 5
// on its result: it checks the row has an RMSE, that the archive path the
// seed builds from it exists and is a byte copy of the pipeline's
// predictions.csv (src: the folder the pipelines were copied from, "" to
// compare with the pipeline folder in the mount). It returns the pipeline.
func seedBest(t testing.TB, mnt, ds, src string) string {
	t.Helper()
	cat := filepath.Join(mnt, "catalog")
	// best = df.filter(pl.col("dataset") == ds).sort("rmse").head(1)
	rows := duckRows(t, cat, fmt.Sprintf(`SELECT dataset, session, pipeline, rmse, status, run_deleted
		FROM 'predictions.parquet' WHERE dataset = '%s' ORDER BY rmse ASC NULLS FIRST LIMIT 1`, ds))
	if len(rows) != 1 {
		t.Fatalf("best of %s: %d rows", ds, len(rows))
	}
	best := rows[0]
	if best[3] == "" || best[3] == "<nil>" || best[4] != "ok" {
		t.Fatalf("best of %s by the seed's query: %v (rmse NULL or not completed)", ds, best)
	}
	// Workflow 5, word for word: the archive path from the row.
	path := py(t, `import sys
best = {"dataset": [sys.argv[1]], "session": [sys.argv[2]], "pipeline": [sys.argv[3]]}
predictions_path = f"catalog/archives/best_predictions/{best['dataset'][0]}_{best['session'][0].split('_')[0]}_" f"{best['pipeline'][0]}.csv"
print(predictions_path)`, best[0], best[1], best[2])
	archive := filepath.Join(mnt, path)
	pred := filepath.Join(mnt, "runs", ds, best[2], "predictions.csv")
	if src != "" {
		pred = filepath.Join(src, best[2], "predictions.csv")
	}
	cmpFiles(t, pred, archive)
	if n := duckRows(t, cat, fmt.Sprintf(`SELECT count(*) FROM read_csv('%s')`, archive)); len(n) != 1 || n[0][0] == "0" {
		t.Errorf("read_csv %s: %v rows", archive, n)
	}
	return best[2]
}

// seedQueries runs the seed's other two queries and checks the flat
// file's schema and that it has no failed or unscored row.
func seedQueries(t testing.TB, mnt string) {
	t.Helper()
	cat := filepath.Join(mnt, "catalog")
	types := duckRows(t, cat, `SELECT DISTINCT typeof(date), typeof(n_samples) FROM 'predictions.parquet'`)
	if len(types) != 1 || types[0][0] != "DATE" || types[0][1] != "BIGINT" {
		t.Errorf("predictions.parquet: date, n_samples are %v, want DATE, BIGINT", types)
	}
	// october = df.filter(pl.col("date").dt.month() == 10), for each month
	// present: the date and the session agree.
	for _, r := range duckRows(t, cat, `SELECT DISTINCT month(date) FROM 'predictions.parquet'`) {
		got := duckRows(t, cat, `SELECT count(*) FROM 'predictions.parquet' WHERE month(date) = `+r[0])
		want := duckRows(t, cat, `SELECT count(*) FROM 'predictions.parquet'
			WHERE CAST(substr(session, 6, 2) AS INTEGER) = `+r[0]+` AND session = strftime(date, '%Y-%m-%d') || '_' || dataset`)
		if got[0][0] != want[0][0] || got[0][0] == "0" {
			t.Errorf("month %s: %s rows by date, %s by session", r[0], got[0][0], want[0][0])
		}
	}
	// comparison = df.group_by("dataset").agg(pl.col("rmse").min()): every
	// regression dataset's minimum is its best row's RMSE.
	for _, r := range duckRows(t, cat, `SELECT dataset, min(rmse), arg_min(pipeline, rmse) FROM 'predictions.parquet'
		WHERE task_type = 'regression' GROUP BY dataset ORDER BY dataset`) {
		top := duckRows(t, cat, `SELECT pipeline FROM 'predictions.parquet' WHERE dataset = '`+r[0]+`'
			ORDER BY rmse ASC NULLS FIRST, pipeline LIMIT 1`)
		if r[1] == "<nil>" || top[0][0] != r[2] {
			t.Errorf("dataset %s: min rmse %s of %s, the seed's sort gives %v", r[0], r[1], r[2], top)
		}
	}
	bad := duckRows(t, cat, `SELECT dataset, pipeline, status, score FROM 'predictions.parquet'
		WHERE status != 'ok' OR score IS NULL OR (task_type = 'regression' AND rmse IS NULL)
			OR (task_type != 'regression' AND rmse IS NOT NULL)`)
	if len(bad) > 0 {
		t.Errorf("predictions.parquet rows that are not completed and ranked: %v", bad)
	}
}

// TestSeedQueriesDemo: the seed's queries on `n4ws demo` (regression and
// classification datasets, a few failed pipelines).
func TestSeedQueriesDemo(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	n4ws(t, store, "demo", "--datasets", "3", "--pipelines", "40")
	mnt := mountStore(t, store)
	seedQueries(t, mnt)
	cat := filepath.Join(mnt, "catalog")
	failed := 0
	for _, ds := range lsNames(t, filepath.Join(mnt, "runs")) {
		var sum runSummary
		pyJSON(t, filepath.Join(mnt, "runs", ds, "run_summary.json"), &sum)
		failed += sum.Failed
		for _, pid := range sum.FailedRuns {
			if n := duckRows(t, cat, `SELECT count(*) FROM 'predictions.parquet' WHERE dataset = '`+ds+`' AND pipeline = '`+pid+`'`); n[0][0] != "0" {
				t.Errorf("failed pipeline %s/%s is in predictions.parquet", ds, pid)
			}
		}
	}
	if failed == 0 {
		t.Fatalf("the demo has no failed pipeline to leave out")
	}
	for _, r := range duckRows(t, cat, `SELECT DISTINCT dataset, task_type FROM 'predictions.parquet' ORDER BY 1`) {
		var best struct {
			Pipeline string `json:"pipeline"`
		}
		n4wsJSON(t, store, &best, "catalog", "best", r[0], "--json")
		if r[1] != "regression" {
			top := duckRows(t, cat, `SELECT pipeline, metric FROM 'predictions.parquet' WHERE dataset = '`+r[0]+`'
				ORDER BY score DESC NULLS FIRST, pipeline LIMIT 1`)
			if top[0][0] != best.Pipeline || top[0][1] != "balanced_accuracy" {
				t.Errorf("%s (%s): top score %v, n4ws catalog best says %s", r[0], r[1], top, best.Pipeline)
			}
			continue
		}
		if got := seedBest(t, mnt, r[0], ""); got != best.Pipeline {
			t.Errorf("%s: the seed's query gives %s, n4ws catalog best %s", r[0], got, best.Pipeline)
		}
	}
}

// TestSeedQueriesFailedMalformed: a regression dataset whose failed
// pipeline has the lowest RMSE, with a malformed metrics.json, a pipeline
// without predictions and one still arriving; and the classification
// dataset of issue 9 beside it.
func TestSeedQueriesFailedMalformed(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	src := filepath.Join(t.TempDir(), "wheat")
	for _, s := range []pipeSpec{
		{pid: "0001_pls_a1", testRMSE: 0.5},
		{pid: "0002_pls_a2", testRMSE: 0.3},
		{pid: "0003_pls_a3", testRMSE: 0.05}, // failed below
		{pid: "0004_pls_a4", testRMSE: 0.4},  // malformed below
		{pid: "0005_pls_a5", testRMSE: 0.01}, // no predictions.csv below
	} {
		makePipeline(t, src, s)
	}
	writeFile(t, filepath.Join(src, "0003_pls_a3/error.log"), []byte("Traceback\nMemoryError\n"))
	writeFile(t, filepath.Join(src, "0004_pls_a4/metrics.json"), []byte(`{"test": {"rmse": `))
	run(t, "", "rm", filepath.Join(src, "0005_pls_a5/predictions.csv"))
	mkdirAll(t, filepath.Join(src, "0006_pls_a6"))
	cpR(t, src, filepath.Join(mnt, "runs"))
	landClassDataset(t, mnt, "cls", issueSpecs...)

	seedQueries(t, mnt)
	if got := seedBest(t, mnt, "wheat", src); got != "0002_pls_a2" {
		t.Errorf("wheat: the seed's query gives %s, want 0002_pls_a2", got)
	}
	cat := filepath.Join(mnt, "catalog")
	flat := duckRows(t, cat, `SELECT dataset, pipeline FROM 'predictions.parquet' ORDER BY 1, 2`)
	var got []string
	for _, r := range flat {
		got = append(got, r[0]+"/"+r[1])
	}
	want := "cls/0001_rf_a1 cls/0002_rf_a2 cls/0003_rf_a3 cls/0004_rf_a4 cls/0006_rf_a6 " +
		"wheat/0001_pls_a1 wheat/0002_pls_a2 wheat/0004_pls_a4"
	if strings.Join(got, " ") != want {
		t.Errorf("predictions.parquet rows:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	// The others stay in predictions_meta.parquet with their status.
	meta := duckRows(t, cat, `SELECT DISTINCT pipeline_id, status FROM 'predictions_meta.parquet'
		WHERE pipeline_id IN ('0003_pls_a3', '0005_rf_a5') ORDER BY 1`)
	if len(meta) != 2 || meta[0][1] != "failed" || meta[1][1] != "failed" {
		t.Errorf("predictions_meta.parquet failed rows: %v", meta)
	}
	var sum struct {
		runSummary
		IncompleteRuns []string `json:"incomplete_pipelines"`
	}
	pyJSON(t, filepath.Join(mnt, "runs/wheat/run_summary.json"), &sum)
	if strings.Join(sum.FailedRuns, " ") != "0003_pls_a3" || strings.Join(sum.IncompleteRuns, " ") != "0006_pls_a6" {
		t.Errorf("run_summary.json: failed %v, incomplete %v", sum.FailedRuns, sum.IncompleteRuns)
	}
	top := duckRows(t, cat, `SELECT pipeline, metric, score FROM 'predictions.parquet' WHERE dataset = 'cls'
		ORDER BY balanced_accuracy DESC NULLS FIRST LIMIT 1`)
	if top[0][0] != "0002_rf_a2" || top[0][1] != "balanced_accuracy" {
		t.Errorf("cls by balanced_accuracy: %v, want 0002_rf_a2", top)
	}

	// Workflow 6: the best's run folder is deleted; its row stays, marked,
	// and Workflow 5 still finds its archive.
	run(t, "", "rm", "-rf", filepath.Join(mnt, "runs/wheat/0002_pls_a2"))
	if got := seedBest(t, mnt, "wheat", src); got != "0002_pls_a2" {
		t.Errorf("wheat after rm -rf of its best: the seed's query gives %s, want 0002_pls_a2", got)
	}
	del := duckRows(t, cat, `SELECT run_deleted FROM 'predictions.parquet' WHERE pipeline = '0002_pls_a2'`)
	if len(del) != 1 || del[0][0] != "true" {
		t.Errorf("0002_pls_a2 after rm -rf: %v, want one row with run_deleted", del)
	}
}
