package catalog

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// PipelineRow is a pipeline as the catalog knows it.
type PipelineRow struct {
	Dataset, PID  string
	Number        int
	Name, Hash    string
	Present       bool // its folder exists
	DeletedAt     time.Time
	Status        string
	TaskType      string  // the dataset's task (Ranking.Task), else what the pipeline said
	Ranking       Ranking // how the dataset's pipelines are ranked (zero before its first refresh)
	Model         string
	ModelClass    string
	Preprocessing string
	ConfigName    string
	CreatedAt     string
	DurationSec   *float64
	PredBlob      backing.Digest
	PredSize      int64
	PipeBlob      backing.Digest
	PipeSize      int64
	FirstSeen     time.Time
	Updated       time.Time
	Scores        map[string]map[string]float64 // partition → metric → value
	Best          bool                          // the dataset's current best
}

// RunDate is the pipeline's session date: its created_at, else when n4ws
// first saw it.
func (p *PipelineRow) RunDate() string { return runDate(p.CreatedAt, p.FirstSeen) }

// Session is the pipeline's session as the seed document names it:
// <YYYY-MM-DD>_<dataset>.
func (p *PipelineRow) Session() string { return p.RunDate() + "_" + p.Dataset }

func runDate(createdAt string, firstSeen time.Time) string {
	if t, err := time.Parse(time.RFC3339, createdAt); err == nil {
		return t.UTC().Format("2006-01-02")
	}
	if len(createdAt) >= 10 {
		if _, err := time.Parse("2006-01-02", createdAt[:10]); err == nil {
			return createdAt[:10]
		}
	}
	return firstSeen.UTC().Format("2006-01-02")
}

// Pipelines returns the catalog's pipelines of one dataset (all datasets
// when ds is ""), deleted ones included, by dataset and folder name.
func (c *Catalog) Pipelines(ctx context.Context, ds string) ([]PipelineRow, error) {
	out, err := c.pipelineRows(ctx, byDataset("p.dataset", ds), dsArgs(ds)...)
	if err != nil {
		return nil, err
	}
	index := make(map[[2]string]int, len(out))
	for i := range out {
		index[[2]string{out[i].Dataset, out[i].PID}] = i
	}
	return out, c.loadScores(ctx, ds, out, index)
}

// currentBests returns each dataset's best pipeline whose folder exists,
// without scores: the views that need only names and blobs read no more.
func (c *Catalog) currentBests(ctx context.Context) ([]PipelineRow, error) {
	return c.pipelineRows(ctx, "WHERE b.pid = p.pid AND p.dir_ino IS NOT NULL")
}

