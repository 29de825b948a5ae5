//go:build linux

package integration

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLiveConcurrentRunsCatalogDelete runs two nirs4all processes at once
// on different datasets at the mount root (the stand-in's concurrent
// mode). While they run, a folder once shown keeps its name (its number
// never changes); after they closed the store, every pipeline of
// store.sqlite is a folder numbered in nirs4all's creation order, the
// best file names the pipeline with the store's own lowest test RMSE, and
// DuckDB finds the live pipelines in catalog/predictions.parquet. Then
// nirs4all deletes one run: its folders go, and the catalog (CLI and
// Parquet) marks its pipelines run_deleted while the other dataset stays,
// and an archive made before keeps the deleted pipeline's content.
func TestLiveConcurrentRunsCatalogDelete(t *testing.T) {
	store := newStore(t)
	mnt := mountStore(t, store)
	datasets := []string{"wheat", "corn"}
	cmd := standinCmd(mnt, "concurrent", "--datasets", strings.Join(datasets, ","), "--pipelines", "4",
		"--train-ms", "40", "--run-name", "dual")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	shown := &shownFolders{mnt: mnt, datasets: datasets}
	deadline := time.After(2 * time.Minute)
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("stand-in: %v\n%s", err, out.String())
			}
			running = false
		case <-time.After(100 * time.Millisecond):
			shown.check(t, "while nirs4all runs")
		case <-deadline:
			t.Fatalf("the concurrent runs did not end\n%s", out.String())
		}
	}
	want := storePipelines(t, mnt)
	for _, ds := range datasets {
		if !waitFor(20*time.Second, func() bool { return len(pipelineDirs(mnt, ds)) == len(want[ds]) }) {
			t.Fatalf("after close runs/%s has %v, store.sqlite %d pipelines\n%s", ds, pipelineDirs(mnt, ds), len(want[ds]), logTail(store))
		}
	}
	// The folders appear at the commit of each pipeline row; their files
	// and the run's end follow in later commits, each projected after a
	// short lag. Every manifest showing the run completed means the
	// projection caught up with the closed store.
	if !waitFor(20*time.Second, func() bool { return runEndShown(t, mnt, datasets...) }) {
		t.Fatalf("after close, not every manifest.yaml shows the run completed\n%s", logTail(store))
	}
	shown.check(t, "after close")
	for _, ds := range datasets {
		checkCreationOrder(t, ds, pipelineDirs(mnt, ds), want[ds])
		checkLiveBest(t, mnt, ds)
		checkBestIsStoreBest(t, mnt, ds)
	}
	cat := filepath.Join(mnt, "catalog")
	parquetPipelines := func(ds string) map[string]string { // pipeline → run_deleted
		rows := duckRows(t, cat, fmt.Sprintf(`SELECT DISTINCT pipeline, run_deleted FROM 'predictions.parquet'
			WHERE dataset = '%s' ORDER BY pipeline`, ds))
		m := map[string]string{}
		for _, r := range rows {
			m[r[0]] = r[1]
		}
		return m
	}
	for _, ds := range datasets {
		got := parquetPipelines(ds)
		for _, name := range pipelineDirs(mnt, ds) {
			if got[name] != "false" {
				t.Errorf("predictions.parquet, dataset %s: pipeline %s has run_deleted %q, want a row with false (rows %v)", ds, name, got[name], got)
			}
		}
	}

	t.Logf("after close: wheat %v, corn %v", pipelineDirs(mnt, "wheat"), pipelineDirs(mnt, "corn"))

	// An archive of a live pipeline, made before nirs4all deletes it.
	gone := pipelineDirs(mnt, "wheat")
	archived := gone[0]
	preds := readFile(t, filepath.Join(mnt, "runs/wheat", archived, "predictions.csv"))
	said := strings.Fields(n4ws(t, store, "catalog", "archive", "runs/wheat/"+archived))
	if len(said) < 2 || said[0] != "archived" {
		t.Fatalf("n4ws catalog archive runs/wheat/%s: %q, want archived <path> ...", archived, said)
	}
	archive := said[1]

	// nirs4all deletes the wheat run.
	standin(t, mnt, "delete", "--run-name", "dual_wheat")
	if !waitFor(20*time.Second, func() bool { return len(pipelineDirs(mnt, "wheat")) == 0 }) {
		t.Fatalf("after nirs4all deleted the wheat run, runs/wheat still has %v", pipelineDirs(mnt, "wheat"))
	}
	got := parquetPipelines("wheat")
	for _, name := range gone {
		if r := catalogRow(t, store, "wheat", name); !r.RunDeleted {
			t.Errorf("catalog list wheat --all: %s = %+v, want run_deleted", name, r)
		}
		if got[name] != "true" {
			t.Errorf("predictions.parquet: wheat pipeline %s has run_deleted %q, want true", name, got[name])
		}
	}
	// The archive keeps the deleted pipeline's content (read with python's
	// zipfile through the mount).
	if got := py(t, `import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
sys.stdout.write(z.read(sys.argv[2] + "/predictions.csv").decode())`, filepath.Join(mnt, archive), archived); got != strings.TrimSpace(preds) {
		t.Errorf("%s: %s/predictions.csv after nirs4all deleted the run differs from the folder's before", archive, archived)
	}
	if n := len(pipelineDirs(mnt, "corn")); n != len(want["corn"]) {
		t.Errorf("deleting the wheat run left runs/corn with %d folders, want %d", n, len(want["corn"]))
	}
	for _, name := range pipelineDirs(mnt, "corn") {
		if r := catalogRow(t, store, "corn", name); r.RunDeleted {
			t.Errorf("catalog: corn pipeline %s marked run_deleted by the wheat run's deletion", name)
		}
	}
}

