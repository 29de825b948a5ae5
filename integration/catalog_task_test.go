//go:build linux

package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// One task and one ranking metric per dataset: a classification dataset
// whose pipelines are copied in with cp, some failed, one with a malformed
// metrics.json, is ranked by balanced accuracy only.

// classSpec describes a classification pipeline folder.
type classSpec struct {
	pid       string
	testBAcc  float64 // metrics.json test.balanced_accuracy (and accuracy)
	declared  string  // metrics.json task_type; "" leaves it out
	malformed bool    // metrics.json is not JSON
	failed    bool    // error.log beside predictions.csv
	wrong     int     // test rows predicted wrong (of 6; 2 wrong: balanced accuracy 2/3)
}

// makeClassPipeline writes spec's folder below dir: integer class labels
// 0, 1, 2 in predictions.csv, pipeline.json with a created_at.
func makeClassPipeline(t testing.TB, dir string, spec classSpec) string {
	t.Helper()
	p := filepath.Join(dir, spec.pid)
	switch {
	case spec.malformed:
		writeFile(t, filepath.Join(p, "metrics.json"), []byte(`{"task_type": "multiclass_classification", "test": {`))
	default:
		task := ""
		if spec.declared != "" {
			task = fmt.Sprintf(`"task_type": %q, `, spec.declared)
		}
		writeFile(t, filepath.Join(p, "metrics.json"), fmt.Appendf(nil,
			`{%s"test": {"balanced_accuracy": %g, "accuracy": %g}, "val": {"balanced_accuracy": %g}}`+"\n",
			task, spec.testBAcc, spec.testBAcc, spec.testBAcc-0.05))
	}
	var csv strings.Builder
	csv.WriteString("sample_id,y_true,y_pred,partition\n")
	for i := range 18 { // 6 rows each of train, val, test; labels 0, 1, 2
		part := []string{"train", "val", "test"}[i/6]
		label, pred := i%3, i%3
		if part == "test" && i-12 < spec.wrong {
			pred = (label + 1) % 3
		}
		fmt.Fprintf(&csv, "s%02d,%d,%d,%s\n", i, label, pred, part)
	}
	writeFile(t, filepath.Join(p, "predictions.csv"), []byte(csv.String()))
	hash := spec.pid[strings.LastIndexByte(spec.pid, '_')+1:]
	writeFile(t, filepath.Join(p, "pipeline.json"), fmt.Appendf(nil, `{"id": %q, "hash": %q,
  "created_at": "%sT10:00:00Z", "status": "completed",
  "steps": [{"step": 1, "operator": "model", "class": "sklearn.ensemble.RandomForestClassifier", "params": {}}]}
`, spec.pid, hash, pipeDate))
	if spec.failed {
		writeFile(t, filepath.Join(p, "error.log"), []byte("Traceback (most recent call last):\nValueError: boom\n"))
	}
	return p
}

// landClassDataset makes the folders in a temporary runs/<ds>/ and copies
// it into the mount with cp -r; it returns the temporary folder.
func landClassDataset(t testing.TB, mnt, ds string, specs ...classSpec) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), ds)
	for _, s := range specs {
		makeClassPipeline(t, src, s)
	}
	cpR(t, src, filepath.Join(mnt, "runs"))
	return src
}

// issueSpecs are the pipelines of the report: test balanced accuracy 0.82,
// 0.77, 0.60, 0.65, one failed (its metrics say 0.99) and one whose
// metrics.json is malformed (its predictions score 0.5 on test).
var issueSpecs = []classSpec{
	{pid: "0001_rf_a1", testBAcc: 0.60, declared: "multiclass_classification"},
	{pid: "0002_rf_a2", testBAcc: 0.82, declared: "multiclass_classification"},
	{pid: "0003_rf_a3", malformed: true, wrong: 2},
	{pid: "0004_rf_a4", testBAcc: 0.77, declared: "multiclass_classification"},
	{pid: "0005_rf_a5", testBAcc: 0.99, declared: "multiclass_classification", failed: true},
	{pid: "0006_rf_a6", testBAcc: 0.65, declared: "multiclass_classification"},
}

