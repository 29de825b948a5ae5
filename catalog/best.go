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
	date     string // the pipeline's session date, YYYY-MM-DD
	predBlob backing.Digest
	predSize int64
}

// updateBest settles the dataset (task, derived scores, ranking), re-picks
// its best among the pipelines scored under the ranking and makes sure the
// best's predictions are archived (a reference to the same blob: no copy).
func (c *Catalog) updateBest(tx *backing.Tx, ds string) error {
	rule, err := loadRule(tx.QueryRow)
	if err != nil {
		return err
	}
	ranking, err := settleDataset(tx, ds, rule)
	if err != nil {
		return err
	}
	cands, err := candidates(tx.Query, ds, ranking)
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
	if best == nil {
		_, err = tx.Exec(`DELETE FROM cat_best WHERE dataset = ?`, ds)
		return err
	}
	if best.pid != cur {
		if _, err := tx.Exec(`INSERT INTO cat_best VALUES (?, ?, ?) ON CONFLICT (dataset) DO UPDATE
			SET pid = excluded.pid, since_ns = excluded.since_ns`, ds, best.pid, time.Now().UnixNano()); err != nil {
			return err
		}
	}
	return c.archiveBest(tx, ds, best)
}

// archiveName is the file a best's predictions are archived as:
// {dataset}_{session date}_{pipeline}.csv, the path the seed document's
// Workflow 5 builds from a row of predictions.parquet.
func archiveName(ds, date, pid string) string { return fmt.Sprintf("%s_%s_%s.csv", ds, date, pid) }

// archiveBest keeps one archive file per pipeline that was ever a best,
// named after the pipeline's session date. A pipeline's date can change
// after it was archived (its pipeline.json arrived after its predictions,
// while it was briefly best): every archive of the dataset whose name is
// out of date is renamed first.
func (c *Catalog) archiveBest(tx *backing.Tx, ds string, best *candidate) error {
	if err := c.renameArchives(tx, ds); err != nil {
		return err
	}
	var have string
	err := tx.QueryRow(`SELECT name FROM cat_archives WHERE dataset = ? AND pid = ?`, ds, best.pid).Scan(&have)
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	name := archiveName(ds, best.date, best.pid)
	if err := c.createArchive(tx, name, best); err != nil && !errors.Is(err, backing.ErrExists) {
		return fmt.Errorf("archive %s: %w", name, err) // ErrExists: a file of that name is there already
	}
	_, err = tx.Exec(`INSERT INTO cat_archives VALUES (?, ?, ?)`, ds, best.pid, name)
	return err
}

// renameArchives gives the dataset's archives the name their pipeline's
// date asks for now. An archive removed since (n4ws catalog forget) is
// forgotten; a name already taken is taken over as is.
func (c *Catalog) renameArchives(tx *backing.Tx, ds string) error {
	rows, err := tx.Query(`SELECT a.pid, a.name, p.created_at, p.first_seen_ns
		FROM cat_archives a JOIN cat_pipelines p ON p.dataset = a.dataset AND p.pid = a.pid WHERE a.dataset = ?`, ds)
	if err != nil {
		return err
	}
	type move struct{ pid, from, to string }
	var moves []move
	for rows.Next() {
		var pid, name, created string
		var firstSeen int64
		if err := rows.Scan(&pid, &name, &created, &firstSeen); err != nil {
			rows.Close()
			return err
		}
		if want := archiveName(ds, runDate(created, time.Unix(0, firstSeen)), pid); want != name {
			moves = append(moves, move{pid, name, want})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range moves {
		err := tx.RenamePinned(c.skel.archivesBest, m.from, m.to)
		switch {
		case errors.Is(err, backing.ErrNotFound):
			_, err = tx.Exec(`DELETE FROM cat_archives WHERE dataset = ? AND pid = ?`, ds, m.pid)
		case err == nil || errors.Is(err, backing.ErrExists):
			_, err = tx.Exec(`UPDATE cat_archives SET name = ? WHERE dataset = ? AND pid = ?`, m.to, ds, m.pid)
		}
		if err != nil {
			return fmt.Errorf("rename archive %s: %w", m.from, err)
		}
	}
	return nil
}

func (c *Catalog) createArchive(tx *backing.Tx, name string, best *candidate) error {
	_, err := tx.CreateBlobFile(c.skel.archivesBest, name, best.predBlob, best.predSize, time.Now())
	return err
}

type queryFunc func(query string, args ...any) (*sql.Rows, error)
type queryRowFunc func(query string, args ...any) *sql.Row

// candidates lists the dataset's pipelines that exist, completed (not
// failed, a score), have predictions and a score under the ranking.
func candidates(query queryFunc, ds string, r Ranking) ([]candidate, error) {
	rows, err := query(`SELECT p.pid, p.number, p.created_at, p.first_seen_ns, p.pred_blob, p.pred_size, s.value
		FROM cat_pipelines p JOIN cat_scores s ON s.dataset = p.dataset AND s.pid = p.pid
			AND s.partition = ? AND s.metric = ?
		WHERE p.dataset = ? AND p.dir_ino IS NOT NULL AND p.status = 'ok' AND p.pred_blob IS NOT NULL
		ORDER BY p.pid`, r.Partition, r.Metric, ds)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []candidate
	for rows.Next() {
		var c candidate
		var created string
		var firstSeen int64
		var blob []byte
		if err := rows.Scan(&c.pid, &c.number, &created, &firstSeen, &blob, &c.predSize, &c.score.Value); err != nil {
			return nil, err
		}
		copy(c.predBlob[:], blob)
		c.score.Metric, c.score.Partition = r.Metric, r.Partition
		c.date = runDate(created, time.Unix(0, firstSeen))
		out = append(out, c)
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