// storePipeline is one pipelines row, as nirs4all wrote it.
type storePipeline struct {
	name, status string
	testScore    float64 // of the avg (CV) or final (refit) test predictions; NaN if none
}

// storePipelines reads store.sqlite (through the mount, with python's
// sqlite3) per dataset, in nirs4all's creation order (created_at, then
// insertion order).
func storePipelines(t *testing.T, mnt string) map[string][]storePipeline {
	t.Helper()
	text := py(t, `import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA busy_timeout=5000")
for ds, name, status, score in c.execute("""SELECT p.dataset_name, p.name, p.status,
    (SELECT MIN(test_score) FROM predictions r WHERE r.pipeline_id = p.pipeline_id
     AND r.partition = 'test' AND r.fold_id IN ('avg', 'final'))
    FROM pipelines p ORDER BY p.created_at, p.rowid"""):
    print(ds, name, status, "nan" if score is None else repr(score))
c.close()`, filepath.Join(mnt, "store.sqlite"))
	out := map[string][]storePipeline{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) != 4 {
			continue
		}
		score, err := strconv.ParseFloat(f[3], 64)
		if err != nil {
			t.Fatalf("store.sqlite row %q: %v", line, err)
		}
		out[f[0]] = append(out[f[0]], storePipeline{name: f[1], status: f[2], testScore: score})
	}
	return out
}

// checkCreationOrder: the folders are numbered 1..n in the order nirs4all
// created the pipelines.
func checkCreationOrder(t *testing.T, ds string, dirs []string, pipes []storePipeline) {
	t.Helper()
	slices.Sort(dirs)
	var want []string
	for i, p := range pipes {
		want = append(want, fmt.Sprintf("%04d_%s", i+1, p.name))
	}
	if !slices.Equal(dirs, want) {
		t.Errorf("runs/%s: folders %v, want %v (store.sqlite's creation order)", ds, dirs, want)
	}
}

// checkBestIsStoreBest: best_<NNNN_name>.csv names a completed pipeline
// whose test RMSE, as nirs4all stored it, is the dataset's lowest.
func checkBestIsStoreBest(t *testing.T, mnt, ds string) {
	t.Helper()
	best := bestFiles(t, filepath.Join(mnt, "runs", ds))
	if len(best) != 1 {
		t.Fatalf("runs/%s: best files %v, want one", ds, best)
	}
	folder := strings.TrimSuffix(strings.TrimPrefix(best[0], "best_"), ".csv")
	_, name, _ := strings.Cut(folder, "_")
	lowest, chosen := math.Inf(1), math.NaN()
	for _, p := range storePipelines(t, mnt)[ds] {
		if p.status != "completed" || math.IsNaN(p.testScore) {
			continue
		}
		lowest = math.Min(lowest, p.testScore)
		if p.name == name {
			chosen = p.testScore
		}
	}
	t.Logf("runs/%s: %s, test RMSE %v, lowest in store.sqlite %v", ds, best[0], chosen, lowest)
	if math.IsNaN(chosen) || math.Abs(chosen-lowest) > 1e-6 {
		t.Errorf("runs/%s: %s names a pipeline of test RMSE %v in store.sqlite, the lowest is %v", ds, best[0], chosen, lowest)
	}
}

// shownFolders remembers every pipeline folder listed so far, to check
// that a folder once shown keeps its name: its number never changes.
type shownFolders struct {
	mnt      string
	datasets []string
	seen     map[string]map[string]bool // dataset → folder names
}

// check fails the test for a folder listed before and missing now, then
// remembers the current ones.
func (s *shownFolders) check(t *testing.T, when string) {
	t.Helper()
	if s.seen == nil {
		s.seen = map[string]map[string]bool{}
	}
	for _, ds := range s.datasets {
		cur := pipelineDirs(s.mnt, ds)
		for name := range s.seen[ds] {
			if !slices.Contains(cur, name) {
				t.Errorf("%s: runs/%s/%s was shown, now gone or renamed: %v", when, ds, name, cur)
			}
		}
		if s.seen[ds] == nil {
			s.seen[ds] = map[string]bool{}
		}
		for _, name := range cur {
			s.seen[ds][name] = true
		}
	}
}

