package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/catalog"
)

// Fixtures of the report tests: small known catalogs built through the
// store, as a mount would fill it.

// reportPipe describes one pipeline folder.
type reportPipe struct {
	ds, pid string
	model   string  // estimator class; PLSRegression by default
	score   float64 // test rmse, or test accuracy when classes > 0
	created string  // created_at; 2026-03-01T10:00:00Z by default
	failed  bool    // an error.log and no results
	classes int     // > 0: a classification pipeline with that many classes
}

func (f *statusFixture) reportPipeline(sp reportPipe) {
	f.t.Helper()
	if sp.model == "" {
		sp.model = "sklearn.cross_decomposition.PLSRegression"
	}
	if sp.created == "" {
		sp.created = "2026-03-01T10:00:00Z"
	}
	dir := "runs/" + sp.ds + "/" + sp.pid + "/"
	hash := sp.pid[strings.LastIndexByte(sp.pid, '_')+1:]
	f.write(dir+"pipeline.json", fmt.Sprintf(`{"id": %q, "hash": %q, "created_at": %q, "duration_seconds": 75.5,
 "status": "completed", "steps": [
  {"step": 1, "operator": "SNV", "class": "nirs4all.operators.transforms.SNV", "params": {}},
  {"step": 2, "operator": "model", "class": %q, "params": {}}]}`, sp.pid, hash, sp.created, sp.model))
	if sp.failed {
		f.write(dir+"error.log", "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: "+sp.pid+" diverged\n")
		return
	}
	var csv strings.Builder
	csv.WriteString("y_true,y_pred,partition\n")
	parts := []string{"train", "train", "train", "train", "train", "train", "val", "val", "test", "test", "test"}
	if sp.classes > 0 {
		f.write(dir+"metrics.json", fmt.Sprintf(`{"task_type": "multiclass_classification",
 "test": {"accuracy": %g, "balanced_accuracy": %g}, "val": {"accuracy": %g}}`, sp.score, sp.score, sp.score-0.05))
		for i, part := range parts {
			pred := i % sp.classes
			if i%4 == 3 {
				pred = (pred + 1) % sp.classes
			}
			fmt.Fprintf(&csv, "%d,%d,%s\n", i%sp.classes, pred, part)
		}
	} else {
		f.write(dir+"metrics.json", fmt.Sprintf(`{"task_type": "regression",
 "test": {"rmse": %g, "r2": 0.9}, "val": {"rmse": %g}, "train": {"rmse": %g}}`, sp.score, sp.score+0.05, sp.score/2))
		for i, part := range parts {
			off := sp.score
			if i%2 == 1 {
				off = -sp.score
			}
			fmt.Fprintf(&csv, "%g,%g,%s\n", 10+float64(i), 10+float64(i)+off, part)
		}
	}
	f.write(dir+"predictions.csv", csv.String())
}

// view returns the computed file name of folder dir, failing the test
// when it is missing.
func (f *statusFixture) view(dir, name string) catalog.View {
	f.t.Helper()
	views, err := f.cat.Overlay(f.ctx, dir)
	if err != nil {
		f.t.Fatalf("overlay %s: %v", dir, err)
	}
	for _, v := range views {
		if v.Name == name {
			return v
		}
	}
	var names []string
	for _, v := range views {
		names = append(names, v.Name)
	}
	f.t.Fatalf("%s: no %s among %v", dir, name, names)
	return catalog.View{}
}

// viewNames lists the computed entries of dir.
func (f *statusFixture) viewNames(dir string) []string {
	f.t.Helper()
	views, err := f.cat.Overlay(f.ctx, dir)
	if err != nil {
		f.t.Fatalf("overlay %s: %v", dir, err)
	}
	var names []string
	for _, v := range views {
		names = append(names, v.Name)
	}
	return names
}

// wheat is a regression dataset: 0002 is the best (rmse 0.3), 0004 failed.
func (f *statusFixture) wheat() {
	f.t.Helper()
	f.reportPipeline(reportPipe{ds: "wheat", pid: "0001_pls_a1", score: 0.5, created: "2026-03-01T09:00:00Z"})
	f.reportPipeline(reportPipe{ds: "wheat", pid: "0002_ridge_b2", score: 0.3, created: "2026-03-02T09:00:00Z",
		model: "sklearn.linear_model.Ridge"})
	f.reportPipeline(reportPipe{ds: "wheat", pid: "0003_pls_c3", score: 0.4, created: "2026-03-03T09:00:00Z"})
	f.reportPipeline(reportPipe{ds: "wheat", pid: "0004_svr_d4", failed: true, created: "2026-03-03T10:00:00Z",
		model: "sklearn.svm.SVR"})
}

// checkSelfContained fails on anything a browser would fetch from the
// network or another file.
func checkSelfContained(t *testing.T, name string, html string) {
	t.Helper()
	for _, bad := range []string{"https://", "http://", "<link", "src=", "url(", "@import"} {
		if strings.Contains(html, bad) {
			i := strings.Index(html, bad)
			t.Errorf("%s is not self-contained: %q near %q", name, bad, html[max(0, i-60):min(len(html), i+60)])
		}
	}
	if !strings.HasPrefix(html, "<!DOCTYPE html>") || !strings.HasSuffix(html, "</html>\n") {
		t.Errorf("%s: not a complete HTML document", name)
	}
}
