package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// Parquet views of catalog/: rendered from the catalog tables, run folders
// deleted or not, in a fixed order (dataset, pipeline, partition), so the
// same catalog gives the same bytes.

func (c *Catalog) parquetViews(ctx context.Context) ([]View, error) {
	mtime, err := c.lastUpdate(ctx)
	if err != nil {
		return nil, err
	}
	// Rendering happens later, on the first read or stat of each file,
	// possibly from another request: keep ctx's values, not its deadline.
	ctx = context.WithoutCancel(ctx)
	base := View{Mtime: mtime}
	return []View{
		lazyView("predictions.parquet", base, func() (content, error) { return c.renderPieces(ctx, "flat", c.renderFlatMeta) }),
		lazyView("predictions_data.parquet", base, func() (content, error) { return c.renderPieces(ctx, "data", c.renderData) }),
		lazyView("predictions_meta.parquet", base, func() (content, error) { return c.renderPieces(ctx, "meta", c.renderFlatMeta) }),
	}, nil
}

// predCount is a stored prediction without its arrays.
type predCount struct {
	dataset, pid, partition string
	n                       int32
}

// predictionCounts lists the predictions of dataset ds in file order,
// without their arrays: the meta and flat files need only the sample counts.
func (c *Catalog) predictionCounts(ctx context.Context, ds string) ([]predCount, error) {
	rows, err := c.store.Reader().QueryContext(ctx, `SELECT dataset, pid, partition, n_samples FROM cat_predictions
		WHERE dataset = ? ORDER BY pid, CASE partition WHEN 'train' THEN 0 WHEN 'val' THEN 1 ELSE 2 END`, ds)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []predCount
	for rows.Next() {
		var p predCount
		if err := rows.Scan(&p.dataset, &p.pid, &p.partition, &p.n); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// renderFlatMeta renders dataset ds's pieces of predictions.parquet and
// predictions_meta.parquet together: both are made from the dataset's
// pipeline rows and sample counts, the costly part, read once.
func (c *Catalog) renderFlatMeta(ctx context.Context, ds string) (map[string][]byte, error) {
	pipes, err := c.Pipelines(ctx, ds)
	if err != nil {
		return nil, err
	}
	rule, err := c.Rule(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := c.predictionCounts(ctx, ds)
	if err != nil {
		return nil, err
	}
	var flat, meta bytes.Buffer
	if err := WriteFlat(&flat, flatRows(pipes, counts)); err != nil {
		return nil, err
	}
	if err := WriteMeta(&meta, metaRows(rule, pipes, counts)); err != nil {
		return nil, err
	}
	return map[string][]byte{"flat": flat.Bytes(), "meta": meta.Bytes()}, nil
}

// metaRows are the rows of predictions_meta.parquet: one per prediction
// of a known pipeline, in the order of counts.
func metaRows(rule BestRule, pipes []PipelineRow, counts []predCount) []MetaRow {
	byPipe := pipelineIndex(pipes)
	var meta []MetaRow
	for _, pc := range counts {
		if p := byPipe[[2]string{pc.dataset, pc.pid}]; p != nil {
			meta = append(meta, metaRow(rule, p, pc))
		}
	}
	return meta
}

// flatRows are the rows of predictions.parquet, one per scored pipeline.
func flatRows(pipes []PipelineRow, counts []predCount) []FlatRow {
	samples := map[[3]string]int32{}
	for _, pc := range counts {
		samples[[3]string{pc.dataset, pc.pid, pc.partition}] = pc.n
	}
	flat := make([]FlatRow, 0, len(pipes))
	for i := range pipes {
		if f, ok := flatRow(&pipes[i], samples); ok {
			flat = append(flat, f)
		}
	}
	return flat
}

// renderData renders dataset ds's piece of predictions_data.parquet.
func (c *Catalog) renderData(ctx context.Context, ds string) (map[string][]byte, error) {
	preds, err := c.predictionRows(ctx, ds)
	if err != nil {
		return nil, err
	}
	data := make([]DataRow, 0, len(preds))
	for _, pr := range preds {
		data = append(data, dataRow(pr))
	}
	var b bytes.Buffer
	err = WriteData(&b, data)
	return map[string][]byte{"data": b.Bytes()}, err
}

func pipelineIndex(pipes []PipelineRow) map[[2]string]*PipelineRow {
	m := make(map[[2]string]*PipelineRow, len(pipes))
	for i := range pipes {
		m[[2]string{pipes[i].Dataset, pipes[i].PID}] = &pipes[i]
	}
	return m
}

// predRow is one stored prediction (a partition of a pipeline).
type predRow struct {
	dataset, pid, partition string
	yTrue, yPred, weights   []float64
	sampleIDs               []string
}

func (c *Catalog) predictionRows(ctx context.Context, ds string) ([]predRow, error) {
	rows, err := c.store.Reader().QueryContext(ctx, `SELECT dataset, pid, partition, y_true, y_pred,
		coalesce(sample_ids, ''), weights FROM cat_predictions
		WHERE dataset = ? ORDER BY pid, CASE partition WHEN 'train' THEN 0 WHEN 'val' THEN 1 ELSE 2 END`, ds)
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
			r.sampleIDs = decodeSampleIDs(ids)
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

func metaRow(rule BestRule, p *PipelineRow, pr predCount) MetaRow {
	s, _ := rule.Pick(p)
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
		NSamples:             pr.n, CreatedAt: p.created(), RunDeleted: !p.Present, Status: p.Status}
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

// flatRow is the pipeline's row of predictions.parquet, or false when it
// has none: it failed or is incomplete, never had a predictions.csv, or
// has no score under its dataset's ranking. Scores are those of the
// ranking's partition.
func flatRow(p *PipelineRow, samples map[[3]string]int32) (FlatRow, bool) {
	s, ok := p.Ranking.score(p.Scores)
	if !ok || p.Status != "ok" || p.PredSize == 0 {
		return FlatRow{}, false
	}
	get := func(metric string) *float64 {
		if v, ok := p.Scores[s.Partition][metric]; ok {
			return &v
		}
		return nil
	}
	date, _ := time.Parse("2006-01-02", p.RunDate())
	return FlatRow{Dataset: p.Dataset, Session: p.Session(), Pipeline: p.PID, Date: DateDays(date),
		RMSE: get("rmse"), R2: get("r2"), MAE: get("mae"), Accuracy: get("accuracy"),
		BalancedAccuracy: get("balanced_accuracy"),
		NSamples:         int64(samples[[3]string{p.Dataset, p.PID, s.Partition}]),
		DurationSec:      p.DurationSec, Model: p.Model, Status: p.Status, RunDeleted: !p.Present,
		TaskType: p.Ranking.Task, Metric: s.Metric, Partition: s.Partition, Score: s.Value}, true
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

// decodeSampleIDs decodes the stored JSON array of sample ids. The ids
// json.Marshal wrote without any escape (no backslash anywhere: no quote,
// control or HTML character in an id) are split directly, which is several
// times faster than encoding/json on a large data file; anything else goes
// through encoding/json. Unreadable text gives no ids, as before.
func decodeSampleIDs(text string) []string {
	if len(text) >= 2 && text[0] == '[' && text[len(text)-1] == ']' && !strings.ContainsRune(text, '\\') {
		inner := text[1 : len(text)-1]
		if inner == "" {
			return []string{}
		}
		if len(inner) >= 2 && inner[0] == '"' && inner[len(inner)-1] == '"' {
			ids := strings.Split(inner[1:len(inner)-1], `","`)
			ok := true
			for _, id := range ids {
				ok = ok && !strings.ContainsRune(id, '"')
			}
			if ok {
				return ids
			}
		}
	}
	var ids []string
	if err := json.Unmarshal([]byte(text), &ids); err != nil {
		return nil
	}
	return ids
}
