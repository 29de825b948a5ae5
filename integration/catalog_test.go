//go:build linux

package integration

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The workspace semantics as a user meets them: pipeline folders copied in
// with cp, the computed best file, summaries and exports that follow at
// once, the permanent catalog, xattrs, and the catalog commands of the CLI.

// TestCatalogBestAtOnce: right after cp -r returns, ls shows the best file.
func TestCatalogBestAtOnce(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	ds := filepath.Join(mnt, "runs/ds")
	src := landDataset(t, mnt, "ds", threeSpecs...)

	wantBest(t, ds, "0002_b_x2", filepath.Join(src, "0002_b_x2/predictions.csv"))
	// The mount point itself lists (it has no computed entries of its own).
	if got, want := sortedCopy(lsNames(t, mnt)), []string{"catalog", "exports", "library", "runs", "store.sqlite"}; !slices.Equal(got, want) {
		t.Errorf("ls %s: %v, want %v", mnt, got, want)
	}
	var sum runSummary
	pyJSON(t, filepath.Join(ds, "run_summary.json"), &sum)
	if sum.Dataset != "ds" || sum.Pipelines != 3 || sum.Succeeded != 3 || sum.Failed != 0 {
		t.Errorf("run_summary.json counts: %+v, want 3 pipelines, 3 succeeded", sum)
	}
	if sum.Best == nil || sum.Best.Pipeline != "0002_b_x2" || sum.Best.File != "best_0002_b_x2.csv" ||
		sum.Best.Metric != "rmse" || sum.Best.Score != 0.3 {
		t.Errorf("run_summary.json best: %+v, want 0002_b_x2 by rmse 0.3", sum.Best)
	}
}

// TestCatalogBestMovesAndArchives: a better pipeline takes over at once,
// every best is archived, and the catalog outlives rm -rf of the runs.
func TestCatalogBestMovesAndArchives(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	ds := filepath.Join(mnt, "runs/ds")
	src := landDataset(t, mnt, "ds", threeSpecs...)
	pred := func(pid string) string { return filepath.Join(src, pid, "predictions.csv") }
	wantBest(t, ds, "0002_b_x2", pred("0002_b_x2"))

	landPipeline(t, mnt, "ds", src, pipeSpec{pid: "0004_d_x4", testRMSE: 0.1})
	wantBest(t, ds, "0004_d_x4", pred("0004_d_x4"))
	mustNotExist(t, filepath.Join(ds, "best_0002_b_x2.csv"))

	archives := filepath.Join(mnt, "catalog/archives/best_predictions")
	archived := map[string]string{} // pipeline → archive file
	for _, name := range lsNames(t, archives) {
		for _, s := range append(threeSpecs, pipeSpec{pid: "0004_d_x4"}) {
			if strings.HasPrefix(name, "ds_") && strings.HasSuffix(name, "_"+s.pid+".csv") {
				archived[s.pid] = filepath.Join(archives, name)
			}
		}
	}
	for _, pid := range []string{"0002_b_x2", "0004_d_x4"} {
		if archived[pid] == "" {
			t.Fatalf("ls %s: no archive of best %s (have %v)", archives, pid, lsNames(t, archives))
		}
	}
	for pid, a := range archived {
		cmpFiles(t, pred(pid), a)
	}

	sh(t, "rm -rf "+ds+"/0004_*")
	for pid, a := range archived { // archives keep their content
		cmpFiles(t, pred(pid), a)
	}
	wantBest(t, ds, "0002_b_x2", pred("0002_b_x2"))

	run(t, "", "rm", "-rf", ds)
	if slices.Contains(lsNames(t, filepath.Join(mnt, "runs")), "ds") {
		t.Errorf("runs/ds still listed after rm -rf")
	}
	mustNotExist(t, filepath.Join(mnt, "exports/ds"))
	if left := withPrefix(lsNames(t, filepath.Join(mnt, "exports/best_predictions")), "ds_"); len(left) > 0 {
		t.Errorf("exports/best_predictions still lists %v after rm -rf runs/ds", left)
	}
	for pid, a := range archived {
		cmpFiles(t, pred(pid), a)
	}
	if n := fileSize(t, filepath.Join(mnt, "catalog/predictions.parquet")); n <= 0 {
		t.Errorf("catalog/predictions.parquet has %d bytes after rm -rf runs/ds", n)
	}

	var rows []listRowJSON
	n4wsJSON(t, store, &rows, "catalog", "list", "ds", "--all", "--json")
	if len(rows) != 4 {
		t.Fatalf("catalog list ds --all: %d rows, want 4: %+v", len(rows), rows)
	}
	for _, r := range rows {
		if !r.RunDeleted || r.Best || r.Model != "PLSRegression" || r.Scores["test"]["rmse"] == 0 {
			t.Errorf("catalog list row %+v: want run_deleted, not best, model and scores kept", r)
		}
	}
	text := n4ws(t, store, "catalog", "list", "ds", "--all")
	if strings.Count(text, "run deleted") != 4 {
		t.Errorf("catalog list ds --all does not mark the 4 deleted runs:\n%s", text)
	}
	var none []listRowJSON
	n4wsJSON(t, store, &none, "catalog", "list", "ds", "--json")
	if len(none) != 0 {
		t.Errorf("catalog list ds without --all shows deleted runs: %+v", none)
	}
}

