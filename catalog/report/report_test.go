package report

import (
	"bytes"
	"image/png"
	"slices"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/backing/backingtest"
)

func TestSessionReportRegression(t *testing.T) {
	f := newStatusFixture(t)
	f.wheat()
	f.reportPipeline(reportPipe{ds: "wheat", pid: "0005_pls_e5", score: 0.45})
	f.refresh()
	backingtest.RemoveAll(t, f.s, "runs/wheat/0005_pls_e5") // deleted: not part of the run any more
	f.refresh()

	if got := f.viewNames("exports/session_reports"); !slices.Equal(got, []string{"wheat.html"}) {
		t.Fatalf("exports/session_reports: %v, want [wheat.html]", got)
	}
	v := f.view("exports/session_reports", "wheat.html")
	html := string(v.Data)
	if v.Size != int64(len(v.Data)) || v.Dir {
		t.Errorf("size %d for %d bytes (dir %v)", v.Size, len(v.Data), v.Dir)
	}
	checkSelfContained(t, "wheat.html", html)
	for _, want := range []string{
		`id="best-pipeline">0002_ridge_b2<`,
		`<tr data-pid="0002_ridge_b2" class="best">`,
		`Residuals of the best pipeline`,
		`<tr data-failed="0004_svr_d4">`,
		`ValueError: 0004_svr_d4 diverged`,
		`<td>SNV</td>`,
		`<td class="n" data-v="75.5">1 min 16 s</td>`, // durations for people
		`data-v="0.3">0.3000</td>`,                    // scores with 4 significant digits
		`aria-label="Predicted vs true, test"`,
		`aria-label="Distribution of scores"`,
		`aria-label="Best so far by pipeline number"`,
		`run folders deleted</span><b>1</b>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("wheat.html lacks %q", want)
		}
	}
	if n := strings.Count(html, "<tr data-pid="); n != 4 {
		t.Errorf("wheat.html: %d pipeline rows, want 4 (the run's folders)", n)
	}
	// train, val and test panels, residuals, distribution, best so far.
	if n := strings.Count(html, `<svg class="chart"`); n != 6 {
		t.Errorf("wheat.html: %d charts, want 6", n)
	}
	if strings.Contains(html, "Confusion matrix") || strings.Contains(html, `class="note"`) {
		t.Errorf("regression report has a confusion matrix or a missing chart")
	}
}

func TestSessionReportClassification(t *testing.T) {
	f := newStatusFixture(t)
	f.reportPipeline(reportPipe{ds: "soil", pid: "0001_svc_a1", score: 0.7, classes: 3, model: "sklearn.svm.SVC"})
	f.reportPipeline(reportPipe{ds: "soil", pid: "0002_rfc_b2", score: 0.9, classes: 3,
		model: "sklearn.ensemble.RandomForestClassifier"})
	f.refresh()
	html := string(f.view("exports/session_reports", "soil.html").Data)
	checkSelfContained(t, "soil.html", html)
	for _, want := range []string{`id="best-pipeline">0002_rfc_b2<`, "Confusion matrix of the best pipeline",
		`aria-label="Confusion matrix, test"`, "balanced accuracy"} {
		if !strings.Contains(html, want) {
			t.Errorf("soil.html lacks %q", want)
		}
	}
	if strings.Contains(html, "Residuals") {
		t.Error("classification report shows residuals")
	}
	if names := f.viewNames("exports/soil"); !slices.Contains(names, "chart_confusion.png") ||
		!slices.Contains(names, "chart_predictions.png") || slices.Contains(names, "chart_residuals.png") {
		t.Errorf("exports/soil: %v, want chart_predictions.png and chart_confusion.png", names)
	}
}

func TestHistoryReportKeepsDeleted(t *testing.T) {
	f := newStatusFixture(t)
	f.wheat()
	f.refresh()
	backingtest.RemoveAll(t, f.s, "runs/wheat/0002_ridge_b2") // the best of all time goes
	f.refresh()

	if got := f.viewNames("catalog/reports"); !slices.Equal(got, []string{"global_performance.html", "dataset_history"}) {
		t.Fatalf("catalog/reports: %v", got)
	}
	if v := f.view("catalog/reports", "dataset_history"); !v.Dir {
		t.Error("dataset_history is not a folder")
	}
	v := f.view("catalog/reports/dataset_history", "wheat.html")
	html := string(v.Data)
	checkSelfContained(t, "history wheat.html", html)
	for _, want := range []string{
		`id="current-best">0003_pls_c3<`,
		`id="alltime-best">0002_ridge_b2<`,
		`<tr data-pid="0002_ridge_b2"><td>2026-03-02 09:00</td>`,
		`<td class="gone">deleted</td>`,
		`aria-label="Best score over time"`,
		"<td>2026-03-03</td>",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("history lacks %q", want)
		}
	}
	// Improvements in pipeline order: 0001 (0.5), then 0002 (0.3); 0003 (0.4) is none.
	if n := strings.Count(html, "<tr data-pid="); n != 2 {
		t.Errorf("history: %d improvements, want 2", n)
	}
	if !strings.Contains(html, "run folder deleted") {
		t.Error("history chart has no legend entry for deleted run folders")
	}
}

func TestGlobalReport(t *testing.T) {
	f := newStatusFixture(t)
	f.wheat()
	f.reportPipeline(reportPipe{ds: "soil", pid: "0001_svc_a1", score: 0.8, classes: 2, model: "sklearn.svm.SVC",
		created: "2026-04-05T08:00:00Z"})
	f.refresh()
	html := string(f.view("catalog/reports", "global_performance.html").Data)
	checkSelfContained(t, "global_performance.html", html)
	if n := strings.Count(html, "<tr data-dataset="); n != 2 {
		t.Errorf("%d dataset rows, want 2", n)
	}
	for _, want := range []string{
		`<td>soil</td><td>classification</td><td>balanced accuracy</td><td class="n" data-v="0.8">0.8000</td><td>0001_svc_a1</td><td>SVC</td><td class="n">1</td><td class="n">0</td><td class="n">0</td><td>2026-04-05</td>`,
		`<td>wheat</td><td>regression</td><td>RMSE</td><td class="n" data-v="0.3">0.3000</td><td>0002_ridge_b2</td><td>Ridge</td><td class="n">4</td><td class="n">1</td>`,
		`<th class="n">PLSRegression</th><th class="n">Ridge</th><th class="n">SVC</th>`,
		`<a href="../../exports/session_reports/wheat.html">session</a>`,
		`<a href="dataset_history/wheat.html">history</a>`,
		`aria-label="wheat models"`,
		`aria-label="soil models"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("global report lacks %q", want)
		}
	}
}