// runEndShown: every pipeline folder's manifest.yaml shows its nirs4all
// run (store_run) completed.
func runEndShown(t *testing.T, mnt string, datasets ...string) bool {
	t.Helper()
	for _, ds := range datasets {
		for _, dir := range pipelineDirs(mnt, ds) {
			m, err := os.ReadFile(filepath.Join(mnt, "runs", ds, dir, "manifest.yaml"))
			if err != nil {
				return false
			}
			_, run, ok := strings.Cut(string(m), "\nstore_run:\n")
			if !ok || !strings.Contains(run, "\n    status: completed\n") {
				return false
			}
		}
	}
	return true
}

// TestLiveLegacyCheck: nirs4all refuses a folder with runs/*/*/manifest.yaml
// and no store.sqlite (the stand-in does the same check, shown here on a
// plain folder). A mount always has store.sqlite (seeded empty), so
// nirs4all opens a mount whose runs/ already holds pipeline folders copied
// in by hand: its pipelines are numbered after them, and the copied
// folders are left as they were.
func TestLiveLegacyCheck(t *testing.T) {
	// Pipeline folders as an older nirs4all wrote them: with manifest.yaml.
	src := filepath.Join(t.TempDir(), "wheat")
	for _, spec := range threeSpecs {
		p := makePipeline(t, src, spec)
		writeFile(t, filepath.Join(p, "manifest.yaml"), []byte("pipeline_id: "+spec.pid+"\ndataset: wheat\n"))
	}
	plain := t.TempDir()
	mkdirAll(t, filepath.Join(plain, "runs"))
	cpR(t, src, filepath.Join(plain, "runs"))
	if out, err := standinCmd(plain, "run", "--datasets", "wheat", "--pipelines", "1").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "Cannot open legacy filesystem workspace") {
		t.Fatalf("stand-in on a folder with runs/*/*/manifest.yaml and no store.sqlite: %v, want the legacy refusal\n%s", err, out)
	}

	store := newStore(t)
	mnt := mountStore(t, store)
	cpR(t, src, filepath.Join(mnt, "runs"))
	copied := pipelineDirs(mnt, "wheat")
	before := map[string]string{}
	for _, d := range copied {
		before[d] = treeSums(t, filepath.Join(mnt, "runs/wheat", d))
	}
	if fi, err := os.Stat(filepath.Join(mnt, "store.sqlite")); err != nil || fi.Size() != 0 {
		t.Fatalf("store.sqlite of the mount: %v, want an empty file", err)
	}
	standin(t, mnt, "run", "--datasets", "wheat", "--pipelines", "2")
	want := storePipelines(t, mnt)["wheat"]
	if len(want) != 3 { // 2 pipelines and the refit of the best
		t.Fatalf("store.sqlite after the run: %d wheat pipelines, want 3", len(want))
	}
	if !waitFor(20*time.Second, func() bool { return len(pipelineDirs(mnt, "wheat")) == len(copied)+len(want) }) {
		t.Fatalf("runs/wheat: %v, want the %d copied folders and %d of nirs4all\n%s", pipelineDirs(mnt, "wheat"), len(copied), len(want), logTail(store))
	}
	got := pipelineDirs(mnt, "wheat")
	slices.Sort(got)
	for i, p := range want {
		if name := fmt.Sprintf("%04d_%s", len(copied)+i+1, p.name); got[len(copied)+i] != name {
			t.Errorf("runs/wheat: nirs4all's pipeline %d is %s, want %s (after the copied folders)", i+1, got[len(copied)+i], name)
		}
	}
	for _, d := range copied {
		if sums := treeSums(t, filepath.Join(mnt, "runs/wheat", d)); sums != before[d] {
			t.Errorf("runs/wheat/%s changed after nirs4all's run:\n%s\nwas\n%s", d, sums, before[d])
		}
	}
	if len(bestFiles(t, filepath.Join(mnt, "runs/wheat"))) != 1 {
		t.Errorf("runs/wheat: best files %v, want one over the copied and the live pipelines", bestFiles(t, filepath.Join(mnt, "runs/wheat")))
	}
}

// snapshotChildren lists the PIDs of `n4ws snapshot-store` processes that
// read a store.sqlite below mnt.
func snapshotChildren(mnt string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if slices.Contains(args, "snapshot-store") && slices.Contains(args, filepath.Join(mnt, "store.sqlite")) {
			out = append(out, pid)
		}
	}
	return out
}
