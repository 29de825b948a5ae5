package catalog

import (
	"context"
	"strings"
	"time"
)

// The entry points package report and package importer use: thin exported
// wrappers, so that the core keeps its own (unexported) names.

// Better reports whether score a (of pipeline number an) beats score b (of
// pipeline number bn) under their metric's direction; ties go to the lower
// number.
func Better(a Score, an int, b Score, bn int) bool { return better(a, an, b, bn) }

// BestPerModel returns, for each model name among the present pipelines of
// rows, its best pipeline under the rule, sorted by model name.
func BestPerModel(rule BestRule, rows []PipelineRow) []*PipelineRow { return bestPerModel(rule, rows) }

// PredictionScores computes the usual metrics of one partition's
// predictions for a task type (regression or classification metrics).
func PredictionScores(task string, p Prediction) map[string]float64 {
	return predictionScores(task, p)
}

// LatestUpdate is the latest Updated time of rows (zero when none).
func LatestUpdate(rows []PipelineRow) time.Time { return latest(rows) }

// PartitionPredictions are one partition's stored predictions of a
// pipeline, as the catalog keeps them.
type PartitionPredictions struct {
	Dataset, PID, Partition string
	YTrue, YPred            []float64
}

// StoredPredictions returns the stored predictions of pipeline pid of
// dataset ds, by partition (train, val, test, then any other).
func (c *Catalog) StoredPredictions(ctx context.Context, ds, pid string) ([]PartitionPredictions, error) {
	rows, err := c.store.Reader().QueryContext(ctx, `SELECT partition, y_true, y_pred FROM cat_predictions
		WHERE dataset = ? AND pid = ?
		ORDER BY CASE partition WHEN 'train' THEN 0 WHEN 'val' THEN 1 WHEN 'test' THEN 2 ELSE 3 END, partition`, ds, pid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PartitionPredictions
	for rows.Next() {
		r := PartitionPredictions{Dataset: ds, PID: pid}
		var yt, yp []byte
		if err := rows.Scan(&r.Partition, &yt, &yp); err != nil {
			return nil, err
		}
		r.YTrue, r.YPred = decodeFloats(yt), decodeFloats(yp)
		out = append(out, r)
	}
	return out, rows.Err()
}

// maxErrorLog bounds the error.log a report reads: tracebacks are small,
// and a huge log is better read in its folder.
const maxErrorLog = 1 << 20

// ErrorLogTail returns the tail of a pipeline's error.log (its last 30
// lines, where Python puts the exception), or "" when there is none to
// read.
func (c *Catalog) ErrorLogTail(ctx context.Context, ds, pid string) string {
	a, err := c.store.ResolvePath(ctx, "runs/"+ds+"/"+pid+"/error.log")
	if err != nil || !a.IsRegular() || a.Size == 0 || a.Size > maxErrorLog {
		return ""
	}
	data, err := c.store.ReadBlob(ctx, a.Blob, a.Size)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// Metrics are the metrics the rule ranks a task's pipelines by, in order
// of preference.
func (r BestRule) Metrics(task string) []string { return r.metrics(task) }

// CreatedTime is when the pipeline was created (its manifest's date, else
// when the catalog first saw it), in UTC.
func (p *PipelineRow) CreatedTime() *time.Time { return p.created() }

// Render renders the computed entries of a workspace folder as Overlay
// does, but without refreshing and without the cache: for benchmarks that
// measure the rendering itself.
func (c *Catalog) Render(ctx context.Context, dir string) ([]View, error) { return c.render(ctx, dir) }
