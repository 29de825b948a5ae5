package report

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/catalog"
)

// reportFolders are the folders of the reports made of per-dataset parts.
var reportFolders = []string{"exports/session_reports", "catalog/reports", "catalog/reports/dataset_history"}

// TestReportsDrawOnlyTheDatasetThatChanged: after a new pipeline in one
// dataset the workspace-wide reports draw that dataset's part again and
// keep the others', the result is byte for byte what a catalog with
// nothing kept draws, and a change of the best rule draws every part.
func TestReportsDrawOnlyTheDatasetThatChanged(t *testing.T) {
	f := newStatusFixture(t)
	f.wheat()
	f.reportPipeline(reportPipe{ds: "soil", pid: "0001_svc_a1", score: 0.8, classes: 2, model: "sklearn.svm.SVC"})
	f.reportPipeline(reportPipe{ds: "corn", pid: "0001_pls_a1", score: 0.7})
	f.refresh()
	f.checkPartsMade(3)
	f.sameAsFresh()

	f.reportPipeline(reportPipe{ds: "wheat", pid: "0006_pls_f6", score: 0.1, created: "2026-03-04T09:00:00Z"})
	f.refresh()
	f.checkPartsMade(3 + 1)
	global := string(f.view("catalog/reports", "global_performance.html").Data)
	if !strings.Contains(global, `<td>wheat</td><td>regression</td><td>RMSE</td><td class="n" data-v="0.1">0.1000</td><td>0006_pls_f6</td>`) {
		t.Error("the global report does not name wheat's new best")
	}
	if !strings.Contains(string(f.view("catalog/reports/dataset_history", "wheat.html").Data), "0006_pls_f6") {
		t.Error("wheat's history does not show its new pipeline")
	}
	f.sameAsFresh()

	if err := f.cat.SetConfig(f.ctx, "best.partition", "val"); err != nil {
		t.Fatal(err)
	}
	f.checkPartsMade(3 + 1 + 3)
	if global := string(f.view("catalog/reports", "global_performance.html").Data); !strings.Contains(global, "best pipeline of each by val ") {
		t.Error("after the rule changed to val, the global report still says the old rule")
	}
	f.sameAsFresh()
}

// checkPartsMade lists the report folders and checks that each report
// kind has drawn want dataset parts in all.
func (f *statusFixture) checkPartsMade(want int) {
	f.t.Helper()
	for _, dir := range reportFolders {
		f.viewNames(dir)
	}
	for _, kind := range []string{sessionKind, historyKind, globalKind} {
		if got := f.cat.PartsMade(kind); got != want {
			f.t.Errorf("%s: %d dataset parts drawn, want %d", kind, got, want)
		}
	}
}

// sameAsFresh checks that every report equals, byte for byte, what a
// catalog opened afresh on the same store (nothing kept) draws.
func (f *statusFixture) sameAsFresh() {
	f.t.Helper()
	fresh, err := catalog.Open(f.ctx, f.s, catalog.Options{Reports: Views{}})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, dir := range reportFolders {
		kept, err := f.cat.Overlay(f.ctx, dir)
		if err != nil {
			f.t.Fatal(err)
		}
		drawn, err := fresh.Overlay(f.ctx, dir)
		if err != nil {
			f.t.Fatal(err)
		}
		if len(kept) != len(drawn) {
			f.t.Fatalf("%s: %d views kept, %d drawn afresh", dir, len(kept), len(drawn))
		}
		for i := range kept {
			if kept[i].Name != drawn[i].Name || !bytes.Equal(kept[i].Data, drawn[i].Data) || !kept[i].Mtime.Equal(drawn[i].Mtime) {
				f.t.Errorf("%s/%s: the kept report differs from one drawn afresh", dir, kept[i].Name)
			}
		}
	}
}

// TestReportsKeptUnderConcurrentChanges: report folders listed from
// several goroutines while pipelines land (run under -race in CI) end
// with the same reports as a catalog opened afresh.
func TestReportsKeptUnderConcurrentChanges(t *testing.T) {
	f := newStatusFixture(t)
	f.wheat()
	f.reportPipeline(reportPipe{ds: "soil", pid: "0001_svc_a1", score: 0.8, classes: 2, model: "sklearn.svm.SVC"})
	f.refresh()
	stop := make(chan struct{})
	errs := make(chan error, 3)
	for _, dir := range reportFolders {
		go func() {
			for {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				if _, err := f.cat.Overlay(f.ctx, dir); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range 6 {
		f.reportPipeline(reportPipe{ds: []string{"wheat", "soil", "corn"}[i%3], pid: fmt.Sprintf("%04d_pls_n%d", 10+i, i),
			score: 0.05 + float64(i)/100})
		f.refresh()
	}
	close(stop)
	for range reportFolders {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	f.sameAsFresh()
}

// The global report's draw of a dataset also draws its history page from
// the same load of its rows: listing catalog/reports/dataset_history/
// afterwards draws nothing, and gives what a fresh catalog draws.
func TestGlobalDrawMakesTheHistories(t *testing.T) {
	f := newStatusFixture(t)
	f.wheat()
	f.reportPipeline(reportPipe{ds: "corn", pid: "0001_pls_a1", score: 0.7})
	f.refresh()
	f.viewNames("catalog/reports")
	if got := f.cat.PartsMade(historyKind); got != 2 {
		t.Errorf("after listing catalog/reports, %d history parts drawn, want 2 (one per dataset)", got)
	}
	if names := f.viewNames("catalog/reports/dataset_history"); len(names) != 2 {
		t.Errorf("dataset_history lists %v, want both datasets", names)
	}
	if got := f.cat.PartsMade(historyKind); got != 2 {
		t.Errorf("listing dataset_history drew %d more history parts, want none", got-2)
	}
	f.sameAsFresh()
}
