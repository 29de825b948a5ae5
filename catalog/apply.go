package catalog

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// apply writes ingested records and folder removals into the catalog.
// What a removed or unreadable file said stays: the catalog is permanent,
// and only a newer, readable version of a file replaces its data.
func (c *Catalog) apply(tx *backing.Tx, plan *refreshPlan, records []*pipelineRecord) error {
	now := time.Now().UnixNano()
	for _, rec := range records {
		if err := upsertPipeline(tx, rec, plan.full, now); err != nil {
			return err
		}
	}
	for ds, present := range plan.present {
		if err := markRemoved(tx, ds, present, now); err != nil {
			return err
		}
	}
	return nil
}

// markRemoved flags the dataset's pipelines whose folder is gone.
func markRemoved(tx *backing.Tx, ds string, present map[string]uint64, now int64) error {
	rows, err := tx.Query(`SELECT pid FROM cat_pipelines WHERE dataset = ? AND dir_ino IS NOT NULL`, ds)
	if err != nil {
		return err
	}
	var gone []string
	for rows.Next() {
		var pid string
		if err := rows.Scan(&pid); err != nil {
			rows.Close()
			return err
		}
		if _, ok := present[pid]; !ok {
			gone = append(gone, pid)
		}
	}
	rows.Close()
	for _, pid := range gone {
		if _, err := tx.Exec(`UPDATE cat_pipelines SET dir_ino = NULL, deleted_ns = ?, pred_blob = NULL,
			pipe_blob = NULL, updated_ns = ? WHERE dataset = ? AND pid = ?`, now, now, ds, pid); err != nil {
			return err
		}
	}
	return rows.Err()
}

// upsertPipeline writes what a folder says now. full: a re-read after a
// schema migration (see replaceScores).
func upsertPipeline(tx *backing.Tx, rec *pipelineRecord, full bool, now int64) error {
	ds, pid := rec.ref.dataset, rec.ref.pid
	info := rec.info
	var dur any
	if info.DurationSec > 0 {
		dur = info.DurationSec
	}
	_, err := tx.Exec(`INSERT INTO cat_pipelines (dataset, pid, number, name, hash, dir_ino, deleted_ns, status,
		model, model_class, preprocessing, config_name, created_at, duration_sec,
		pred_blob, pred_size, pipe_blob, pipe_size, first_seen_ns, updated_ns)
		VALUES (?, ?, ?, ?, ?, ?, NULL, 'incomplete', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (dataset, pid) DO UPDATE SET number = excluded.number, name = excluded.name,
			hash = excluded.hash, dir_ino = excluded.dir_ino, deleted_ns = NULL,
			model = coalesce(nullif(excluded.model, ''), cat_pipelines.model),
			model_class = coalesce(nullif(excluded.model_class, ''), cat_pipelines.model_class),
			preprocessing = coalesce(nullif(excluded.preprocessing, ''), cat_pipelines.preprocessing),
			config_name = coalesce(nullif(excluded.config_name, ''), cat_pipelines.config_name),
			created_at = coalesce(nullif(excluded.created_at, ''), cat_pipelines.created_at),
			duration_sec = coalesce(excluded.duration_sec, cat_pipelines.duration_sec),
			pred_blob = excluded.pred_blob,
			pred_size = CASE WHEN excluded.pred_blob IS NULL THEN cat_pipelines.pred_size ELSE excluded.pred_size END,
			pipe_blob = excluded.pipe_blob, pipe_size = excluded.pipe_size, updated_ns = excluded.updated_ns`,
		ds, pid, rec.number, rec.name, rec.hash, rec.ref.ino,
		info.Model, info.ModelClass, strings.Join(info.Preprocessing, ">"), info.Name, info.CreatedAt, dur,
		digestValue(rec.predBlob), rec.predSize, digestValue(rec.pipeBlob), rec.pipeSize, now, now)
	if err != nil {
		return err
	}
	if err := replaceScores(tx, rec, full); err != nil {
		return err
	}
	if err := replacePredictions(tx, rec); err != nil {
		return err
	}
	if err := replaceErrors(tx, rec, now); err != nil {
		return err
	}
	return updateStatus(tx, rec)
}

