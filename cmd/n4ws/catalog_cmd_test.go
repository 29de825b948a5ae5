package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// cliStore creates a store holding a dataset of three pipelines (0002 is
// the best by test rmse, 0001 by test r2), a failed one and a stray folder,
// written without a mount, as the demo command does.
func cliStore(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	if _, err := backing.Init(ctx, dir); err != nil {
		t.Fatal(err)
	}
	s, err := backing.Open(ctx, dir, backing.Options{LogChanges: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	write := func(p, content string) {
		if _, err := s.WriteFile(ctx, p, strings.NewReader(content), 0o644, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []struct {
		pid      string
		rmse, r2 float64
	}{{"0001_a_x", 0.5, 0.95}, {"0002_b_y", 0.3, 0.8}, {"0003_c_z", 0.4, 0.7}, {"0007_bad_w", 0.1, 0.99}} {
		d := "runs/ds/" + p.pid + "/"
		write(d+"metrics.json", fmt.Sprintf(`{"test": {"rmse": %g, "r2": %g}}`, p.rmse, p.r2))
		write(d+"predictions.csv", fmt.Sprintf("y_true,y_pred\n1,%g\n", 1+p.rmse))
		write(d+"pipeline.json", `["sklearn.cross_decomposition._pls.PLSRegression"]`)
	}
	write("runs/ds/0007_bad_w/error.log", "boom\n")
	write("runs/ds/0008_broken_v/metrics.json", "{")
	if _, err := s.MkdirAll(ctx, "runs/ds/scratch", 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cli runs the n4ws command line in this process.
func cli(store string, args ...string) (string, error) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"--store", store}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func mustCLI(t *testing.T, store string, args ...string) string {
	t.Helper()
	out, err := cli(store, args...)
	if err != nil {
		t.Fatalf("n4ws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func TestCLICatalogCommands(t *testing.T) {
	store := cliStore(t)
	if got := mustCLI(t, store, "runs", "next-id", "ds"); got != "0009\n" {
		t.Errorf("runs next-id ds = %q, want 0009", got)
	}
	if got := mustCLI(t, store, "runs", "next-id", "new"); got != "0001\n" {
		t.Errorf("runs next-id new = %q, want 0001", got)
	}

	var best map[string]any
	if err := json.Unmarshal([]byte(mustCLI(t, store, "catalog", "best", "ds", "--json")), &best); err != nil {
		t.Fatal(err)
	}
	if best["pipeline"] != "0002_b_y" || best["test_rmse"] != 0.3 || best["test_r2"] != 0.8 ||
		best["path"] != "runs/ds/0002_b_y" || best["best_file"] != "runs/ds/best_0002_b_y.csv" {
		t.Errorf("catalog best ds --json = %v", best)
	}
	text := mustCLI(t, store, "catalog", "best", "ds")
	for _, want := range []string{"0002_b_y", "test rmse", "0.3", "lower is better", "runs/ds/best_0002_b_y.csv"} {
		if !strings.Contains(text, want) {
			t.Errorf("catalog best ds lacks %q:\n%s", want, text)
		}
	}

	list := mustCLI(t, store, "catalog", "list", "ds", "--sort", "test_r2")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "PIPELINE") || !strings.HasPrefix(lines[1], "0007_bad_w") ||
		!strings.HasPrefix(lines[2], "0001_a_x") || !strings.Contains(lines[3], "best") {
		t.Errorf("catalog list ds --sort test_r2:\n%s", list)
	}
	if _, err := cli(store, "catalog", "list", "ds", "--sort", "colour"); err == nil {
		t.Error("catalog list --sort colour: no error")
	}

	var st struct {
		Datasets []struct {
			Dataset            string
			Pipelines, OK      int
			Failed, Incomplete int
			Best               string
		}
		Errors       []struct{ File, Reason string }
		NotPipelines []string `json:"not_pipeline_folders"`
		Pending      []string `json:"pending_ingestion"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, store, "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Datasets) != 1 || st.Datasets[0].Pipelines != 5 || st.Datasets[0].OK != 3 || st.Datasets[0].Failed != 1 ||
		st.Datasets[0].Incomplete != 1 || st.Datasets[0].Best != "0002_b_y" {
		t.Errorf("status datasets = %+v", st.Datasets)
	}
	if len(st.Errors) != 1 || st.Errors[0].File != "runs/ds/0008_broken_v/metrics.json" || st.Errors[0].Reason == "" {
		t.Errorf("status errors = %+v", st.Errors)
	}
	if len(st.NotPipelines) != 1 || st.NotPipelines[0] != "runs/ds/scratch" || len(st.Pending) != 0 {
		t.Errorf("status stray = %v, pending = %v", st.NotPipelines, st.Pending)
	}

	mustCLI(t, store, "config", "set", "best.metric", "r2")
	if got := mustCLI(t, store, "config", "get", "best.metric"); got != "r2\n" {
		t.Errorf("config get best.metric = %q", got)
	}
	if text := mustCLI(t, store, "catalog", "best", "ds"); !strings.Contains(text, "0001_a_x") || !strings.Contains(text, "higher is better") {
		t.Errorf("catalog best ds after best.metric r2:\n%s", text)
	}
	for _, bad := range [][]string{
		{"config", "set", "best.colour", "x"},
		{"config", "set", "best.partition", "all"},
		{"config", "set", "best.metric", "bogus"},
		{"config", "get", "nope"},
		{"catalog", "best", "nope"},
		{"catalog", "list", "nope"},
		{"catalog", "best", "../x"},
		{"runs", "next-id", "a/b"},
	} {
		if out, err := cli(store, bad...); err == nil {
			t.Errorf("n4ws %s: no error\n%s", strings.Join(bad, " "), out)
		}
	}
	if _, err := cli(store, "catalog", "best", "nope"); err == nil || !strings.Contains(err.Error(), `unknown dataset "nope"`) {
		t.Errorf("catalog best nope: %v", err)
	}
}
