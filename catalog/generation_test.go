package catalog

import (
	"strings"
	"testing"
)

// overlayFile is the named computed file of dir, rendered.
func (f *statusFixture) overlayFile(dir, name string) *View {
	f.t.Helper()
	views, err := f.cat.Overlay(f.ctx, dir)
	if err != nil {
		f.t.Fatal(err)
	}
	for i := range views {
		if views[i].Name == name {
			return &views[i]
		}
	}
	f.t.Fatalf("%s/%s: not among the computed files", dir, name)
	return nil
}

// A new pipeline in one dataset re-renders that dataset's computed files,
// and keeps the others' (the same rendered bytes, not a copy); a change of
// the best rule re-renders every dataset.
func TestOverlayRendersOnlyTheDatasetThatChanged(t *testing.T) {
	f := newStatusFixture(t)
	f.pipeline("wheat", "0001_pls_aa", 0.5, 0.9)
	f.pipeline("corn", "0001_pls_bb", 0.5, 0.9)
	f.pipeline("corn", "0002_pls_cc", 0.7, 0.95)
	f.refresh()
	wheat := f.overlayFile("runs/wheat", "run_summary.json")
	corn := f.overlayFile("runs/corn", "run_summary.json")
	cornExport := f.overlayFile("exports/corn", "PLSRegression_summary.json")
	f.overlayFile("runs/corn", "best_0001_pls_bb.csv")

	f.pipeline("wheat", "0002_pls_dd", 0.1, 0.5)
	f.refresh()
	wheat2 := f.overlayFile("runs/wheat", "run_summary.json")
	if !strings.Contains(string(wheat2.Data), "0002_pls_dd") || string(wheat2.Data) == string(wheat.Data) {
		t.Errorf("runs/wheat/run_summary.json does not show the new pipeline:\n%s", wheat2.Data)
	}
	f.overlayFile("runs/wheat", "best_0002_pls_dd.csv")
	if got := f.overlayFile("runs/corn", "run_summary.json"); &got.Data[0] != &corn.Data[0] {
		t.Error("runs/corn/run_summary.json was rendered again after a change in wheat only")
	}
	if got := f.overlayFile("exports/corn", "PLSRegression_summary.json"); &got.Data[0] != &cornExport.Data[0] {
		t.Error("exports/corn was rendered again after a change in wheat only")
	}

	if err := f.cat.SetConfig(f.ctx, "best.metric", "r2"); err != nil {
		t.Fatal(err)
	}
	f.overlayFile("runs/corn", "best_0002_pls_cc.csv") // r2 ranks the other pipeline first
	if got := f.overlayFile("runs/corn", "run_summary.json"); &got.Data[0] == &corn.Data[0] {
		t.Error("runs/corn/run_summary.json kept its rendering after the best rule changed")
	}
}
