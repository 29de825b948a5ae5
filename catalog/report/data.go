package report

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/n4ws/n4ws/catalog"
)

// The HTML reports and chart PNGs are drawn from the catalog tables only
// (never from the folders' files but error.log), so they cover pipelines
// whose run folders were deleted, and the same catalog draws the same bytes.

// dsReport is what the reports of one dataset are drawn from.
type dsReport struct {
	ds        string
	rule      catalog.BestRule
	rows      []catalog.PipelineRow // every pipeline the catalog knows, deleted ones included, by number
	best      *catalog.PipelineRow  // the current best; nil when there is none
	bestScore catalog.Score
	errs      []catalog.ErrorRow
}

// datasetInputs loads the reports' inputs of dataset ds; nil when the
// catalog has no pipeline of it.
func datasetInputs(ctx context.Context, c *catalog.Catalog, ds string) (*dsReport, error) {
	rule, err := c.Rule(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := c.Pipelines(ctx, ds)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	errs, err := c.Errors(ctx, ds)
	if err != nil {
		return nil, err
	}
	r := &dsReport{ds: ds, rule: rule, rows: rows, errs: errs}
	r.finish()
	return r, nil
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
			r.bestScore, _ = r.rule.Pick(p)
		}
	}
}

// present returns the pipelines whose run folders exist: the current run.
func (r *dsReport) present() []*catalog.PipelineRow {
	var out []*catalog.PipelineRow
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
		if s, ok := r.rule.Pick(&r.rows[i]); ok {
			return s.Metric
		}
	}
	task := catalog.TaskRegression
	if r.classification() {
		task = catalog.TaskMulticlass
	}
	return r.rule.Metrics(task)[0]
}

// scoredRow is a pipeline with its score under the rule.
type scoredRow struct {
	p *catalog.PipelineRow
	s catalog.Score
}

// scored returns the pipelines with a score in the dataset's metric, by
// number; failed ones are left out (their scores, if any, are not results).
func (r *dsReport) scored(rows []*catalog.PipelineRow) []scoredRow {
	metric := r.metric()
	var out []scoredRow
	for _, p := range rows {
		if p.Status == "failed" {
			continue
		}
		if s, ok := r.rule.Pick(p); ok && s.Metric == metric {
			out = append(out, scoredRow{p, s})
		}
	}
	return out
}

// all returns every row (deleted ones included) as pointers.
func (r *dsReport) all() []*catalog.PipelineRow {
	out := make([]*catalog.PipelineRow, len(r.rows))
	for i := range r.rows {
		out[i] = &r.rows[i]
	}
	return out
}

// mtime is the last change of any of the dataset's pipelines.
func (r *dsReport) mtime() time.Time {
	t := catalog.LatestUpdate(r.rows)
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

// predRow is one partition's stored predictions of a pipeline.
type predRow struct {
	dataset, pid, partition string
	yTrue, yPred            []float64
}

// bestPredictions returns the stored predictions of pipeline pid, by
// partition (train, val, test).
func bestPredictions(ctx context.Context, c *catalog.Catalog, ds, pid string) ([]predRow, error) {
	parts, err := c.StoredPredictions(ctx, ds, pid)
	if err != nil {
		return nil, err
	}
	out := make([]predRow, len(parts))
	for i, p := range parts {
		out[i] = predRow{dataset: p.Dataset, pid: p.PID, partition: p.Partition, yTrue: p.YTrue, yPred: p.YPred}
	}
	return out, nil
}

// lastLine is a log's last non-blank line: the exception message.
func lastLine(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