// replaceScores stores metrics.json's scores and what the pipeline says
// of its task. Scores from the predictions themselves are derived later,
// once the dataset's task is known (settleDataset): an empty scored_task
// marks them as due. What a file that is gone or unreadable said stays,
// so a metrics.json removed (rm -rf in progress) or broken later keeps its
// scores; only the full re-read after the migration drops them, since
// rows of older versions do not tell them from derived ones.
func replaceScores(tx *backing.Tx, rec *pipelineRecord, full bool) error {
	ds, pid := rec.ref.dataset, rec.ref.pid
	if rec.metrics == nil && rec.preds == nil {
		return nil
	}
	drop := `DELETE FROM cat_scores WHERE dataset = ? AND pid = ? AND derived = 1`
	if rec.metrics != nil || full {
		drop = `DELETE FROM cat_scores WHERE dataset = ? AND pid = ?`
	}
	if _, err := tx.Exec(drop, ds, pid); err != nil {
		return err
	}
	declared, named := "", ""
	if rec.metrics != nil {
		if rec.metrics.TaskSaid {
			declared = rec.metrics.TaskType
		} else {
			named = namedTask(rec.metrics)
		}
		for part, ms := range rec.metrics.Scores {
			for m, v := range ms {
				if _, err := tx.Exec(`INSERT INTO cat_scores (dataset, pid, partition, metric, value)
					VALUES (?, ?, ?, ?, ?)`, ds, pid, part, m, v); err != nil {
					return err
				}
			}
		}
	}
	labels := labelsTask(rec.preds)
	own := declared
	for _, t := range []string{named, labels} {
		if own == "" {
			own = t
		}
	}
	// A file that could not be read leaves its part as it was.
	_, err := tx.Exec(`UPDATE cat_pipelines SET scored_task = '',
			declared_task = CASE WHEN ? THEN ? ELSE declared_task END,
			named_task = CASE WHEN ? THEN ? ELSE named_task END,
			labels_task = CASE WHEN ? THEN ? ELSE labels_task END,
			task_type = coalesce(nullif(?, ''), task_type)
		WHERE dataset = ? AND pid = ?`,
		rec.metrics != nil, declared, rec.metrics != nil, named, rec.preds != nil, labels, own, ds, pid)
	return err
}

func replacePredictions(tx *backing.Tx, rec *pipelineRecord) error {
	ds, pid := rec.ref.dataset, rec.ref.pid
	if rec.preds == nil {
		return nil
	}
	if _, err := tx.Exec(`DELETE FROM cat_predictions WHERE dataset = ? AND pid = ?`, ds, pid); err != nil {
		return err
	}
	for _, p := range rec.preds {
		var ids, weights any
		if p.SampleIDs != nil {
			b, _ := json.Marshal(p.SampleIDs)
			ids = string(b)
		}
		if p.Weights != nil {
			weights = encodeFloats(p.Weights)
		}
		_, err := tx.Exec(`INSERT INTO cat_predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, ds, pid, p.Partition,
			len(p.YTrue), encodeFloats(p.YTrue), encodeFloats(p.YPred), ids, weights)
		if err != nil {
			return err
		}
	}
	return nil
}

func replaceErrors(tx *backing.Tx, rec *pipelineRecord, now int64) error {
	ds, pid := rec.ref.dataset, rec.ref.pid
	if _, err := tx.Exec(`DELETE FROM cat_errors WHERE dataset = ? AND pid = ?`, ds, pid); err != nil {
		return err
	}
	for _, e := range rec.errors {
		if _, err := tx.Exec(`INSERT INTO cat_errors (dataset, pid, file, reason, at_ns) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (dataset, pid, file) DO UPDATE SET reason = excluded.reason, at_ns = excluded.at_ns`, ds, pid, e.File, e.Reason, now); err != nil {
			return err
		}
	}
	return nil
}

// updateStatus: failed when error.log is present, else incomplete until
// settleDataset sees a score (ok).
func updateStatus(tx *backing.Tx, rec *pipelineRecord) error {
	status := "incomplete"
	if rec.failed {
		status = "failed"
	}
	_, err := tx.Exec(`UPDATE cat_pipelines SET status = ? WHERE dataset = ? AND pid = ?`, status, rec.ref.dataset, rec.ref.pid)
	return err
}

func digestValue(d backing.Digest) any {
	if d.IsZero() {
		return nil
	}
	return d[:]
}
