package catalog

import (
	"fmt"

	"github.com/n4ws/n4ws/backing"
)

// A dataset has one task and one ranking: every pipeline of it is scored
// by the same metric on the same partition, so a best is never chosen by
// comparing an RMSE with an accuracy (issue 9). The task is decided from
// what the pipelines say, the ranking from the task and the best.* settings;
// both are stored in cat_datasets at each refresh of the dataset.

// Ranking is how a dataset's pipelines are compared.
type Ranking struct {
	Task      string `json:"task"`      // regression, binary_classification, multiclass_classification
	TaskFrom  string `json:"task_from"` // declared, labels, metric names or default
	Metric    string `json:"metric"`
	Partition string `json:"partition"`
}

// Where a dataset's task comes from, by precedence.
const (
	FromDeclared = "declared"     // the majority of the pipelines' metrics.json task_type
	FromMetrics  = "metric names" // the majority of what metrics.json scores (rmse... or accuracy...)
	FromLabels   = "labels"       // the majority of what y_true in predictions.csv looks like
	FromDefault  = "default"      // nothing said: regression, the common NIRS case
)

// score is a pipeline's score under the ranking: its value of the
// ranking's metric on the ranking's partition, or false.
func (r Ranking) score(scores map[string]map[string]float64) (Score, bool) {
	v, ok := scores[r.Partition][r.Metric]
	if !ok {
		return Score{}, false
	}
	return Score{Value: v, Metric: r.Metric, Partition: r.Partition}, true
}

// LowerIsBetter reports the ranking metric's direction.
func (r Ranking) LowerIsBetter() bool { return lowerIsBetter(r.Metric) }

// taskVotes counts, per task, the pipelines of a dataset that say it.
type taskVotes struct {
	declared, named, labels map[string]int
}

// namedTask is the task the metric names of a metrics.json point to:
// regression when any is a regression metric, classification when only
// classification metrics are there, "" when none is known.
func namedTask(m *Metrics) string {
	task := ""
	for _, ms := range m.Scores {
		for name := range ms {
			switch name {
			case "rmse", "mse", "mae", "r2", "sep", "rpd", "bias":
				return TaskRegression
			case "accuracy", "balanced_accuracy", "f1", "precision", "recall", "auc":
				task = TaskMulticlass
			}
		}
	}
	return task
}

// decideTask applies the precedence: the declared majority, else (a tie or
// no declaration) what the scores metrics.json holds say (a writer that
// computed an RMSE ran a regression), else what the labels of the
// predictions look like, else regression.
func decideTask(v taskVotes) (task, from string) {
	for _, level := range []struct {
		votes map[string]int
		from  string
	}{{v.declared, FromDeclared}, {v.named, FromMetrics}, {v.labels, FromLabels}} {
		if t, ok := majorityTask(level.votes); ok {
			return t, level.from
		}
	}
	return TaskRegression, FromDefault
}

// majorityTask: regression against classification first (binary and
// multiclass are one side: they rank by the same metric), then binary
// against multiclass, a tie going to multiclass. False on no vote or a
// tie between regression and classification.
func majorityTask(votes map[string]int) (string, bool) {
	reg, bin, multi := votes[TaskRegression], votes[TaskBinary], votes[TaskMulticlass]
	switch {
	case reg > bin+multi:
		return TaskRegression, true
	case reg < bin+multi && bin > multi:
		return TaskBinary, true
	case reg < bin+multi:
		return TaskMulticlass, true
	}
	return "", false
}

// maxClassLabels is the most distinct integer labels that still read as
// classes rather than as an integer-valued regression target.
const maxClassLabels = 20

// labelsTask says what the y_true values of a pipeline's predictions look
// like: integers with at most maxClassLabels distinct values are class
// labels (binary with two or fewer), anything else a regression target;
// "" without predictions.
func labelsTask(preds []Prediction) string {
	seen := map[float64]bool{}
	for _, p := range preds {
		for _, y := range p.YTrue {
			if y != float64(int64(y)) {
				return TaskRegression
			}
			if seen[y] = true; len(seen) > maxClassLabels {
				return TaskRegression
			}
		}
	}
	switch {
	case len(seen) == 0:
		return ""
	case len(seen) <= 2:
		return TaskBinary
	}
	return TaskMulticlass
}

// rankingMetrics are the metrics a task is ranked by, in preference: the
// first one any completed pipeline of the dataset has is the dataset's.
func rankingMetrics(rule BestRule, task string) []string {
	switch {
	case rule.Metric != "":
		return []string{rule.Metric}
	case task == TaskRegression:
		return []string{"rmse"}
	}
	return []string{"balanced_accuracy", "accuracy"}
}

// rankingPartitions: the configured partition, then the other of test and
// val (nirs4all runs without a test set score val only).
func rankingPartitions(rule BestRule) []string {
	switch rule.Partition {
	case "test":
		return []string{"test", "val"}
	case "val":
		return []string{"val", "test"}
	}
	return []string{rule.Partition}
}