// TestExportsPerModel: exports/<ds>/ holds each model's best pipeline;
// exports/ and catalog/ refuse writes with EROFS.
func TestExportsPerModel(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	src := landDataset(t, mnt, "ds",
		pipeSpec{pid: "0001_pls_a1", testRMSE: 0.5},
		pipeSpec{pid: "0002_pls_a2", testRMSE: 0.3},
		pipeSpec{pid: "0003_ridge_a3", testRMSE: 0.4, model: ridgeClass},
		pipeSpec{pid: "0004_ridge_a4", testRMSE: 0.6, model: ridgeClass})
	exp := filepath.Join(mnt, "exports/ds")
	want := []string{"PLSRegression_pipeline.json", "PLSRegression_predictions.csv", "PLSRegression_summary.json",
		"Ridge_pipeline.json", "Ridge_predictions.csv", "Ridge_summary.json", "chart_predictions.png", "chart_residuals.png"}
	if got := sortedCopy(lsNames(t, exp)); !slices.Equal(got, want) {
		t.Fatalf("ls exports/ds: %v, want %v", got, want)
	}
	for model, pid := range map[string]string{"PLSRegression": "0002_pls_a2", "Ridge": "0003_ridge_a3"} {
		cmpFiles(t, filepath.Join(src, pid, "predictions.csv"), filepath.Join(exp, model+"_predictions.csv"))
		cmpFiles(t, filepath.Join(src, pid, "pipeline.json"), filepath.Join(exp, model+"_pipeline.json"))
		var sum struct {
			PipelineID string  `json:"pipeline_id"`
			ModelName  string  `json:"model_name"`
			Score      float64 `json:"score"`
		}
		pyJSON(t, filepath.Join(exp, model+"_summary.json"), &sum)
		if sum.PipelineID != pid || sum.ModelName != model {
			t.Errorf("%s_summary.json: %+v, want pipeline %s", model, sum, pid)
		}
	}
	bp := filepath.Join(mnt, "exports/best_predictions", "ds_"+pipeDate+"_0002_pls_a2.csv")
	cmpFiles(t, filepath.Join(src, "0002_pls_a2/predictions.csv"), bp)

	at := func(p string) string { return filepath.Join(mnt, p) }
	refused := [][]string{
		{"touch", at("exports/ds/new.csv")},
		{"cp", "/etc/hostname", at("exports/ds/Ridge_predictions.csv")},
		{"mkdir", at("exports/ds/sub")},
		{"rm", at("exports/ds/Ridge_summary.json")},
		{"touch", at("exports/new.csv")},
		{"touch", bp},
		{"rm", bp},
		{"sh", "-c", "echo x > " + at("catalog/predictions.parquet")},
		{"touch", at("catalog/new.txt")},
		{"rm", at("catalog/predictions.parquet")},
		{"cp", "/etc/hostname", at("catalog/archives/best_predictions/x.csv")},
	}
	for _, c := range refused {
		out, _ := runFail(t, "", c[0], c[1:]...)
		wantOneOf(t, strings.Join(c, " "), out, "Read-only file system")
	}
	cmpFiles(t, filepath.Join(src, "0003_ridge_a3/predictions.csv"), at("exports/ds/Ridge_predictions.csv"))
	cmpFiles(t, filepath.Join(src, "0002_pls_a2/predictions.csv"), bp)
	if n := fileSize(t, at("catalog/predictions.parquet")); n <= 0 {
		t.Errorf("catalog/predictions.parquet: %d bytes after refused writes", n)
	}
	for _, p := range []string{"exports/ds/Ridge_summary.json", "exports/ds/new.csv", "catalog/new.txt"} {
		if p == "exports/ds/Ridge_summary.json" {
			fileSize(t, at(p)) // still there
			continue
		}
		mustNotExist(t, at(p))
	}
}

