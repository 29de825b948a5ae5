package importer

// Synthesis of a pipeline folder's metrics.json and predictions.csv from
// its prediction rows (FORMATS.md §00): one model (the best on test when a
// pipeline trained several), the avg/w_avg fold when present, else the
// single fold; scores computed from y_true/y_pred per partition.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/n4ws/n4ws/catalog"
)

// synthFiles is what synthesis gives one pipeline folder.
type synthFiles struct {
	Metrics     []byte
	Predictions []byte
	Note        string // a choice worth reporting ("" when none)
}

// synthesize builds metrics.json and predictions.csv from a pipeline's
// rows; ok is false when no row has a usable partition.
func synthesize(rows []importRow) (synthFiles, bool) { return synthesizeWithCV(rows, nil) }

// synthesizeWithCV is synthesize for a pipeline whose cross-validation
// may live in other rows: a nirs4all refit pipeline (fold "final") is the
// model people deploy, so its scores are metrics.json's, and the folds of
// the pipeline it refits (cvRows) go under cross_validation.
func synthesizeWithCV(rows, cvRows []importRow) (synthFiles, bool) {
	var out synthFiles
	models := map[string][]importRow{}
	var keys []string
	for _, r := range rows {
		if models[r.ModelKey] == nil {
			keys = append(keys, r.ModelKey)
		}
		models[r.ModelKey] = append(models[r.ModelKey], r)
	}
	if len(keys) == 0 {
		return out, false
	}
	key, note := pickModel(keys, models)
	mrows := models[key]
	task := rowsTask(mrows)
	preds, fold, cv := foldPredictions(mrows)
	if len(preds) == 0 {
		return out, false
	}
	out.Note = note
	cvAvg := avgVal(mrows)
	if fold == "final" && len(cv) < 2 && len(cvRows) > 0 {
		_, _, cv = foldPredictions(cvRows)
		cvAvg = avgVal(cvRows)
	}
	out.Metrics = metricsDoc(task, preds, fold, cv, cvAvg, mrows[0])
	out.Predictions = predictionsCSV(preds)
	return out, true
}

// pickModel keeps the only model, or the best one on test (val when no
// test) under the default rule, ties to the first in file order.
func pickModel(keys []string, models map[string][]importRow) (string, string) {
	if len(keys) == 1 {
		return keys[0], ""
	}
	best, bestScore, found := keys[0], catalog.Score{}, false
	for _, k := range keys {
		preds, _, _ := foldPredictions(models[k])
		task := rowsTask(models[k])
		s, ok := catalog.BestRule{Partition: "test"}.Pick(&catalog.PipelineRow{TaskType: task, Scores: partitionScores(task, preds)})
		if !ok {
			continue
		}
		if !found || betterScore(s, bestScore) {
			best, bestScore, found = k, s, true
		}
	}
	return best, fmt.Sprintf("%d models in the pipeline; kept %s", len(keys), models[best][0].Model)
}

func betterScore(a, b catalog.Score) bool {
	if a.Metric != b.Metric {
		return false
	}
	if catalog.LowerIsBetter(a.Metric) {
		return a.Value < b.Value
	}
	return a.Value > b.Value
}

// rowsTask is the rows' task_type, else guessed from their metric.
func rowsTask(rows []importRow) string {
	for _, r := range rows {
		switch r.Task {
		case catalog.TaskRegression, catalog.TaskBinary, catalog.TaskMulticlass:
			return r.Task
		case "classification":
			return catalog.TaskMulticlass
		}
	}
	for _, r := range rows {
		if r.Metric == "accuracy" || r.Metric == "balanced_accuracy" {
			return catalog.TaskMulticlass
		}
	}
	return catalog.TaskRegression
}

// foldPredictions picks the fold and returns one Prediction per partition
// (train, val, test order), the fold used, and per numeric fold its val
// rows (for cross_validation). Without avg/w_avg and with several folds,
// val concatenates every fold's out-of-fold rows and train/test come from
// the first fold.
func foldPredictions(rows []importRow) ([]catalog.Prediction, string, map[string]catalog.Prediction) {
	byFold := map[string]map[string]importRow{} // fold → partition → last row
	var folds []string
	for _, r := range rows {
		if _, ok := byFold[r.Fold]; !ok {
			byFold[r.Fold] = map[string]importRow{}
			folds = append(folds, r.Fold)
		}
		byFold[r.Fold][r.Partition] = r
	}
	cv := map[string]catalog.Prediction{}
	var numeric []string
	for _, f := range folds {
		if _, err := strconv.Atoi(f); err == nil {
			numeric = append(numeric, f)
			if v, ok := byFold[f]["val"]; ok {
				cv[f] = rowPrediction("val", v)
			}
		}
	}
	sort.Slice(numeric, func(i, j int) bool { a, _ := strconv.Atoi(numeric[i]); b, _ := strconv.Atoi(numeric[j]); return a < b })
	fold := ""
	switch {
	case byFold["final"] != nil: // the refit model, trained on all the train set
		fold = "final"
	case byFold["avg"] != nil:
		fold = "avg"
	case byFold["w_avg"] != nil:
		fold = "w_avg"
	case len(folds) == 1:
		fold = folds[0]
	case len(numeric) > 0:
		fold = numeric[0]
	default:
		fold = folds[0]
	}
	concatVal := fold != "avg" && fold != "w_avg" && fold != "final" && len(cv) > 1
	var out []catalog.Prediction
	for _, part := range catalog.Partitions {
		if r, ok := byFold[fold][part]; ok && !(part == "val" && concatVal) {
			out = append(out, rowPrediction(part, r))
		} else if part == "val" && concatVal {
			out = append(out, concatFolds(numeric, cv))
		}
	}
	if len(cv) < 2 {
		cv = nil
	}
	return out, fold, cv
}

