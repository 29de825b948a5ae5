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

// parquetFileNames are the catalog/*.parquet files.
var parquetFileNames = []string{"predictions.parquet", "predictions_meta.parquet", "predictions_data.parquet"}

// renderParquetFiles renders every catalog/*.parquet file.
func (f *statusFixture) renderParquetFiles() {
	f.t.Helper()
	for _, name := range parquetFileNames {
		f.parquetFile(name)
	}
}

// parquetFile renders the named catalog/*.parquet file.
func (f *statusFixture) parquetFile(name string) []byte {
	f.t.Helper()
	v := f.overlayFile("catalog", name)
	data, err := v.Content()
	if err != nil {
		f.t.Fatal(err)
	}
	return data
}

// After a new pipeline in one dataset, the Parquet files show it, and the
// other datasets' parts are the pieces rendered before (not read again).
func TestParquetRendersOnlyTheDatasetThatChanged(t *testing.T) {
	f := newStatusFixture(t)
	f.pipeline("wheat", "0001_pls_aa", 0.5, 0.9)
	f.pipeline("corn", "0001_pls_bb", 0.5, 0.9)
	f.refresh()
	f.renderParquetFiles()
	cornMeta := f.cat.pieces.m[pieceKey{"meta", "corn"}].part.md

	f.pipeline("wheat", "0002_pls_dd", 0.1, 0.5)
	f.refresh()
	meta := readAll[MetaRow](t, f.parquetFile("predictions_meta.parquet"))
	var pids []string
	for _, r := range meta {
		pids = append(pids, r.Dataset+"/"+r.PipelineID)
	}
	want := "corn/0001_pls_bb wheat/0001_pls_aa wheat/0002_pls_dd"
	if got := strings.Join(pids, " "); got != want {
		t.Errorf("predictions_meta.parquet rows: %s, want %s", got, want)
	}
	flat := readAll[FlatRow](t, f.parquetFile("predictions.parquet"))
	if len(flat) != 3 || flat[2].Pipeline != "0002_pls_dd" || flat[2].RMSE == nil || *flat[2].RMSE != 0.1 {
		t.Errorf("predictions.parquet: %+v", flat)
	}
	if data := readAll[DataRow](t, f.parquetFile("predictions_data.parquet")); len(data) != 3 {
		t.Errorf("predictions_data.parquet has %d rows, want 3", len(data))
	}
	if got := f.cat.pieces.m[pieceKey{"meta", "corn"}].part.md; got != cornMeta {
		t.Error("corn's piece of predictions_meta.parquet was rendered again after a change in wheat only")
	}
}