// settleDataset decides the dataset's task, rescores what needs it from
// the stored predictions, sets the statuses, decides the ranking and
// stores it. It runs in the refresh transaction, before the best is picked.
func settleDataset(tx *backing.Tx, ds string, rule BestRule) (Ranking, error) {
	votes, err := loadVotes(tx, ds)
	if err != nil {
		return Ranking{}, fmt.Errorf("task of %s: %w", ds, err)
	}
	r := Ranking{}
	r.Task, r.TaskFrom = decideTask(votes)
	if err := rescore(tx, ds, r.Task); err != nil {
		return r, fmt.Errorf("rescore %s: %w", ds, err)
	}
	if err := settleStatus(tx, ds); err != nil {
		return r, fmt.Errorf("status of %s: %w", ds, err)
	}
	r.Metric, r.Partition = rankingMetrics(rule, r.Task)[0], rankingPartitions(rule)[0]
	found := false
	for _, part := range rankingPartitions(rule) {
		for _, m := range rankingMetrics(rule, r.Task) {
			err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM cat_scores s JOIN cat_pipelines p USING (dataset, pid)
				WHERE s.dataset = ? AND s.partition = ? AND s.metric = ? AND p.status = 'ok')`, ds, part, m).Scan(&found)
			if err != nil {
				return r, err
			}
			if found {
				r.Metric, r.Partition = m, part
				break
			}
		}
		if found {
			break
		}
	}
	_, err = tx.Exec(`INSERT INTO cat_datasets VALUES (?, ?, ?, ?, ?) ON CONFLICT (dataset) DO UPDATE
		SET task = excluded.task, task_from = excluded.task_from, metric = excluded.metric, partition = excluded.partition`,
		ds, r.Task, r.TaskFrom, r.Metric, r.Partition)
	return r, err
}

// settleStatus: a pipeline that did not fail is ok once it has a score,
// incomplete until then. Only rows whose status changes are written: a
// refresh runs several times a second while a session writes.
func settleStatus(tx *backing.Tx, ds string) error {
	const scored = `EXISTS (SELECT 1 FROM cat_scores s WHERE s.dataset = cat_pipelines.dataset AND s.pid = cat_pipelines.pid)`
	if _, err := tx.Exec(`UPDATE cat_pipelines SET status = 'ok' WHERE dataset = ? AND status = 'incomplete' AND `+scored, ds); err != nil {
		return err
	}
	_, err := tx.Exec(`UPDATE cat_pipelines SET status = 'incomplete' WHERE dataset = ? AND status = 'ok' AND NOT `+scored, ds)
	return err
}

// loadVotes counts what the dataset's pipelines, deleted ones included
// (their rows stay in the catalog and are ranked with the others), say of
// the task.
func loadVotes(tx *backing.Tx, ds string) (taskVotes, error) {
	v := taskVotes{declared: map[string]int{}, labels: map[string]int{}, named: map[string]int{}}
	rows, err := tx.Query(`SELECT declared_task, named_task, labels_task, task_type FROM cat_pipelines WHERE dataset = ?`, ds)
	if err != nil {
		return v, err
	}
	defer rows.Close()
	for rows.Next() {
		var declared, named, labels, own string
		if err := rows.Scan(&declared, &named, &labels, &own); err != nil {
			return v, err
		}
		if declared == "" && named == "" && labels == "" {
			named = own // a row from before these columns, whose folder is gone
		}
		for votes, t := range map[*map[string]int]string{&v.declared: declared, &v.named: named, &v.labels: labels} {
			if t != "" {
				(*votes)[t]++
			}
		}
	}
	return v, rows.Err()
}

// rescore recomputes, from the stored predictions, the derived scores of
// the dataset's pipelines that were last scored for another task (or not
// yet). A score metrics.json gives is never replaced by a derived one.
func rescore(tx *backing.Tx, ds, task string) error {
	rows, err := tx.Query(`SELECT pid FROM cat_pipelines WHERE dataset = ? AND scored_task != ?`, ds, task)
	if err != nil {
		return err
	}
	var pids []string
	for rows.Next() {
		var pid string
		if err := rows.Scan(&pid); err != nil {
			rows.Close()
			return err
		}
		pids = append(pids, pid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, pid := range pids {
		if err := rescorePipeline(tx, ds, pid, task); err != nil {
			return fmt.Errorf("%s: %w", pid, err)
		}
	}
	return nil
}

func rescorePipeline(tx *backing.Tx, ds, pid, task string) error {
	if _, err := tx.Exec(`DELETE FROM cat_scores WHERE dataset = ? AND pid = ? AND derived = 1`, ds, pid); err != nil {
		return err
	}
	preds, err := storedPredictions(tx, ds, pid)
	if err != nil {
		return err
	}
	for _, p := range preds {
		for m, v := range predictionScores(task, p) {
			if _, err := tx.Exec(`INSERT INTO cat_scores (dataset, pid, partition, metric, value, derived)
				VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT DO NOTHING`, ds, pid, p.Partition, m, v); err != nil {
				return err
			}
		}
	}
	_, err = tx.Exec(`UPDATE cat_pipelines SET scored_task = ? WHERE dataset = ? AND pid = ?`, task, ds, pid)
	return err
}

// storedPredictions reads a pipeline's predictions back from cat_predictions.
func storedPredictions(tx *backing.Tx, ds, pid string) ([]Prediction, error) {
	rows, err := tx.Query(`SELECT partition, y_true, y_pred FROM cat_predictions WHERE dataset = ? AND pid = ?`, ds, pid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Prediction
	for rows.Next() {
		var p Prediction
		var yt, yp []byte
		if err := rows.Scan(&p.Partition, &yt, &yp); err != nil {
			return nil, err
		}
		p.YTrue, p.YPred = decodeFloats(yt), decodeFloats(yp)
		out = append(out, p)
	}
	return out, rows.Err()
}