// avgVal is the val prediction of the avg fold (all out-of-fold rows), if any.
func avgVal(rows []importRow) *catalog.Prediction {
	for _, r := range rows {
		if r.Fold == "avg" && r.Partition == "val" {
			p := rowPrediction("val", r)
			return &p
		}
	}
	return nil
}

func rowPrediction(part string, r importRow) catalog.Prediction {
	p := catalog.Prediction{Partition: part}
	withIDs := len(r.SampleIdx) == len(r.YTrue)
	for i := range r.YTrue {
		if !isFinite(r.YTrue[i]) || !isFinite(r.YPred[i]) {
			continue // NaN targets cannot be scored nor written
		}
		p.YTrue = append(p.YTrue, r.YTrue[i])
		p.YPred = append(p.YPred, r.YPred[i])
		if withIDs {
			p.SampleIDs = append(p.SampleIDs, strconv.FormatFloat(r.SampleIdx[i], 'f', -1, 64))
		}
	}
	return p
}

func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func concatFolds(numeric []string, cv map[string]catalog.Prediction) catalog.Prediction {
	p := catalog.Prediction{Partition: "val"}
	ids := true
	for _, f := range numeric {
		c, ok := cv[f]
		if !ok {
			continue
		}
		p.YTrue = append(p.YTrue, c.YTrue...)
		p.YPred = append(p.YPred, c.YPred...)
		p.SampleIDs = append(p.SampleIDs, c.SampleIDs...)
		ids = ids && c.SampleIDs != nil
	}
	if !ids {
		p.SampleIDs = nil
	}
	return p
}

func partitionScores(task string, preds []catalog.Prediction) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for _, p := range preds {
		if s := catalog.PredictionScores(task, p); s != nil {
			out[p.Partition] = s
		}
	}
	return out
}

// metricsDoc renders metrics.json (encoding/json sorts map keys, so the
// bytes depend only on the rows).
func metricsDoc(task string, preds []catalog.Prediction, fold string, cv map[string]catalog.Prediction, cvAvg *catalog.Prediction, r importRow) []byte {
	doc := map[string]any{"task_type": task}
	for _, p := range preds {
		s := map[string]any{"samples": len(p.YTrue)}
		for k, v := range catalog.PredictionScores(task, p) {
			s[k] = v
		}
		doc[p.Partition] = s
	}
	if len(cv) > 1 {
		c := cvDoc(task, cv)
		if cvAvg != nil {
			// nirs4all's own CV estimate (RMSECV): the scores of the
			// out-of-fold predictions of every fold together.
			s := map[string]any{"samples": len(cvAvg.YTrue)}
			for k, v := range catalog.PredictionScores(task, *cvAvg) {
				s[k] = v
			}
			c["val"] = s
		}
		doc["cross_validation"] = c
	}
	src := map[string]any{"model_name": r.Model, "model_class": r.ModelClass, "fold_id": fold, "metric": r.Metric}
	if r.Preproc != "" {
		src["preprocessings"] = r.Preproc
	}
	if r.NFeatures > 0 {
		src["n_features"] = r.NFeatures
	}
	if bp := r.BestParams; bp != nil && bp != "" {
		src["best_params"] = bp
	}
	doc["nirs4all_import"] = src
	b, _ := json.MarshalIndent(doc, "", "  ")
	return append(b, '\n')
}

func cvDoc(task string, cv map[string]catalog.Prediction) map[string]any {
	metric := "rmse"
	if task != catalog.TaskRegression {
		metric = "balanced_accuracy"
	}
	var folds []string
	for f := range cv {
		folds = append(folds, f)
	}
	sort.Slice(folds, func(i, j int) bool { a, _ := strconv.Atoi(folds[i]); b, _ := strconv.Atoi(folds[j]); return a < b })
	var results []any
	var vals []float64
	for _, f := range folds {
		v, ok := catalog.PredictionScores(task, cv[f])[metric]
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(f)
		results = append(results, map[string]any{"fold": n, metric: v})
		vals = append(vals, v)
	}
	out := map[string]any{"folds": len(folds), "fold_results": results}
	if len(vals) > 0 {
		mean, sd := meanStd(vals)
		out["mean_"+metric], out["std_"+metric] = mean, sd
	}
	return out
}

func meanStd(v []float64) (float64, float64) {
	var sum, ss float64
	for _, x := range v {
		sum += x
	}
	mean := sum / float64(len(v))
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)))
}

// predictionsCSV renders y_true,y_pred,partition,sample_id.
func predictionsCSV(preds []catalog.Prediction) []byte {
	var b bytes.Buffer
	b.WriteString("y_true,y_pred,partition,sample_id\n")
	for _, p := range preds {
		for i := range p.YTrue {
			id := strconv.Itoa(i)
			if p.SampleIDs != nil {
				id = p.SampleIDs[i]
			}
			fmt.Fprintf(&b, "%s,%s,%s,%s\n", strconv.FormatFloat(p.YTrue[i], 'g', -1, 64),
				strconv.FormatFloat(p.YPred[i], 'g', -1, 64), p.Partition, id)
		}
	}
	return b.Bytes()
}
