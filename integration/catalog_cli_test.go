//go:build linux

package integration

import (
	"path/filepath"
	"strings"
	"testing"
)

// The catalog's settings and CLI, and the determinism of computed files
// (continues catalog_test.go).

// TestConfigBestRule: n4ws config set changes the best file at once.
func TestConfigBestRule(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	ds := filepath.Join(mnt, "runs/ds")
	src := landDataset(t, mnt, "ds",
		pipeSpec{pid: "0001_a_x1", testRMSE: 0.5, testR2: 0.95, valRMSE: 0.6},
		pipeSpec{pid: "0002_b_x2", testRMSE: 0.3, testR2: 0.80, valRMSE: 0.5},
		pipeSpec{pid: "0003_c_x3", testRMSE: 0.4, testR2: 0.70, valRMSE: 0.2})
	pred := func(pid string) string { return filepath.Join(src, pid, "predictions.csv") }
	wantBest(t, ds, "0002_b_x2", pred("0002_b_x2"))
	if got := n4ws(t, store, "config", "get", "best.metric"); got != "auto\n" {
		t.Errorf("config get best.metric = %q, want auto", got)
	}

	n4ws(t, store, "config", "set", "best.metric", "r2") // higher is better
	wantBest(t, ds, "0001_a_x1", pred("0001_a_x1"))
	if got := n4ws(t, store, "config", "get", "best.metric"); got != "r2\n" {
		t.Errorf("config get best.metric = %q, want r2", got)
	}
	n4ws(t, store, "config", "set", "best.metric", "auto")
	wantBest(t, ds, "0002_b_x2", pred("0002_b_x2"))
	n4ws(t, store, "config", "set", "best.partition", "val")
	wantBest(t, ds, "0003_c_x3", pred("0003_c_x3"))
	var sum struct {
		Rule struct{ Partition, Metric string } `json:"rule"`
		Best struct{ Pipeline, Partition string }
	}
	pyJSON(t, filepath.Join(ds, "run_summary.json"), &sum)
	if sum.Rule.Partition != "val" || sum.Best.Pipeline != "0003_c_x3" || sum.Best.Partition != "val" {
		t.Errorf("run_summary.json after best.partition val: %+v", sum)
	}
	all := n4ws(t, store, "config", "get")
	if !strings.Contains(all, "best.partition") || !strings.Contains(all, "val") || !strings.Contains(all, "best.metric") {
		t.Errorf("config get lists:\n%s", all)
	}

	for _, bad := range []struct{ key, value, msg string }{
		{"best.colour", "blue", "unknown setting"},
		{"best.partition", "holdout", "want train, val or test"},
		{"best.metric", "nonsense", "best.metric"},
	} {
		out, code := n4wsFail(t, store, "config", "set", bad.key, bad.value)
		if code != 1 || !strings.Contains(out, bad.msg) {
			t.Errorf("config set %s %s: exit %d, %q; want exit 1 and %q", bad.key, bad.value, code, out, bad.msg)
		}
	}
	if out, code := n4wsFail(t, store, "config", "get", "nope"); code != 1 || !strings.Contains(out, "unknown setting") {
		t.Errorf("config get nope: exit %d, %q", code, out)
	}
	wantBest(t, ds, "0003_c_x3", pred("0003_c_x3"))
}