// TestXattrsOfPipelines: scores, model and status as user.n4ws.* xattrs.
func TestXattrsOfPipelines(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	landDataset(t, mnt, "ds", threeSpecs...)
	dir := filepath.Join(mnt, "runs/ds/0002_b_x2")
	for name, want := range map[string]string{
		"user.n4ws.test_rmse": "0.3",
		"user.n4ws.test_r2":   "0.7",
		"user.n4ws.model":     "PLSRegression",
		"user.n4ws.status":    "ok",
		"user.n4ws.best":      "true",
	} {
		if got := getxattr(t, dir, name); got != want {
			t.Errorf("getxattr %s %s = %q, want %q", dir, name, got, want)
		}
	}
	if got := getxattr(t, filepath.Join(mnt, "runs/ds/0001_a_x1"), "user.n4ws.best"); got != "false" {
		t.Errorf("user.n4ws.best of 0001 = %q, want false", got)
	}
	for _, f := range []string{"predictions.csv", "metrics.json", "pipeline.json"} {
		p := filepath.Join(dir, f)
		if got, want := getxattr(t, p, "user.n4ws.sha256"), sha256sum(t, p); got != want {
			t.Errorf("user.n4ws.sha256 of %s = %q, sha256sum says %q", f, got, want)
		}
	}
	out := py(t, `import os, sys
for name in ("user.n4ws.x", "user.n4ws.test_rmse"):
    try:
        os.setxattr(sys.argv[1], name, b"1")
        print(name, "SET")
    except OSError as e:
        print(name, "ERROR", e.errno)
os.setxattr(sys.argv[1], "user.note", b"mine")
print(os.getxattr(sys.argv[1], "user.note").decode())`, dir)
	if strings.Contains(out, "SET") || !strings.HasSuffix(out, "mine") {
		t.Errorf("setxattr user.n4ws.* must fail and user.note work:\n%s", out)
	}
	if got := getxattr(t, dir, "user.n4ws.test_rmse"); got != "0.3" {
		t.Errorf("user.n4ws.test_rmse after a refused set = %q", got)
	}
}

