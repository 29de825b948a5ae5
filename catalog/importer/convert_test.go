package importer

import (
	"math"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

func row(model, fold, part string, yt, yp []float64) importRow {
	return importRow{PID: "0001_x_aaaaaa", Model: model, ModelKey: model, Fold: fold, Partition: part,
		Task: catalog.TaskRegression, YTrue: yt, YPred: yp}
}

func TestSynthesizeFolds(t *testing.T) {
	// Two folds, no avg: val concatenates the folds, test comes from fold 0.
	rows := []importRow{
		row("PLS", "1", "val", []float64{3, 4}, []float64{3, 4}),
		row("PLS", "0", "val", []float64{1, 2}, []float64{1, 3}),
		row("PLS", "0", "test", []float64{1, 2}, []float64{1, 2}),
		row("PLS", "1", "test", []float64{1, 2}, []float64{5, 5}),
	}
	s, ok := synthesize(rows)
	if !ok {
		t.Fatal("no synthesis")
	}
	m, err := nirs4all.ParseMetrics(s.Metrics)
	if err != nil || m.Samples["val"] != 4 || m.Scores["test"]["rmse"] != 0 || m.CVFolds != 2 {
		t.Errorf("metrics %+v %v\n%s", m, err, s.Metrics)
	}
	preds, err := nirs4all.ParsePredictions(s.Predictions, 0)
	if err != nil || len(preds) != 2 || preds[0].SampleIDs[0] != "0" || preds[0].YTrue[0] != 1 {
		t.Errorf("predictions %+v %v", preds, err)
	}
}

func TestSynthesizeModelsAndNaN(t *testing.T) {
	rows := []importRow{
		row("Ridge", "0", "test", []float64{1, 2}, []float64{2, 3}),
		row("PLS", "0", "test", []float64{1, 2, math.NaN()}, []float64{1.1, 2, 3}),
	}
	s, ok := synthesize(rows)
	if !ok || !strings.Contains(s.Note, "kept PLS") {
		t.Fatalf("note %q", s.Note)
	}
	m, err := nirs4all.ParseMetrics(s.Metrics)
	if err != nil || m.Samples["test"] != 2 {
		t.Errorf("NaN row kept: %+v %v", m, err)
	}
	if _, ok := synthesize(nil); ok {
		t.Error("synthesis from no rows")
	}
	cls := []importRow{{ModelKey: "m", Fold: "0", Partition: "test", Metric: "balanced_accuracy",
		YTrue: []float64{0, 1, 1}, YPred: []float64{0, 1, 0}}}
	s, _ = synthesize(cls)
	if m, _ := nirs4all.ParseMetrics(s.Metrics); m.TaskType != catalog.TaskMulticlass || m.Scores["test"]["balanced_accuracy"] != 0.75 {
		t.Errorf("classification: %s", s.Metrics)
	}
}

func TestRowsFromJSONBad(t *testing.T) {
	if _, _, err := rowsFromJSON([]byte(`{"not": "an array"}`)); err == nil {
		t.Error("object accepted")
	}
	rows, note, err := rowsFromJSON([]byte(`[1, {"config_name": "0001_x_aaaaaa", "y_true": "[1]", "y_pred": "[1, 2]"},
		{"config_name": "0001_x_aaaaaa", "y_true": "[1]", "y_pred": "[2]", "partition": "test", "fold_id": "None"}]`))
	if err != nil || len(rows) != 1 || !strings.HasPrefix(note, "2 prediction rows") {
		t.Errorf("rows %+v note %q err %v", rows, note, err)
	}
}
