package catalog

import (
	"reflect"
	"testing"
)

func listFixture() []PipelineRow {
	sc := func(kv ...any) map[string]map[string]float64 {
		out := map[string]map[string]float64{}
		for i := 0; i < len(kv); i += 3 {
			part, m, v := kv[i].(string), kv[i+1].(string), kv[i+2].(float64)
			if out[part] == nil {
				out[part] = map[string]float64{}
			}
			out[part][m] = v
		}
		return out
	}
	return []PipelineRow{
		{Dataset: "ds", PID: "0003_c_z", Number: 3, Model: "Ridge", TaskType: TaskRegression,
			Scores: sc("test", "rmse", 0.4, "test", "r2", 0.7, "val", "rmse", 0.2)},
		{Dataset: "ds", PID: "0001_a_x", Number: 1, Model: "PLS", TaskType: TaskRegression,
			Scores: sc("test", "rmse", 0.5, "test", "r2", 0.9)},
		{Dataset: "ds", PID: "0004_d_w", Number: 4, Model: "SVR", TaskType: TaskRegression, Scores: sc()},
		{Dataset: "ds", PID: "0002_b_y", Number: 2, Model: "PLS", TaskType: TaskRegression,
			Scores: sc("test", "rmse", 0.3, "test", "r2", 0.8, "val", "rmse", 0.6)},
	}
}

func pids(rows []PipelineRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.PID)
	}
	return out
}

func TestSortPipelines(t *testing.T) {
	for _, tc := range []struct {
		key  string
		rule BestRule
		want []string
	}{
		{"number", BestRule{Partition: "test"}, []string{"0001_a_x", "0002_b_y", "0003_c_z", "0004_d_w"}},
		{"", BestRule{Partition: "test"}, []string{"0001_a_x", "0002_b_y", "0003_c_z", "0004_d_w"}},
		{"test_rmse", BestRule{Partition: "test"}, []string{"0002_b_y", "0003_c_z", "0001_a_x", "0004_d_w"}},
		{"test_r2", BestRule{Partition: "test"}, []string{"0001_a_x", "0002_b_y", "0003_c_z", "0004_d_w"}},
		{"val_rmse", BestRule{Partition: "test"}, []string{"0003_c_z", "0002_b_y", "0001_a_x", "0004_d_w"}},
		{"model", BestRule{Partition: "test"}, []string{"0001_a_x", "0002_b_y", "0003_c_z", "0004_d_w"}},
		{"score", BestRule{Partition: "val"}, []string{"0003_c_z", "0001_a_x", "0002_b_y", "0004_d_w"}},
		{"score", BestRule{Partition: "test", Metric: "r2"}, []string{"0001_a_x", "0002_b_y", "0003_c_z", "0004_d_w"}},
	} {
		rows := listFixture()
		if err := SortPipelines(rows, tc.key, tc.rule); err != nil {
			t.Errorf("sort %q: %v", tc.key, err)
			continue
		}
		if got := pids(rows); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("sort %q (rule %+v):\n got %v\nwant %v", tc.key, tc.rule, got, tc.want)
		}
	}
	for _, bad := range []string{"rmse", "foo_rmse", "test_", "bogus"} {
		if err := SortPipelines(listFixture(), bad, BestRule{}); err == nil {
			t.Errorf("sort %q: no error", bad)
		}
	}
}

func TestKnownMetrics(t *testing.T) {
	f := newStatusFixture(t)
	f.write("runs/ds/0001_a_x/metrics.json", `{"test": {"rmse": 0.5, "custom_loss": 1.5}}`)
	f.refresh()
	got, err := f.cat.KnownMetrics(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"rmse", "r2", "balanced_accuracy", "custom_loss"} {
		if !contains(got, m) {
			t.Errorf("KnownMetrics = %v: %s missing", got, m)
		}
	}
	if !LowerIsBetter("custom_loss") || LowerIsBetter("r2") || !LowerIsBetter("rmse") || LowerIsBetter("accuracy") {
		t.Error("LowerIsBetter gives a wrong direction")
	}
}
