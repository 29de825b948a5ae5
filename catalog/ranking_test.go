package catalog

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

func TestDecideTask(t *testing.T) {
	v := func(kv ...any) map[string]int {
		m := map[string]int{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(int)
		}
		return m
	}
	for _, tc := range []struct {
		name             string
		votes            taskVotes
		wantTask, wantBy string
	}{
		{"declared majority", taskVotes{declared: v(TaskMulticlass, 4, TaskRegression, 1),
			labels: v(TaskRegression, 6)}, TaskMulticlass, FromDeclared},
		{"binary and multiclass are one side", taskVotes{declared: v(TaskBinary, 2, TaskMulticlass, 1, TaskRegression, 2)},
			TaskBinary, FromDeclared},
		{"declared tie: metric names", taskVotes{declared: v(TaskBinary, 1, TaskRegression, 1),
			named: v(TaskRegression, 3), labels: v(TaskBinary, 5)}, TaskRegression, FromMetrics},
		{"none declared: labels", taskVotes{labels: v(TaskMulticlass, 3, TaskRegression, 1)}, TaskMulticlass, FromLabels},
		{"ties everywhere: default", taskVotes{declared: v(TaskRegression, 1, TaskMulticlass, 1),
			labels: v(TaskRegression, 2, TaskBinary, 2)}, TaskRegression, FromDefault},
		{"nothing: default", taskVotes{}, TaskRegression, FromDefault},
		{"classes tie: multiclass", taskVotes{labels: v(TaskBinary, 2, TaskMulticlass, 2)}, TaskMulticlass, FromLabels},
	} {
		task, by := decideTask(tc.votes)
		if task != tc.wantTask || by != tc.wantBy {
			t.Errorf("%s: %s from %s, want %s from %s", tc.name, task, by, tc.wantTask, tc.wantBy)
		}
	}
}

