//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// scaleRefresh measures what one new pipeline costs the computed files:
// it reads them all once (so the mount holds them rendered), writes one
// new pipeline folder (number num, the best score) through the mount, then
// times the first read of the dataset's best file, of another dataset's
// run_summary.json, of each catalog/*.parquet file and of the three
// workspace-wide reports.
func scaleRefresh(ctx context.Context, m *mount, ds string) error {
	runs := filepath.Join(m.dir, "runs")
	// A reused store holds the pipeline an earlier run added: remove it,
	// so that adding it again is the same change.
	earlier, _ := filepath.Glob(filepath.Join(runs, ds, "*_pls_new"))
	for _, p := range earlier {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	num, err := nextPipelineNumber(filepath.Join(runs, ds))
	if err != nil {
		return err
	}
	parquets, _ := filepath.Glob(filepath.Join(m.dir, "catalog", "*.parquet"))
	other := filepath.Join(runs, "ds001", "run_summary.json")
	warm := append([]string{filepath.Join(runs, ds, "run_summary.json"), other}, parquets...)
	for _, p := range warm {
		if _, err := readAll(p); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	reports := []string{
		filepath.Join(m.dir, "catalog", "reports", "global_performance.html"),
		filepath.Join(m.dir, "catalog", "reports", "dataset_history", ds+".html"),
		filepath.Join(m.dir, "exports", "session_reports", ds+".html"),
	}
	// Read once before the change (the find may have drawn them already),
	// so that the read after it times the change alone.
	if err := timeReads(m, "the reports before it", reports); err != nil {
		return err
	}
	if err := writeBestPipeline(filepath.Join(runs, ds), num); err != nil {
		return err
	}
	start := time.Now()
	best := filepath.Join(runs, ds, fmt.Sprintf("best_%04d_pls_new.csv", num))
	if _, err := readAll(best); err != nil {
		return fmt.Errorf("the new best: %w", err)
	}
	fmt.Printf("scale: after one new pipeline in %s: %s read in %.0f ms", ds, filepath.Base(best), msSince(start))
	if _, err := os.Stat(other); err == nil {
		start = time.Now()
		if _, err := readAll(other); err != nil {
			return err
		}
		fmt.Printf("; ds001/run_summary.json %.0f ms", msSince(start))
	}
	// stat is the refresh (a computed file's size is exact, so the mount
	// renders it to answer); the read adds moving its bytes through FUSE.
	for _, p := range parquets {
		start = time.Now()
		if _, err := os.Stat(p); err != nil {
			return err
		}
		statMs := msSince(start)
		n, err := readAll(p)
		if err != nil {
			return err
		}
		fmt.Printf("; %s (%.1f MB) stat %.0f ms, read %.0f ms", filepath.Base(p), float64(n)/1e6, statMs, msSince(start))
	}
	fmt.Println()
	// After the change only the changed dataset's part of each report is
	// drawn again (catalog.EachDataset).
	if err := timeReads(m, "the reports after it", reports); err != nil {
		return err
	}
	return nil
}

// timeReads reads each of paths (files below the mount) whole and prints
// how long each took, on one line.
func timeReads(m *mount, label string, paths []string) error {
	fmt.Printf("scale: %s:", label)
	for _, p := range paths {
		start := time.Now()
		n, err := readAll(p)
		if err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		name, _ := filepath.Rel(m.dir, p)
		fmt.Printf(" %s (%.1f MB) %.0f ms;", name, float64(n)/1e6, msSince(start))
	}
	fmt.Println()
	return nil
}

// writeBestPipeline writes pipeline folder num of dataset dir through the
// mount, with a test rmse below every generated one, so it becomes the best.
func writeBestPipeline(dir string, num int) error {
	folder := filepath.Join(dir, fmt.Sprintf("%04d_pls_new", num))
	if err := os.Mkdir(folder, 0o755); err != nil {
		return err
	}
	var preds strings.Builder
	preds.WriteString("sample_id,y_true,y_pred,partition\n")
	for s := range genSamples {
		fmt.Fprintf(&preds, "S%04d,%d.00,%d.01,%s\n", s, s, s, []string{"train", "val", "test"}[s%3])
	}
	files := map[string]string{
		"pipeline.json":   fmt.Sprintf(`{"id": "%04d", "status": "completed", "created_at": "2026-03-02T10:00:00Z"}`, num),
		"manifest.yaml":   fmt.Sprintf("pipeline_id: %04d\ndataset: %s\n", num, filepath.Base(dir)),
		"metrics.json":    `{"task_type": "regression", "test": {"rmse": 0.00001, "r2": 0.99, "samples": 20}, "val": {"rmse": 0.00001, "r2": 0.99, "samples": 20}}`,
		"predictions.csv": preds.String(),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(folder, name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// nextPipelineNumber is the number after the highest of dir's pipeline
// folders (a reused store already has the one an earlier run added).
func nextPipelineNumber(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	last := 0
	for _, e := range ents {
		if n, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0]); err == nil && e.IsDir() {
			last = max(last, n)
		}
	}
	if last >= 9999 {
		return 0, fmt.Errorf("%s: no pipeline number left", dir)
	}
	return last + 1, nil
}

func readAll(p string) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.Copy(io.Discard, f)
}