// TestStatusBadInput: files the catalog cannot use are stored byte for
// byte and named, with a reason, in run_summary.json and n4ws status.
func TestStatusBadInput(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	src := filepath.Join(t.TempDir(), "ds")
	for _, s := range []pipeSpec{{pid: "0001_good_a", testRMSE: 0.2}, {pid: "0002_badjson_b", testRMSE: 0.35},
		{pid: "0003_nan_c", testRMSE: 0.4}, {pid: "0004_empty_d", testRMSE: 0.45}, {pid: "0005_text_e", testRMSE: 0.5},
		{pid: "0006_failed_f", testRMSE: 0.05}} {
		makePipeline(t, src, s)
	}
	bad := map[string]string{ // file → content
		"0002_badjson_b/metrics.json":  `{"test": {"rmse": 0.3,`,
		"0003_nan_c/metrics.json":      `{"test": {"rmse": NaN, "r2": NaN}}`,
		"0004_empty_d/predictions.csv": "",
		"0005_text_e/predictions.csv":  "y_true,y_pred,partition\nhigh,low,test\nabc,def,test\n",
	}
	for f, content := range bad {
		writeFile(t, filepath.Join(src, f), []byte(content))
	}
	writeFile(t, filepath.Join(src, "0006_failed_f/error.log"), []byte("Traceback: out of memory\n"))
	mkdirAll(t, filepath.Join(src, "_binaries"))
	mkdirAll(t, filepath.Join(src, "old results"))
	cpR(t, src, filepath.Join(mnt, "runs"))

	ds := filepath.Join(mnt, "runs/ds")
	for f := range bad {
		cmpFiles(t, filepath.Join(src, f), filepath.Join(ds, f))
	}
	wantBest(t, ds, "0001_good_a", filepath.Join(src, "0001_good_a/predictions.csv"))
	var sum runSummary
	pyJSON(t, filepath.Join(ds, "run_summary.json"), &sum)
	if sum.Pipelines != 6 || sum.Failed != 1 || !slices.Equal(sum.FailedRuns, []string{"0006_failed_f"}) {
		t.Errorf("run_summary.json: %d pipelines, %d failed %v; want 6, 1 [0006_failed_f]", sum.Pipelines, sum.Failed, sum.FailedRuns)
	}
	summaryErrs := map[string]string{}
	for _, e := range sum.Errors {
		summaryErrs[e.Pipeline+"/"+e.File] = e.Reason
	}
	var st statusJSON
	n4wsJSON(t, store, &st, "status", "--json")
	statusErrs := map[string]string{}
	for _, e := range st.Errors {
		statusErrs[e.File] = e.Reason
	}
	text := n4ws(t, store, "status")
	for f := range bad {
		if summaryErrs[f] == "" {
			t.Errorf("run_summary.json errors name no reason for %s: %+v", f, sum.Errors)
		}
		if statusErrs["runs/ds/"+f] == "" {
			t.Errorf("n4ws status --json errors name no reason for runs/ds/%s: %+v", f, st.Errors)
		}
		if !strings.Contains(text, "runs/ds/"+f) {
			t.Errorf("n4ws status does not name runs/ds/%s:\n%s", f, text)
		}
	}
	if !strings.Contains(text, "empty file") {
		t.Errorf("n4ws status gives no reason for the empty predictions.csv:\n%s", text)
	}
	if len(st.Datasets) != 1 || st.Datasets[0].Failed != 1 || st.Datasets[0].Pipelines != 6 {
		t.Errorf("n4ws status datasets: %+v, want ds with 6 pipelines, 1 failed", st.Datasets)
	}
	if !slices.Equal(st.NotPipelines, []string{"runs/ds/old results"}) {
		t.Errorf("n4ws status not_pipeline_folders = %q, want [runs/ds/old results]", st.NotPipelines)
	}
	if got := getxattr(t, filepath.Join(ds, "0006_failed_f"), "user.n4ws.status"); got != "failed" {
		t.Errorf("user.n4ws.status of the pipeline with error.log = %q, want failed", got)
	}

	// The mount keeps working: a new, better pipeline takes over.
	landPipeline(t, mnt, "ds", src, pipeSpec{pid: "0007_good_g", testRMSE: 0.1})
	wantBest(t, ds, "0007_good_g", filepath.Join(src, "0007_good_g/predictions.csv"))

	// Removing a bad folder removes its errors from both reports.
	run(t, "", "rm", "-rf", filepath.Join(ds, "0002_badjson_b"))
	pyJSON(t, filepath.Join(ds, "run_summary.json"), &sum)
	n4wsJSON(t, store, &st, "status", "--json")
	if len(sum.Errors) != len(bad)-1 || len(st.Errors) != len(bad)-1 {
		t.Errorf("after rm -rf 0002_badjson_b: run_summary.json errors %+v, status errors %+v; want %d each",
			sum.Errors, st.Errors, len(bad)-1)
	}
}

// TestNextIDAndUniqueNumbers: a taken number cannot be made again, even
// by parallel writers, and n4ws runs next-id prints the next free one.
func TestNextIDAndUniqueNumbers(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	ds := filepath.Join(mnt, "runs/ds")
	landDataset(t, mnt, "ds", threeSpecs...)
	if got := n4ws(t, store, "runs", "next-id", "ds"); got != "0004\n" {
		t.Errorf("runs next-id ds = %q, want 0004", got)
	}
	out, _ := runFail(t, "", "mkdir", filepath.Join(ds, "0002_other_x"))
	wantOneOf(t, "mkdir 0002_other_x", out, "File exists")

	var cmds []*exec.Cmd
	for i := range 8 {
		cmds = append(cmds, exec.Command("mkdir", filepath.Join(ds, fmt.Sprintf("0099_try%d_abc", i))))
	}
	ok, outs := startAll(t, cmds)
	won := 0
	for i := range ok {
		if ok[i] {
			won++
		} else {
			wantOneOf(t, "parallel mkdir", outs[i], "File exists")
		}
	}
	if made := withPrefix(lsNames(t, ds), "0099_"); won != 1 || len(made) != 1 {
		t.Errorf("8 parallel mkdir 0099_try<i>_abc: %d succeeded, ls shows %v; want exactly one", won, made)
	}
	if got := n4ws(t, store, "runs", "next-id", "ds"); got != "0100\n" {
		t.Errorf("runs next-id ds = %q, want 0100", got)
	}
	run(t, "", "mkdir", filepath.Join(mnt, "runs/empty"))
	for _, d := range []string{"empty", "missing"} {
		if got := n4ws(t, store, "runs", "next-id", d); got != "0001\n" {
			t.Errorf("runs next-id %s = %q, want 0001", d, got)
		}
	}
}