// pipelineRows reads cat_pipelines rows (without scores) matching where.
func (c *Catalog) pipelineRows(ctx context.Context, where string, args ...any) ([]PipelineRow, error) {
	rows, err := c.store.Reader().QueryContext(ctx, `SELECT p.dataset, p.pid, p.number, p.name, p.hash,
		p.dir_ino IS NOT NULL, coalesce(p.deleted_ns, 0), p.status, coalesce(d.task, p.task_type), p.model,
		p.model_class, p.preprocessing, p.config_name, p.created_at, p.duration_sec, p.pred_blob, p.pred_size,
		p.pipe_blob, p.pipe_size, p.first_seen_ns, p.updated_ns, CASE WHEN b.pid = p.pid THEN 1 ELSE 0 END,
		coalesce(d.task, ''), coalesce(d.task_from, ''), coalesce(d.metric, ''), coalesce(d.partition, '')
		FROM cat_pipelines p LEFT JOIN cat_best b ON b.dataset = p.dataset
		LEFT JOIN cat_datasets d ON d.dataset = p.dataset
		`+where+` ORDER BY p.dataset, p.pid`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PipelineRow
	for rows.Next() {
		var p PipelineRow
		var del, first, upd int64
		var dur sql.NullFloat64
		var pred, pipe []byte
		if err := rows.Scan(&p.Dataset, &p.PID, &p.Number, &p.Name, &p.Hash, &p.Present, &del, &p.Status,
			&p.TaskType, &p.Model, &p.ModelClass, &p.Preprocessing, &p.ConfigName, &p.CreatedAt, &dur,
			&pred, &p.PredSize, &pipe, &p.PipeSize, &first, &upd, &p.Best,
			&p.Ranking.Task, &p.Ranking.TaskFrom, &p.Ranking.Metric, &p.Ranking.Partition); err != nil {
			return nil, err
		}
		if del > 0 {
			p.DeletedAt = time.Unix(0, del)
		}
		if dur.Valid {
			p.DurationSec = &dur.Float64
		}
		copy(p.PredBlob[:], pred)
		copy(p.PipeBlob[:], pipe)
		p.FirstSeen, p.Updated = time.Unix(0, first), time.Unix(0, upd)
		p.Scores = map[string]map[string]float64{}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (c *Catalog) loadScores(ctx context.Context, ds string, out []PipelineRow, index map[[2]string]int) error {
	rows, err := c.store.Reader().QueryContext(ctx,
		`SELECT dataset, pid, partition, metric, value FROM cat_scores `+byDataset("dataset", ds), dsArgs(ds)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var d, pid, part, m string
		var v float64
		if err := rows.Scan(&d, &pid, &part, &m, &v); err != nil {
			return err
		}
		if i, ok := index[[2]string{d, pid}]; ok {
			if out[i].Scores[part] == nil {
				out[i].Scores[part] = map[string]float64{}
			}
			out[i].Scores[part][m] = v
		}
	}
	return rows.Err()
}

// Datasets lists the datasets the catalog knows, deleted ones included.
func (c *Catalog) Datasets(ctx context.Context) ([]string, error) {
	return c.queryStrings(ctx, `SELECT DISTINCT dataset FROM cat_pipelines ORDER BY dataset`)
}

// queryStrings runs a query of one text column and returns its values.
func (c *Catalog) queryStrings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := c.store.Reader().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// BestOf returns the dataset's current best pipeline and its score.
func (c *Catalog) BestOf(ctx context.Context, ds string) (*PipelineRow, Score, error) {
	rule, err := c.Rule(ctx)
	if err != nil {
		return nil, Score{}, err
	}
	rows, err := c.Pipelines(ctx, ds)
	if err != nil {
		return nil, Score{}, err
	}
	for i := range rows {
		if rows[i].Best {
			s, _ := rule.Pick(&rows[i])
			return &rows[i], s, nil
		}
	}
	return nil, Score{}, ErrNoBest
}

// ErrNoBest: the dataset has no pipeline with a score and predictions.
var ErrNoBest = errors.New("no best pipeline")

// ErrorRow is a file the catalog could not use.
type ErrorRow struct {
	Dataset, PID, File, Reason string
}

// Errors lists ingestion errors (of one dataset, or all when ds is "").
func (c *Catalog) Errors(ctx context.Context, ds string) ([]ErrorRow, error) {
	rows, err := c.store.Reader().QueryContext(ctx, `SELECT dataset, pid, file, reason FROM cat_errors
		`+byDataset("dataset", ds)+` ORDER BY dataset, pid, file`, dsArgs(ds)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ErrorRow
	for rows.Next() {
		var e ErrorRow
		if err := rows.Scan(&e.Dataset, &e.PID, &e.File, &e.Reason); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// bestPerModel returns, for each model name among the present pipelines,
// its best pipeline under the rule, sorted by model name.
func bestPerModel(rule BestRule, rows []PipelineRow) []*PipelineRow {
	best := map[string]*PipelineRow{}
	scores := map[string]Score{}
	for i := range rows {
		p := &rows[i]
		if !p.Present || p.Status != "ok" || p.PredBlob.IsZero() || p.Model == "" {
			continue
		}
		s, ok := rule.Pick(p)
		if !ok {
			continue
		}
		if b := best[p.Model]; b == nil || better(s, p.Number, scores[p.Model], b.Number) {
			best[p.Model], scores[p.Model] = p, s
		}
	}
	var out []*PipelineRow
	for _, p := range best {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

// byDataset filters on one dataset, or on none when ds is "". Two query
// shapes instead of "? = ” OR dataset = ?", which SQLite cannot answer
// from the (dataset, pid) key and so scans the whole table.
func byDataset(col, ds string) string {
	if ds == "" {
		return ""
	}
	return "WHERE " + col + " = ?"
}

func dsArgs(ds string) []any {
	if ds == "" {
		return nil
	}
	return []any{ds}
}