// TestCatalogBestOneMetric: the best of a classification dataset with a
// failed and a malformed pipeline is the highest balanced accuracy.
func TestCatalogBestOneMetric(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	ds := filepath.Join(mnt, "runs/cls")
	src := landClassDataset(t, mnt, "cls", issueSpecs...)

	wantBest(t, ds, "0002_rf_a2", filepath.Join(src, "0002_rf_a2/predictions.csv"))
	var sum struct {
		runSummary
		Task    string `json:"task"`
		Ranking struct {
			Metric    string `json:"metric"`
			Partition string `json:"partition"`
		} `json:"ranking"`
	}
	pyJSON(t, filepath.Join(ds, "run_summary.json"), &sum)
	if sum.Task != "multiclass_classification" || sum.Ranking.Metric != "balanced_accuracy" || sum.Ranking.Partition != "test" {
		t.Errorf("run_summary.json: task %q ranked by %q on %q, want multiclass_classification by balanced_accuracy on test",
			sum.Task, sum.Ranking.Metric, sum.Ranking.Partition)
	}
	if sum.Best == nil || sum.Best.Pipeline != "0002_rf_a2" || sum.Best.Metric != "balanced_accuracy" || sum.Best.Score != 0.82 {
		t.Errorf("run_summary.json best: %+v, want 0002_rf_a2 by balanced_accuracy 0.82", sum.Best)
	}
	if sum.Failed != 1 || len(sum.FailedRuns) != 1 || sum.FailedRuns[0] != "0005_rf_a5" {
		t.Errorf("run_summary.json failed: %d %v, want [0005_rf_a5]", sum.Failed, sum.FailedRuns)
	}

	var best struct {
		Pipeline string `json:"pipeline"`
		TaskType string `json:"task_type"`
		Score    struct {
			Metric    string  `json:"metric"`
			Partition string  `json:"partition"`
			Value     float64 `json:"value"`
		} `json:"score"`
	}
	n4wsJSON(t, store, &best, "catalog", "best", "cls", "--json")
	if best.Pipeline != "0002_rf_a2" || best.TaskType != "multiclass_classification" ||
		best.Score.Metric != "balanced_accuracy" || best.Score.Value != 0.82 {
		t.Errorf("n4ws catalog best cls: %+v, want 0002_rf_a2, multiclass, balanced_accuracy 0.82", best)
	}
	text := n4ws(t, store, "catalog", "best", "cls")
	if !strings.Contains(text, "multiclass_classification") || !strings.Contains(text, "balanced_accuracy") {
		t.Errorf("n4ws catalog best cls does not show the task and metric:\n%s", text)
	}

	// The malformed pipeline is scored from its predictions as the dataset's
	// task: balanced accuracy, no RMSE of class codes.
	var rows []listRowJSON
	n4wsJSON(t, store, &rows, "catalog", "list", "cls", "--json")
	for _, r := range rows {
		if r.Pipeline != "0003_rf_a3" {
			continue
		}
		if _, ok := r.Scores["test"]["rmse"]; ok {
			t.Errorf("0003 (malformed metrics.json) was scored as regression: %v", r.Scores)
		}
		if v := r.Scores["test"]["balanced_accuracy"]; v < 0.66 || v > 0.67 {
			t.Errorf("0003 test balanced_accuracy from predictions = %v, want 2/3", v)
		}
	}
}

// archivesOf maps each pipeline of dataset ds to its archive files.
func archivesOf(t testing.TB, dir, ds string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, name := range withPrefix(lsNames(t, dir), ds+"_") {
		rest := strings.TrimSuffix(strings.TrimPrefix(name, ds+"_"), ".csv")
		if len(rest) < 12 {
			t.Fatalf("archive %s: not <ds>_<date>_<pipeline>.csv", name)
		}
		out[rest[11:]] = append(out[rest[11:]], rest[:10])
	}
	return out
}

// TestCatalogArchiveNames: a best's archive is named after the pipeline's
// session date; a pipeline that wins twice has one file; a pipeline whose
// date arrives after it became best has its archive renamed. (A pipeline
// that was best for a moment while cp -r copied the folders has an archive
// too: every best ever seen is kept.)
func TestCatalogArchiveNames(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	ds := filepath.Join(mnt, "runs/ds")
	archives := filepath.Join(mnt, "catalog/archives/best_predictions")
	src := landDataset(t, mnt, "ds", threeSpecs...)
	wantBest(t, ds, "0002_b_x2", filepath.Join(src, "0002_b_x2/predictions.csv"))

	landPipeline(t, mnt, "ds", src, pipeSpec{pid: "0004_d_x4", testRMSE: 0.1})
	wantBest(t, ds, "0004_d_x4", filepath.Join(src, "0004_d_x4/predictions.csv"))
	run(t, "", "rm", "-rf", filepath.Join(ds, "0004_d_x4"))
	wantBest(t, ds, "0002_b_x2", filepath.Join(src, "0002_b_x2/predictions.csv")) // wins again

	check := func(when string, want map[string]string) {
		t.Helper()
		got := archivesOf(t, archives, "ds")
		for pid, dates := range got {
			if w := want[pid]; len(dates) != 1 || (w != "" && dates[0] != w) || (w == "" && dates[0] != pipeDate) {
				t.Errorf("%s: archives of %s dated %v, want one, of %s", when, pid, dates, max(w, pipeDate))
			}
		}
		for pid := range want {
			if got[pid] == nil {
				t.Errorf("%s: no archive of %s in %v", when, pid, lsNames(t, archives))
			}
		}
	}
	check("after 0002 won twice", map[string]string{"0002_b_x2": pipeDate, "0004_d_x4": pipeDate})

	// A pipeline lands without pipeline.json (no date yet: the day n4ws
	// sees it), wins, then its pipeline.json says it ran on pipeDate.
	p := makePipeline(t, src, pipeSpec{pid: "0005_e_x5", testRMSE: 0.05})
	pj := filepath.Join(t.TempDir(), "pipeline.json")
	run(t, "", "mv", filepath.Join(p, "pipeline.json"), pj)
	cpR(t, p, ds)
	wantBest(t, ds, "0005_e_x5", filepath.Join(p, "predictions.csv"))
	today := strings.TrimSpace(run(t, "", "date", "-u", "+%Y-%m-%d"))
	check("0005 without a date", map[string]string{"0002_b_x2": pipeDate, "0005_e_x5": today})
	run(t, "", "cp", pj, filepath.Join(ds, "0005_e_x5"))
	wantBest(t, ds, "0005_e_x5", filepath.Join(p, "predictions.csv"))
	check("after 0005's pipeline.json", map[string]string{"0002_b_x2": pipeDate, "0005_e_x5": pipeDate})
	cmpFiles(t, filepath.Join(p, "predictions.csv"), filepath.Join(archives, "ds_"+pipeDate+"_0005_e_x5.csv"))
}
