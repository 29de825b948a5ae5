package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Parquet views of catalog/: rendered from the catalog tables, run folders
// deleted or not, in a fixed order (dataset, pipeline, partition), so the
// same catalog gives the same bytes.

func (c *Catalog) parquetViews(ctx context.Context) ([]View, error) {
	pipes, err := c.Pipelines(ctx, "")
	if err != nil {
		return nil, err
	}
	rule, err := c.Rule(ctx)
	if err != nil {
		return nil, err
	}
	preds, err := c.predictionRows(ctx)
	if err != nil {
		return nil, err
	}
	byPipe := map[[2]string]*PipelineRow{}
	for i := range pipes {
		byPipe[[2]string{pipes[i].Dataset, pipes[i].PID}] = &pipes[i]
	}
	var meta []MetaRow
	var data []DataRow
	for _, pr := range preds {
		p := byPipe[[2]string{pr.dataset, pr.pid}]
		if p == nil {
			continue
		}
		meta = append(meta, metaRow(rule, p, pr))
		data = append(data, dataRow(pr))
	}
	samples := map[[3]string]int32{}
	for _, pr := range preds {
		samples[[3]string{pr.dataset, pr.pid, pr.partition}] = int32(len(pr.yTrue))
	}
	var flat []FlatRow
	for i := range pipes {
		flat = append(flat, flatRow(&pipes[i], samples))
	}
	mtime := latest(pipes)
	var views []View
	for _, f := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"predictions.parquet", func(b *bytes.Buffer) error { return WriteFlat(b, flat) }},
		{"predictions_data.parquet", func(b *bytes.Buffer) error { return WriteData(b, data) }},
		{"predictions_meta.parquet", func(b *bytes.Buffer) error { return WriteMeta(b, meta) }},
	} {
		var b bytes.Buffer
		if err := f.write(&b); err != nil {
			return nil, err
		}
		views = append(views, View{Name: f.name, Mtime: mtime, Data: b.Bytes(), Size: int64(b.Len())})
	}
	return views, nil
}

// predRow is one stored prediction (a partition of a pipeline).
type predRow struct {
	dataset, pid, partition string
	yTrue, yPred, weights   []float64
	sampleIDs               []string
}

func (c *Catalog) predictionRows(ctx context.Context) ([]predRow, error) {
	rows, err := c.store.Reader().QueryContext(ctx, `SELECT dataset, pid, partition, y_true, y_pred,
		coalesce(sample_ids, ''), weights FROM cat_predictions
		ORDER BY dataset, pid, CASE partition WHEN 'train' THEN 0 WHEN 'val' THEN 1 ELSE 2 END`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []predRow
	for rows.Next() {
		var r predRow
		var yt, yp, w []byte
		var ids string
		if err := rows.Scan(&r.dataset, &r.pid, &r.partition, &yt, &yp, &ids, &w); err != nil {
			return nil, err
		}
		r.yTrue, r.yPred = decodeFloats(yt), decodeFloats(yp)
		if w != nil {
			r.weights = decodeFloats(w)
		}
		if ids != "" {
			json.Unmarshal([]byte(ids), &r.sampleIDs)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// predictionID is stable: the same pipeline partition keeps its id.
func predictionID(ds, pid, partition string) string {
	sum := sha256.Sum256([]byte(ds + "\x00" + pid + "\x00" + partition))
	return hex.EncodeToString(sum[:8])
}

func metaRow(rule BestRule, p *PipelineRow, pr predRow) MetaRow {
	s, _ := rule.pick(p.TaskType, p.Scores)
	score := func(part, metric string) *float64 {
		if v, ok := p.Scores[part][metric]; ok {
			return &v
		}
		return nil
	}
	m := MetaRow{PredictionID: predictionID(p.Dataset, p.PID, pr.partition), Dataset: p.Dataset,
		RunDate: p.RunDate(), PipelineID: p.PID, PipelineNumber: int32(p.Number), ConfigName: p.ConfigName,
		ConfigHash: p.Hash, ModelName: p.Model, ModelClass: p.ModelClass, TaskType: p.TaskType,
		Partition: pr.partition, Metric: s.Metric,
		TrainScore: score("train", s.Metric), ValScore: score("val", s.Metric), TestScore: score("test", s.Metric),
		TrainRMSE: score("train", "rmse"), ValRMSE: score("val", "rmse"), TestRMSE: score("test", "rmse"),
		TestR2: score("test", "r2"), TestMAE: score("test", "mae"), TestAccuracy: score("test", "accuracy"),
		TestBalancedAccuracy: score("test", "balanced_accuracy"),
		NSamples:             int32(len(pr.yTrue)), CreatedAt: p.created(), RunDeleted: !p.Present, Status: p.Status}
	return m
}

func dataRow(pr predRow) DataRow {
	idx := make([]int64, len(pr.yTrue))
	for i := range idx {
		idx[i] = int64(i)
	}
	w := pr.weights
	if w == nil {
		w = []float64{}
	}
	ids := pr.sampleIDs
	if ids == nil {
		ids = []string{}
	}
	return DataRow{PredictionID: predictionID(pr.dataset, pr.pid, pr.partition), Dataset: pr.dataset,
		PipelineID: pr.pid, Partition: pr.partition, YTrue: pr.yTrue, YPred: pr.yPred,
		SampleIndices: idx, Weights: w, SampleIDs: ids}
}

// flatRow: test scores, else val; the test partition's sample count.
func flatRow(p *PipelineRow, samples map[[3]string]int32) FlatRow {
	part := "test"
	if len(p.Scores["test"]) == 0 && len(p.Scores["val"]) > 0 {
		part = "val"
	}
	get := func(metric string) *float64 {
		if v, ok := p.Scores[part][metric]; ok {
			return &v
		}
		return nil
	}
	f := FlatRow{Dataset: p.Dataset, Session: p.RunDate(), Pipeline: p.PID, Date: p.created(),
		RMSE: get("rmse"), R2: get("r2"), MAE: get("mae"), Accuracy: get("accuracy"),
		DurationSec: p.DurationSec, Model: p.Model, Status: p.Status, RunDeleted: !p.Present}
	f.NSamples = samples[[3]string{p.Dataset, p.PID, part}]
	return f
}

// created is the pipeline's creation time: its created_at, else when n4ws
// first saw it.
func (p *PipelineRow) created() *time.Time {
	t, err := time.Parse(time.RFC3339, p.CreatedAt)
	if err != nil {
		t = p.FirstSeen
	}
	t = t.UTC()
	return &t
}