func TestExportChartPNGs(t *testing.T) {
	f := newStatusFixture(t)
	f.wheat()
	f.refresh()
	for _, name := range []string{"chart_predictions.png", "chart_residuals.png"} {
		v := f.view("exports/wheat", name)
		img, err := png.Decode(bytes.NewReader(v.Data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() != 900 || b.Dy() != 675 {
			t.Errorf("%s: %v, want 900×675", name, b)
		}
		if singleColor(img) {
			t.Errorf("%s is blank", name)
		}
		if v.Size != int64(len(v.Data)) {
			t.Errorf("%s: size %d for %d bytes", name, v.Size, len(v.Data))
		}
	}
}

// TestReportsDeterministic: rendering the same catalog twice (no cache)
// gives the same bytes, and the cache serves one rendering per generation.
func TestReportsDeterministic(t *testing.T) {
	f := newStatusFixture(t)
	f.wheat()
	f.reportPipeline(reportPipe{ds: "soil", pid: "0001_svc_a1", score: 0.8, classes: 3, model: "sklearn.svm.SVC"})
	f.refresh()
	for _, dir := range []string{"exports/session_reports", "catalog/reports", "catalog/reports/dataset_history",
		"exports/wheat", "exports/soil"} {
		a, err := f.cat.Render(f.ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.cat.Render(f.ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != len(b) {
			t.Fatalf("%s: %d then %d views", dir, len(a), len(b))
		}
		for i := range a {
			if a[i].Name != b[i].Name || !bytes.Equal(a[i].Data, b[i].Data) || !a[i].Mtime.Equal(b[i].Mtime) {
				t.Errorf("%s/%s: two renderings differ", dir, a[i].Name)
			}
		}
	}
	first := f.view("exports/session_reports", "wheat.html")
	again := f.view("exports/session_reports", "wheat.html")
	if &first.Data[0] != &again.Data[0] {
		t.Error("same generation: the report was rendered again")
	}
	f.reportPipeline(reportPipe{ds: "wheat", pid: "0006_pls_f6", score: 0.1})
	f.refresh()
	after := f.view("exports/session_reports", "wheat.html")
	if !strings.Contains(string(after.Data), `id="best-pipeline">0006_pls_f6<`) {
		t.Error("after a better pipeline landed, the report still names the old best")
	}
}

// TestReportsWithoutScores: a run whose pipelines all failed still gets
// its reports, saying what is missing instead of drawing it.
func TestReportsWithoutScores(t *testing.T) {
	f := newStatusFixture(t)
	f.reportPipeline(reportPipe{ds: "bad", pid: "0001_x_a1", failed: true})
	f.refresh()
	html := string(f.view("exports/session_reports", "bad.html").Data)
	checkSelfContained(t, "bad.html", html)
	for _, want := range []string{"<b>none yet</b>", "No best pipeline with stored predictions yet.",
		"Distribution of scores: no scored pipeline", `<tr data-failed="0001_x_a1">`} {
		if !strings.Contains(html, want) {
			t.Errorf("bad.html lacks %q", want)
		}
	}
	history := string(f.view("catalog/reports/dataset_history", "bad.html").Data)
	if !strings.Contains(history, "No pipeline of this dataset has a score.") {
		t.Error("history of a dataset without scores does not say so")
	}
	global := string(f.view("catalog/reports", "global_performance.html").Data)
	if !strings.Contains(global, `<tr data-dataset="bad">`) || !strings.Contains(global, "No dataset has a scored model yet.") {
		t.Error("global report: the dataset without scores is missing or a model table is drawn")
	}
	if names := f.viewNames("exports"); len(names) != 0 {
		t.Errorf("exports: %v, want no dataset folder (no best)", names)
	}
}
