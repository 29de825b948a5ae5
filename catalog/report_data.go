package catalog

import (
	"context"
	"sort"
	"strings"
	"time"
)

// The HTML reports and chart PNGs are drawn from the catalog tables only
// (never from the folders' files but error.log), so they cover pipelines
// whose run folders were deleted, and the same catalog draws the same bytes.

// dsReport is what the reports of one dataset are drawn from.
type dsReport struct {
	ds        string
	rule      BestRule
	rows      []PipelineRow // every pipeline the catalog knows, deleted ones included, by number
	best      *PipelineRow  // the current best; nil when there is none
	bestScore Score
	errs      []ErrorRow
}

// reportInputs loads the reports' inputs of one dataset, or of every
// dataset the catalog knows when ds is "" (sorted by name).
func (c *Catalog) reportInputs(ctx context.Context, ds string) ([]*dsReport, error) {
	rule, err := c.Rule(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := c.Pipelines(ctx, ds)
	if err != nil {
		return nil, err
	}
	errs, err := c.Errors(ctx, ds)
	if err != nil {
		return nil, err
	}
	byDS := map[string]*dsReport{}
	var out []*dsReport
	for _, p := range rows {
		r := byDS[p.Dataset]
		if r == nil {
			r = &dsReport{ds: p.Dataset, rule: rule}
			byDS[p.Dataset] = r
			out = append(out, r)
		}
		r.rows = append(r.rows, p)
	}
	for _, e := range errs {
		if r := byDS[e.Dataset]; r != nil {
			r.errs = append(r.errs, e)
		}
	}
	for _, r := range out {
		r.finish()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ds < out[j].ds })
	return out, nil
}

// finish orders the rows by number and finds the best.
func (r *dsReport) finish() {
	sort.SliceStable(r.rows, func(i, j int) bool {
		if r.rows[i].Number != r.rows[j].Number {
			return r.rows[i].Number < r.rows[j].Number
		}
		return r.rows[i].PID < r.rows[j].PID
	})
	for i := range r.rows {
		if p := &r.rows[i]; p.Best {
			r.best = p
			r.bestScore, _ = r.rule.pick(p.TaskType, p.Scores)
		}
	}
}

// present returns the pipelines whose run folders exist: the current run.
func (r *dsReport) present() []*PipelineRow {
	var out []*PipelineRow
	for i := range r.rows {
		if r.rows[i].Present {
			out = append(out, &r.rows[i])
		}
	}
	return out
}

// classification reports whether the dataset's pipelines classify.
func (r *dsReport) classification() bool {
	if r.best != nil {
		return classifies(r.best.TaskType)
	}
	for i := range r.rows {
		if t := r.rows[i].TaskType; t != "" {
			return classifies(t)
		}
	}
	return false
}

// metric is the metric the dataset is ranked by.
func (r *dsReport) metric() string {
	if r.best != nil {
		return r.bestScore.Metric
	}
	for i := range r.rows {
		if s, ok := r.rule.pick(r.rows[i].TaskType, r.rows[i].Scores); ok {
			return s.Metric
		}
	}
	task := TaskRegression
	if r.classification() {
		task = TaskMulticlass
	}
	return r.rule.metrics(task)[0]
}

// scoredRow is a pipeline with its score under the rule.
type scoredRow struct {
	p *PipelineRow
	s Score
}

// scored returns the pipelines with a score in the dataset's metric, by
// number; failed ones are left out (their scores, if any, are not results).
func (r *dsReport) scored(rows []*PipelineRow) []scoredRow {
	metric := r.metric()
	var out []scoredRow
	for _, p := range rows {
		if p.Status == "failed" {
			continue
		}
		if s, ok := r.rule.pick(p.TaskType, p.Scores); ok && s.Metric == metric {
			out = append(out, scoredRow{p, s})
		}
	}
	return out
}

// all returns every row (deleted ones included) as pointers.
func (r *dsReport) all() []*PipelineRow {
	out := make([]*PipelineRow, len(r.rows))
	for i := range r.rows {
		out[i] = &r.rows[i]
	}
	return out
}

// mtime is the last change of any of the dataset's pipelines.
func (r *dsReport) mtime() time.Time {
	t := latest(r.rows)
	for i := range r.rows {
		if r.rows[i].DeletedAt.After(t) {
			t = r.rows[i].DeletedAt
		}
	}
	return t
}

// lastRun is the latest run date of the dataset's pipelines.
func (r *dsReport) lastRun() string {
	var last string
	for i := range r.rows {
		if d := r.rows[i].RunDate(); d > last {
			last = d
		}
	}
	return last
}

// bestPredictions returns the stored predictions of pipeline pid, by
// partition (train, val, test).
func (c *Catalog) bestPredictions(ctx context.Context, ds, pid string) ([]predRow, error) {
	rows, err := c.store.Reader().QueryContext(ctx, `SELECT partition, y_true, y_pred FROM cat_predictions
		WHERE dataset = ? AND pid = ?
		ORDER BY CASE partition WHEN 'train' THEN 0 WHEN 'val' THEN 1 WHEN 'test' THEN 2 ELSE 3 END, partition`, ds, pid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []predRow
	for rows.Next() {
		r := predRow{dataset: ds, pid: pid}
		var yt, yp []byte
		if err := rows.Scan(&r.partition, &yt, &yp); err != nil {
			return nil, err
		}
		r.yTrue, r.yPred = decodeFloats(yt), decodeFloats(yp)
		out = append(out, r)
	}
	return out, rows.Err()
}

// maxErrorLog bounds the error.log a report reads: tracebacks are small,
// and a huge log is better read in its folder.
const maxErrorLog = 1 << 20

// errorLog returns the tail of a pipeline's error.log (its last lines,
// where Python puts the exception), or "" when there is none to read.
func (c *Catalog) errorLog(ctx context.Context, ds, pid string) string {
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

// lastLine is a log's last non-blank line: the exception message.
func lastLine(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
