package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// BestRule says how a dataset's best pipeline is chosen.
type BestRule struct {
	Partition string `json:"partition"` // "test" by default; "val" is nirs4all's own choice
	Metric    string `json:"metric"`    // "" picks by task: rmse, or balanced_accuracy else accuracy
}

// Score is a pipeline's score under a rule.
type Score struct {
	Value     float64
	Metric    string
	Partition string
}

// lowerIsBetter gives a metric's direction (FORMATS.md §00).
func lowerIsBetter(metric string) bool {
	m := strings.ToLower(metric)
	for _, low := range []string{"rmse", "mse", "mae", "sep", "loss", "error", "bias"} {
		if m == low || strings.Contains(m, low) {
			return true
		}
	}
	return false
}

// pick returns the pipeline's score under the rule: the rule's partition,
// else the other of test and val; the rule's metric, else the task's.
func (r BestRule) pick(task string, scores map[string]map[string]float64) (Score, bool) {
	parts := []string{r.Partition}
	switch r.Partition {
	case "test":
		parts = append(parts, "val")
	case "val":
		parts = append(parts, "test")
	}
	for _, part := range parts {
		ms := scores[part]
		for _, m := range r.metrics(task) {
			if v, ok := ms[m]; ok {
				return Score{Value: v, Metric: m, Partition: part}, true
			}
		}
	}
	return Score{}, false
}

func (r BestRule) metrics(task string) []string {
	switch {
	case r.Metric != "":
		return []string{r.Metric}
	case task == TaskRegression || task == "":
		return []string{"rmse"}
	default:
		return []string{"balanced_accuracy", "accuracy"}
	}
}

// better reports whether a beats b (ties go to the lower number).
func better(a Score, an int, b Score, bn int) bool {
	if a.Value != b.Value {
		if lowerIsBetter(a.Metric) {
			return a.Value < b.Value
		}
		return a.Value > b.Value
	}
	return an < bn
}

// candidate is a pipeline that may be its dataset's best.
type candidate struct {
	pid      string
	number   int
	score    Score
	predBlob backing.Digest
	predSize int64
}

// updateBest re-picks the dataset's best and archives a new winner's
// predictions (a reference to the same blob: no copy).
func (c *Catalog) updateBest(tx *backing.Tx, ds string) error {
	rule, err := loadRule(tx.QueryRow)
	if err != nil {
		return err
	}
	cands, err := candidates(tx.Query, ds, rule)
	if err != nil {
		return err
	}
	var best *candidate
	for i := range cands {
		if best == nil || better(cands[i].score, cands[i].number, best.score, best.number) {
			best = &cands[i]
		}
	}
	var cur string
	err = tx.QueryRow(`SELECT pid FROM cat_best WHERE dataset = ?`, ds).Scan(&cur)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	switch {
	case best == nil:
		_, err = tx.Exec(`DELETE FROM cat_best WHERE dataset = ?`, ds)
		return err
	case best.pid == cur:
		return nil
	}
	now := time.Now()
	if _, err := tx.Exec(`INSERT INTO cat_best VALUES (?, ?, ?) ON CONFLICT (dataset) DO UPDATE
		SET pid = excluded.pid, since_ns = excluded.since_ns`, ds, best.pid, now.UnixNano()); err != nil {
		return err
	}
	name := fmt.Sprintf("%s_%s_%s.csv", ds, now.UTC().Format("2006-01-02"), best.pid)
	_, err = tx.CreateBlobFile(c.skel.archivesBest, name, best.predBlob, best.predSize, now)
	if errors.Is(err, backing.ErrExists) {
		return nil // the same pipeline won again today: archived already
	}
	return err
}

type queryFunc func(query string, args ...any) (*sql.Rows, error)
type queryRowFunc func(query string, args ...any) *sql.Row

// candidates lists the dataset's pipelines that exist, did not fail, have
// predictions and a score under the rule.
func candidates(query queryFunc, ds string, rule BestRule) ([]candidate, error) {
	rows, err := query(`SELECT p.pid, p.number, p.task_type, p.pred_blob, p.pred_size, s.partition, s.metric, s.value
		FROM cat_pipelines p JOIN cat_scores s ON s.dataset = p.dataset AND s.pid = p.pid
		WHERE p.dataset = ? AND p.dir_ino IS NOT NULL AND p.status != 'failed' AND p.pred_blob IS NOT NULL
		ORDER BY p.pid`, ds)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type acc struct {
		c      candidate
		task   string
		scores map[string]map[string]float64
	}
	var order []string
	all := map[string]*acc{}
	for rows.Next() {
		var pid, task, part, metric string
		var num int
		var blob []byte
		var size int64
		var v float64
		if err := rows.Scan(&pid, &num, &task, &blob, &size, &part, &metric, &v); err != nil {
			return nil, err
		}
		a := all[pid]
		if a == nil {
			a = &acc{c: candidate{pid: pid, number: num, predSize: size}, task: task, scores: map[string]map[string]float64{}}
			copy(a.c.predBlob[:], blob)
			all[pid] = a
			order = append(order, pid)
		}
		if a.scores[part] == nil {
			a.scores[part] = map[string]float64{}
		}
		a.scores[part][metric] = v
	}
	var out []candidate
	for _, pid := range order {
		a := all[pid]
		if s, ok := rule.pick(a.task, a.scores); ok {
			a.c.score = s
			out = append(out, a.c)
		}
	}
	return out, rows.Err()
}

// loadRule reads best.partition and best.metric from the configuration.
func loadRule(queryRow queryRowFunc) (BestRule, error) {
	r := BestRule{Partition: "test"}
	for key, dst := range map[string]*string{"best.partition": &r.Partition, "best.metric": &r.Metric} {
		var v string
		err := queryRow(`SELECT value FROM cat_config WHERE key = ?`, key).Scan(&v)
		if err == nil {
			*dst = v
		} else if !errors.Is(err, sql.ErrNoRows) {
			return r, err
		}
	}
	return r, nil
}

// Rule returns the configured best rule.
func (c *Catalog) Rule(ctx context.Context) (BestRule, error) {
	return loadRule(func(q string, args ...any) *sql.Row { return c.store.Reader().QueryRowContext(ctx, q, args...) })
}
