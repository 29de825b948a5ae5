package catalog

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Helpers for `n4ws catalog list|best` and `n4ws config`: sort keys,
// metric directions and the metrics a workspace can be ranked by.

// LowerIsBetter reports a metric's direction (FORMATS.md §00): true for
// rmse, mse, mae, sep, loss, error and bias; false for r2, rpd, accuracy,
// balanced_accuracy, f1, precision, recall, auc and anything else.
func LowerIsBetter(metric string) bool { return lowerIsBetter(metric) }

// Pick returns the pipeline's score under its dataset's ranking (false when
// it has none). The ranking was decided from the rule when the catalog was
// refreshed; r only serves rows that carry none (made outside the catalog).
func (r BestRule) Pick(p *PipelineRow) (Score, bool) {
	if p.Ranking.Metric != "" {
		return p.Ranking.score(p.Scores)
	}
	return r.pick(p.TaskType, p.Scores)
}

// StandardMetrics are the metric names n4ws knows a direction for.
var StandardMetrics = []string{"rmse", "mse", "mae", "sep", "bias", "r2", "rpd",
	"accuracy", "balanced_accuracy", "f1", "precision", "recall", "auc"}

// KnownMetrics returns StandardMetrics plus every metric a pipeline of
// the catalog was scored with, sorted.
func (c *Catalog) KnownMetrics(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	for _, m := range StandardMetrics {
		seen[m] = true
	}
	rows, err := c.store.Reader().QueryContext(ctx, `SELECT DISTINCT metric FROM cat_scores`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return nil, err
		}
		seen[m] = true
	}
	out := make([]string, 0, len(seen))
	for m := range seen {
		out = append(out, m)
	}
	sort.Strings(out)
	return out, rows.Err()
}

// SortKeys are the fixed keys SortPipelines takes; <partition>_<metric>
// (test_rmse, val_r2, train_accuracy, ...) sorts by that score, best
// first, and "score" by the score under the best rule, best first.
var SortKeys = []string{"number", "pipeline", "pid", "model", "status", "date", "score"}

// SortPipelines orders rows by key (see SortKeys), then by dataset and
// number. Scores sort best first in their metric's direction; pipelines
// without the score come last.
func SortPipelines(rows []PipelineRow, key string, rule BestRule) error {
	less, err := sortLess(key, rule)
	if err != nil {
		return err
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := &rows[i], &rows[j]
		if c := less(a, b); c != 0 {
			return c < 0
		}
		if a.Dataset != b.Dataset {
			return a.Dataset < b.Dataset
		}
		if a.Number != b.Number {
			return a.Number < b.Number
		}
		return a.PID < b.PID
	})
	return nil
}

// sortLess returns a three-way comparison for key.
func sortLess(key string, rule BestRule) (func(a, b *PipelineRow) int, error) {
	str := func(f func(p *PipelineRow) string) func(a, b *PipelineRow) int {
		return func(a, b *PipelineRow) int { return strings.Compare(f(a), f(b)) }
	}
	switch key {
	case "", "number":
		return func(a, b *PipelineRow) int { return 0 }, nil
	case "pipeline", "pid":
		return str(func(p *PipelineRow) string { return p.PID }), nil
	case "model":
		return str(func(p *PipelineRow) string { return p.Model }), nil
	case "status":
		return str(func(p *PipelineRow) string { return p.Status }), nil
	case "date":
		return str(func(p *PipelineRow) string { return p.RunDate() }), nil
	case "score":
		return func(a, b *PipelineRow) int {
			sa, oka := rule.Pick(a)
			sb, okb := rule.Pick(b)
			return compareScores(sa.Value, oka, sb.Value, okb, lowerIsBetter(sa.Metric))
		}, nil
	}
	part, metric, ok := strings.Cut(key, "_")
	if !ok || metric == "" || (part != "train" && part != "val" && part != "test") {
		return nil, fmt.Errorf("unknown sort key %q: want %s, or <partition>_<metric> such as test_rmse, test_r2, val_rmse",
			key, strings.Join(SortKeys, ", "))
	}
	low := lowerIsBetter(metric)
	return func(a, b *PipelineRow) int {
		va, oka := a.Scores[part][metric]
		vb, okb := b.Scores[part][metric]
		return compareScores(va, oka, vb, okb, low)
	}, nil
}

// compareScores orders the better score first and missing scores last.
func compareScores(a float64, oka bool, b float64, okb bool, low bool) int {
	switch {
	case !oka && !okb:
		return 0
	case !oka:
		return 1
	case !okb:
		return -1
	case a == b || (math.IsNaN(a) && math.IsNaN(b)):
		return 0
	case (a < b) == low:
		return -1
	}
	return 1
}