// TestCatalogDeterministic: computed files read the same twice and after
// a remount, and stat's size is what cat returns.
func TestCatalogDeterministic(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	pid := mountAt(t, store, mnt)
	landDataset(t, mnt, "ds", append(threeSpecs, pipeSpec{pid: "0004_r_x4", testRMSE: 0.45, model: ridgeClass})...)
	landDataset(t, mnt, "other", pipeSpec{pid: "0001_o_y1", testRMSE: 0.25})

	// The computed files: best_*.csv and run_summary.json in runs/<ds>/,
	// everything in exports/<ds>/ and exports/best_predictions/, and the
	// Parquet files of catalog/.
	computed := func() []string {
		var files []string
		for _, dir := range []string{"runs/ds", "runs/other", "exports/ds", "exports/other", "exports/best_predictions", "catalog"} {
			for _, name := range lsNames(t, filepath.Join(mnt, dir)) {
				switch {
				case strings.HasPrefix(dir, "runs/") && !strings.HasPrefix(name, "best_") && name != "run_summary.json":
				case dir == "catalog" && !strings.HasSuffix(name, ".parquet"):
				default:
					files = append(files, filepath.Join(dir, name))
				}
			}
		}
		return files
	}
	files := computed()
	if len(files) < 15 {
		t.Fatalf("computed files: %v, want best files, summaries, exports and 3 parquet files", files)
	}
	first := map[string]string{}
	for _, f := range files {
		p := filepath.Join(mnt, f)
		data := catBytes(t, p)
		if n := fileSize(t, p); n != len(data) {
			t.Errorf("%s: stat -c %%s says %d, cat returns %d bytes", f, n, len(data))
		}
		if data == "" {
			t.Errorf("%s is empty", f)
		}
		first[f] = data
	}
	meta := filepath.Join(mnt, "catalog/predictions_meta.parquet")
	a, b := catBytes(t, meta), catBytes(t, meta)
	if a != b || a != first["catalog/predictions_meta.parquet"] {
		t.Errorf("catalog/predictions_meta.parquet: two reads differ (%d and %d bytes)", len(a), len(b))
	}
	if !strings.HasPrefix(a, "PAR1") || !strings.HasSuffix(a, "PAR1") {
		t.Errorf("catalog/predictions_meta.parquet is not a Parquet file")
	}

	unmount(t, store, mnt, pid)
	mountAt(t, store, mnt)
	if again := computed(); strings.Join(again, "\n") != strings.Join(files, "\n") {
		t.Errorf("after a remount the computed files are\n%v\nwere\n%v", again, files)
	}
	for _, f := range files {
		if data := catBytes(t, filepath.Join(mnt, f)); data != first[f] {
			t.Errorf("%s: content differs after a remount (%d bytes, were %d)", f, len(data), len(first[f]))
		}
	}
}

// TestStatusWithoutMount: the catalog commands answer the same with and
// without a mount, and a setting changed without a mount shows in it.
func TestStatusWithoutMount(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	pid := mountAt(t, store, mnt)
	src := landDataset(t, mnt, "ds",
		pipeSpec{pid: "0001_a_x1", testRMSE: 0.5, testR2: 0.95},
		pipeSpec{pid: "0002_b_x2", testRMSE: 0.3, testR2: 0.7},
		pipeSpec{pid: "0003_c_x3", testRMSE: 0.4, testR2: 0.6})
	run(t, "", "mkdir", filepath.Join(mnt, "runs/ds/scratch"))
	commands := [][]string{
		{"catalog", "best", "ds"},
		{"catalog", "best", "ds", "--json"},
		{"catalog", "list", "ds", "--sort", "test_rmse"},
		{"catalog", "list", "--json"},
		{"status"},
		{"status", "--json"},
		{"runs", "next-id", "ds"},
		{"config", "get"},
	}
	mounted := map[string]string{}
	for _, c := range commands {
		mounted[strings.Join(c, " ")] = stdout(t, n4wsBin, append([]string{"--store", store}, c...)...)
	}
	best := mounted["catalog best ds"]
	for _, want := range []string{"0002_b_x2", "2026-03-01", "runs/ds/0002_b_x2", "best_0002_b_x2.csv", "0.3", "0.7", "rmse"} {
		if !strings.Contains(best, want) {
			t.Errorf("catalog best ds does not show %q:\n%s", want, best)
		}
	}
	list := mounted["catalog list ds --sort test_rmse"]
	if i, j, k := strings.Index(list, "0002_b_x2"), strings.Index(list, "0003_c_x3"), strings.Index(list, "0001_a_x1"); i < 0 || !(i < j && j < k) {
		t.Errorf("catalog list ds --sort test_rmse is not best first:\n%s", list)
	}
	if st := mounted["status"]; !strings.Contains(st, "runs/ds/scratch") || !strings.Contains(st, "0002_b_x2") {
		t.Errorf("status does not name the best and the stray folder:\n%s", st)
	}

	unmount(t, store, mnt, pid)
	for _, c := range commands {
		key := strings.Join(c, " ")
		if got := stdout(t, n4wsBin, append([]string{"--store", store}, c...)...); got != mounted[key] {
			t.Errorf("n4ws %s without a mount:\n%s\nwith the mount:\n%s", key, got, mounted[key])
		}
	}
	for _, c := range [][]string{{"catalog", "best", "nope"}, {"catalog", "list", "nope"}} {
		out, code := n4wsFail(t, store, c...)
		if code != 1 || !strings.Contains(out, `unknown dataset "nope"`) {
			t.Errorf("n4ws %s: exit %d, %q; want exit 1 naming the unknown dataset", strings.Join(c, " "), code, out)
		}
	}
	n4ws(t, store, "config", "set", "best.metric", "r2")
	mountAt(t, store, mnt)
	wantBest(t, filepath.Join(mnt, "runs/ds"), "0001_a_x1", filepath.Join(src, "0001_a_x1/predictions.csv"))
}
