package nirs4all

import (
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseMetricsDesignExample(t *testing.T) {
	design, err := os.ReadFile("testdata/metrics_design.json")
	if err != nil {
		t.Fatal(err)
	}
	want := Metrics{
		TaskType: TaskRegression,
		Scores: map[string]map[string]float64{
			"train": {"rmse": 0.21, "mae": 0.16, "r2": 0.97},
			"val":   {"rmse": 0.35, "mae": 0.27, "r2": 0.93},
			"test":  {"rmse": 0.41, "mae": 0.3, "r2": 0.91},
		},
		Samples: map[string]int{"train": 120, "val": 40, "test": 40},
		CVFolds: 5,
	}
	got, err := ParseMetrics(design)
	if err != nil {
		t.Fatalf("ParseMetrics: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseMetrics(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Metrics
	}{
		{"names lowercased, unknown keys and non-numbers ignored",
			`{"test": {" RMSE ": 0.5, "R2": 0.9, "note": "x", "flag": true, "n": null, "deep": {}, "samples": 20}, "extra": [1]}`,
			Metrics{TaskType: TaskRegression, Scores: map[string]map[string]float64{"test": {"rmse": 0.5, "r2": 0.9}},
				Samples: map[string]int{"test": 20}}},
		{"Python NaN and Infinity literals are skipped",
			"{\"test\": {\"rmse\": NaN, \"mae\": 0.3, \"r2\": -Infinity}, \"val\": {\"r2\": Infinity}, \"note\": \"NaN \\\"Infinity\\\" stays\"}",
			Metrics{TaskType: TaskRegression, Scores: map[string]map[string]float64{"test": {"mae": 0.3}}}},
		{"out of range number is skipped", `{"test": {"rmse": 1e400, "mse": 4}}`,
			Metrics{TaskType: TaskRegression, Scores: map[string]map[string]float64{"test": {"mse": 4}}}},
		{"lowercase spelling wins whatever the order", `{"test": {"RMSE": 1, "rmse": 2, "Rmse": 3, "rmse ": 4}}`,
			Metrics{TaskType: TaskRegression, Scores: map[string]map[string]float64{"test": {"rmse": 2}}}},
		{"classification inferred as multiclass", `{"test": {"accuracy": 0.9, "balanced_accuracy": 0.85}}`,
			Metrics{TaskType: TaskMulticlass, Scores: map[string]map[string]float64{"test": {"accuracy": 0.9, "balanced_accuracy": 0.85}}}},
		{"task_type given", `{"task_type": "binary_classification", "test": {"accuracy": 0.9}}`,
			Metrics{TaskType: TaskBinary, TaskSaid: true, Scores: map[string]map[string]float64{"test": {"accuracy": 0.9}}}},
		{"task_type short form", `{"task_type": " Classification ", "val": {"f1": 0.7}}`,
			Metrics{TaskType: TaskMulticlass, TaskSaid: true, Scores: map[string]map[string]float64{"val": {"f1": 0.7}}}},
		{"unknown task_type inferred", `{"task_type": 3, "train": {"r2": 0.7}}`,
			Metrics{TaskType: TaskRegression, Scores: map[string]map[string]float64{"train": {"r2": 0.7}}}},
		{"regression metric in any partition decides", `{"train": {"accuracy": 1}, "val": {"mae": 2}}`,
			Metrics{TaskType: TaskRegression, Scores: map[string]map[string]float64{"train": {"accuracy": 1}, "val": {"mae": 2}}}},
		{"bad samples dropped, bad partition skipped", `{"test": {"rmse": 1, "samples": 2.5}, "val": [1], "train": {"samples": -1, "rmse": 2}}`,
			Metrics{TaskType: TaskRegression, Scores: map[string]map[string]float64{"test": {"rmse": 1}, "train": {"rmse": 2}}}},
		{"cv folds from list", `{"test": {"rmse": 1}, "cross_validation": {"folds": [{}, {}, {}]}}`,
			Metrics{TaskType: TaskRegression, Scores: map[string]map[string]float64{"test": {"rmse": 1}}, CVFolds: 3}},
		{"cv folds from fold_results", `{"test": {"rmse": 1}, "cross_validation": {"fold_results": [{"fold": 0}, {"fold": 1}]}}`,
			Metrics{TaskType: TaskRegression, Scores: map[string]map[string]float64{"test": {"rmse": 1}}, CVFolds: 2}},
		{"cv folds of a wrong type ignored", `{"test": {"rmse": 1}, "cross_validation": {"folds": "five"}}`,
			Metrics{TaskType: TaskRegression, Scores: map[string]map[string]float64{"test": {"rmse": 1}}}},
		{"BOM and surrounding space", "\xef\xbb\xbf \n{\"test\": {\"rmse\": 1}}\n\n",
			Metrics{TaskType: TaskRegression, Scores: map[string]map[string]float64{"test": {"rmse": 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMetrics([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseMetrics: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseMetricsErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty file"},
		{"blank", " \n\t", "empty file"},
		{"truncated", `{"test": {"rmse": 1`, "unexpected end"},
		{"syntax error names its line", "{\n\"test\": {\n\"rmse\": 1,,\n}}", "line 3"},
		{"array", `[{"test": {"rmse": 1}}]`, "want a JSON object, got an array"},
		{"string", `"metrics"`, "want a JSON object, got a string"},
		{"null", `null`, "want a JSON object, got null"},
		{"two values", `{"test": {"rmse": 1}} {}`, "data after the top-level value"},
		{"trailing garbage", `{"test": {"rmse": 1}} x`, "data after the top-level value"},
		{"no partitions", `{"rmse": 0.4, "task_type": "regression"}`, "no usable score"},
		{"numbers as strings", `{"test": {"rmse": "0.4"}}`, "test.rmse is not a finite number"},
		{"only NaN", `{"test": {"rmse": NaN}}`, "test.rmse is not a finite number"},
		{"partition of wrong type", `{"test": 0.4}`, "test is a number, not an object"},
		{"only samples", `{"test": {"samples": 10}}`, "no usable score"},
		{"empty object", `{}`, "no usable score"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMetrics([]byte(tt.in))
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "metrics.json" {
				t.Fatalf("err = %v, want a *ParseError for metrics.json", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestPythonJSONLiterals(t *testing.T) {
	tests := []struct{ in, want string }{
		{`[NaN, Infinity, -Infinity, 1]`, `[null, null, null, 1]`},
		{`{"a": "NaN", "b": "x\"NaN\\", "c": NaN}`, `{"a": "NaN", "b": "x\"NaN\\", "c": null}`},
		{`{"Infinity": -Infinity}`, `{"Infinity": null}`},
		{`[1, 2]`, `[1, 2]`},
	}
	for _, tt := range tests {
		if got := string(pythonJSONLiterals([]byte(tt.in))); got != tt.want {
			t.Errorf("pythonJSONLiterals(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// FuzzParseMetrics checks that no input panics and that a success holds
// only what the Metrics doc promises. Run: go test -fuzz=FuzzParseMetrics.
func FuzzParseMetrics(f *testing.F) {
	for _, seed := range []string{
		`{"test": {"rmse": 0.4, "samples": 20}}`,
		`{"task_type": "binary_classification", "train": {"accuracy": 0.9}, "val": {"f1": NaN}}`,
		`{"test": {"RMSE": 1e400, "r2": -Infinity}, "cross_validation": {"folds": 5}}`,
		`{"val": {"mae": "x"}, "cross_validation": {"fold_results": [1, 2]}}`,
		`[1]`, `{`, ``, "\xef\xbb\xbf{}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMetrics(data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		if len(m.Scores) == 0 || m.CVFolds < 0 {
			t.Fatalf("success without scores or with negative folds: %+v", m)
		}
		switch m.TaskType {
		case TaskRegression, TaskBinary, TaskMulticlass:
		default:
			t.Fatalf("task type %q", m.TaskType)
		}
		for part, scores := range m.Scores {
			if part != "train" && part != "val" && part != "test" || len(scores) == 0 {
				t.Fatalf("partition %q with %d scores", part, len(scores))
			}
			for name, v := range scores {
				if name != strings.ToLower(name) || name == "samples" || math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%s.%s = %v", part, name, v)
				}
			}
		}
		for part, n := range m.Samples {
			if n < 0 || (part != "train" && part != "val" && part != "test") {
				t.Fatalf("samples %s = %d", part, n)
			}
		}
	})
}