func TestLabelsTask(t *testing.T) {
	p := func(ys ...float64) []Prediction { return []Prediction{{Partition: "test", YTrue: ys}} }
	many := make([]float64, 30)
	for i := range many {
		many[i] = float64(i)
	}
	for _, tc := range []struct {
		name  string
		preds []Prediction
		want  string
	}{
		{"two integer labels", p(0, 1, 1, 0), TaskBinary},
		{"three integer labels", p(0, 1, 2, 2), TaskMulticlass},
		{"labels over partitions", append(p(1, 2), Prediction{Partition: "val", YTrue: []float64{3}}), TaskMulticlass},
		{"a fraction", p(1, 2, 2.5), TaskRegression},
		{"too many distinct integers", p(many...), TaskRegression},
		{"no predictions", nil, ""},
	} {
		if got := labelsTask(tc.preds); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// classPipeline writes a classification pipeline: metrics.json (declared
// task, or malformed when bacc < 0), predictions.csv with integer labels
// of which wrong test rows are mispredicted.
func (f *statusFixture) classPipeline(ds, pid string, bacc float64, wrong int) {
	f.t.Helper()
	dir := "runs/" + ds + "/" + pid + "/"
	if bacc < 0 {
		f.write(dir+"metrics.json", `{"test": {`)
	} else {
		f.write(dir+"metrics.json", fmt.Sprintf(`{"task_type": "classification", "test": {"balanced_accuracy": %g}}`, bacc))
	}
	var csv strings.Builder
	csv.WriteString("y_true,y_pred,partition\n")
	for i := range 6 {
		pred := i % 3
		if i < wrong {
			pred = (pred + 1) % 3
		}
		fmt.Fprintf(&csv, "%d,%d,test\n", i%3, pred)
	}
	f.write(dir+"predictions.csv", csv.String())
}

func (f *statusFixture) best(ds string) (*PipelineRow, Score) {
	f.t.Helper()
	p, s, err := f.cat.BestOf(f.ctx, ds)
	if err != nil {
		f.t.Fatalf("BestOf %s: %v", ds, err)
	}
	return p, s
}

func (f *statusFixture) scores(ds, pid string) map[string]map[string]float64 {
	f.t.Helper()
	rows, err := f.cat.Pipelines(f.ctx, ds)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, r := range rows {
		if r.PID == pid {
			return r.Scores
		}
	}
	f.t.Fatalf("no pipeline %s/%s", ds, pid)
	return nil
}

// TestBestOneMetric is issue 9's report: the malformed pipeline is scored
// as classification and the best is the highest balanced accuracy.
func TestBestOneMetric(t *testing.T) {
	f := newStatusFixture(t)
	f.classPipeline("cls", "0001_a", 0.60, 0)
	f.classPipeline("cls", "0002_b", 0.82, 0)
	f.classPipeline("cls", "0003_c", -1, 2) // malformed: 2/3 from its predictions
	f.classPipeline("cls", "0004_d", 0.77, 0)
	f.classPipeline("cls", "0005_e", 0.99, 0)
	f.write("runs/cls/0005_e/error.log", "Traceback\n")
	f.classPipeline("cls", "0006_f", 0.65, 0)
	f.refresh()

	p, s := f.best("cls")
	if p.PID != "0002_b" || s.Metric != "balanced_accuracy" || s.Partition != "test" || s.Value != 0.82 {
		t.Errorf("best = %s by %+v, want 0002_b by test balanced_accuracy 0.82", p.PID, s)
	}
	want := Ranking{Task: TaskMulticlass, TaskFrom: FromDeclared, Metric: "balanced_accuracy", Partition: "test"}
	if p.Ranking != want || p.TaskType != TaskMulticlass {
		t.Errorf("ranking = %+v (task %s), want %+v", p.Ranking, p.TaskType, want)
	}
	sc := f.scores("cls", "0003_c")
	if _, ok := sc["test"]["rmse"]; ok || sc["test"]["balanced_accuracy"] < 0.66 || sc["test"]["balanced_accuracy"] > 0.67 {
		t.Errorf("0003_c scores = %v, want balanced_accuracy 2/3 and no rmse", sc)
	}
}

// TestTaskChangeRescores: a dataset's task follows its pipelines, and the
// scores derived from predictions follow the task.
func TestTaskChangeRescores(t *testing.T) {
	f := newStatusFixture(t)
	f.write("runs/ds/0001_a/predictions.csv", "y_true,y_pred,partition\n1,1,test\n2,1,test\n1,1,test\n")
	f.refresh()
	p, s := f.best("ds")
	if p.Ranking.Task != TaskBinary || p.Ranking.TaskFrom != FromLabels || s.Metric != "balanced_accuracy" {
		t.Fatalf("labels only: ranking %+v, score %+v, want binary from labels by balanced_accuracy", p.Ranking, s)
	}
	f.pipeline("ds", "0002_b", 0.5, 0.8) // declares nothing, scores rmse: regression by its metric names
	f.refresh()
	p, s = f.best("ds")
	if p.Ranking.Task != TaskRegression || p.Ranking.TaskFrom != FromMetrics || s.Metric != "rmse" {
		t.Fatalf("with an rmse: ranking %+v, want regression from metric names", p.Ranking)
	}
	sc := f.scores("ds", "0001_a")
	if _, ok := sc["test"]["balanced_accuracy"]; ok || sc["test"]["rmse"] == 0 {
		t.Errorf("0001_a after the task changed: %v, want rmse and no balanced_accuracy", sc)
	}
	if p.PID != "0002_b" || s.Value != 0.5 { // 0001_a: rmse sqrt(1/3)
		t.Errorf("best = %s %+v, want 0002_b by rmse 0.5", p.PID, s)
	}
}

// TestRankingPartitionAndOverride: with no test scores the val partition
// ranks; best.metric overrides the task's metric for every dataset.
func TestRankingPartitionAndOverride(t *testing.T) {
	f := newStatusFixture(t)
	f.write("runs/v/0001_a/metrics.json", `{"task_type": "regression", "val": {"rmse": 0.4, "r2": 0.9}}`)
	f.write("runs/v/0001_a/predictions.csv", "y_true,y_pred,partition\n1.5,1.25,val\n")
	f.write("runs/v/0002_b/metrics.json", `{"task_type": "regression", "val": {"rmse": 0.3, "r2": 0.5}}`)
	f.write("runs/v/0002_b/predictions.csv", "y_true,y_pred,partition\n1.5,1.75,val\n")
	f.refresh()
	p, s := f.best("v")
	if p.PID != "0002_b" || s.Partition != "val" || s.Metric != "rmse" {
		t.Errorf("best = %s by %+v, want 0002_b by val rmse", p.PID, s)
	}
	if err := f.cat.SetConfig(f.ctx, "best.metric", "r2"); err != nil {
		t.Fatal(err)
	}
	p, s = f.best("v")
	if p.PID != "0001_a" || s.Metric != "r2" || p.Ranking.Metric != "r2" {
		t.Errorf("best.metric r2: best = %s by %+v, want 0001_a by val r2", p.PID, s)
	}
}

// TestMigrationSettlesOldRows: schema 2 over a populated schema 1 keeps
// the rows of deleted runs and ranks their dataset on the first refresh.
func TestMigrationSettlesOldRows(t *testing.T) {
	ctx := context.Background()
	s := backingtest.NewStore(t)
	if err := s.EnsureSchema(ctx, "catalog", migrations[:1]); err != nil {
		t.Fatal(err)
	}
	err := s.Update(ctx, func(tx *backing.Tx) error {
		for _, q := range []string{
			`INSERT INTO cat_pipelines (dataset, pid, number, name, hash, status, task_type, pred_size, first_seen_ns, updated_ns)
				VALUES ('old', '0001_a', 1, '', 'a', 'ok', 'regression', 10, 1, 1)`,
			`INSERT INTO cat_scores VALUES ('old', '0001_a', 'test', 'rmse', 0.25)`,
		} {
			if _, err := tx.Exec(q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &statusFixture{t: t, ctx: ctx, s: s}
	if f.cat, err = Open(ctx, s, Options{}); err != nil {
		t.Fatal(err)
	}
	f.refresh()
	rows, err := f.cat.Pipelines(ctx, "old")
	if err != nil || len(rows) != 1 {
		t.Fatalf("Pipelines(old) = %v, %v", rows, err)
	}
	want := Ranking{Task: TaskRegression, TaskFrom: FromMetrics, Metric: "rmse", Partition: "test"}
	if rows[0].Ranking != want {
		t.Errorf("ranking of a deleted run's dataset = %+v, want %+v", rows[0].Ranking, want)
	}
	if sc, ok := (BestRule{}).Pick(&rows[0]); !ok || sc.Value != 0.25 {
		t.Errorf("score = %+v %v, want rmse 0.25", sc, ok)
	}
}

// TestReingest: the 'reingest' mark the migration sets makes the next
// refresh read every pipeline folder again, though none changed: scores
// that older versions derived with the wrong task are replaced.
func TestReingest(t *testing.T) {
	f := newStatusFixture(t)
	for _, pid := range []string{"0001_a", "0002_b", "0003_c"} {
		f.classPipeline("cls", pid, 0.7, 0)
	}
	f.classPipeline("cls", "0004_d", -1, 0) // malformed, every prediction right
	f.refresh()
	// What version 1 stored for 0004_d: its predictions scored as regression,
	// indistinguishable from a metrics.json score.
	err := f.s.Update(f.ctx, func(tx *backing.Tx) error {
		for _, q := range []string{
			`DELETE FROM cat_scores WHERE pid = '0004_d'`,
			`INSERT INTO cat_scores VALUES ('cls', '0004_d', 'test', 'rmse', 0, 0)`,
			`INSERT INTO cat_state VALUES ('reingest', 1)`,
		} {
			if _, err := tx.Exec(q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.refresh()
	sc := f.scores("cls", "0004_d")
	if _, ok := sc["test"]["rmse"]; ok || sc["test"]["balanced_accuracy"] != 1 {
		t.Errorf("0004_d after reingest: %v, want balanced_accuracy 1 and no rmse", sc)
	}
	if p, _ := f.best("cls"); p.PID != "0004_d" {
		t.Errorf("best = %s, want 0004_d", p.PID)
	}
	var left int
	if err := f.s.Reader().QueryRow(`SELECT count(*) FROM cat_state WHERE key = 'reingest'`).Scan(&left); err != nil || left != 0 {
		t.Errorf("reingest still asked for after a refresh (%d, %v)", left, err)
	}
}
