//go:build linux

package integration

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// liveRun runs nirs4all (the stand-in) on wheat at the mount root and
// waits until every pipeline of its store.sqlite is a folder whose
// manifest shows the run completed; it returns the folders.
func liveRun(t *testing.T, store, mnt string) []string {
	t.Helper()
	standin(t, mnt, "run", "--datasets", "wheat", "--pipelines", "3")
	want := storePipelines(t, mnt)["wheat"]
	if !waitFor(20*time.Second, func() bool {
		return len(pipelineDirs(mnt, "wheat")) == len(want) && runEndShown(t, mnt, "wheat")
	}) {
		t.Fatalf("runs/wheat: %v, store.sqlite has %d pipelines\n%s", pipelineDirs(mnt, "wheat"), len(want), logTail(store))
	}
	checkCreationOrder(t, "wheat", pipelineDirs(mnt, "wheat"), want)
	return pipelineDirs(mnt, "wheat")
}

// TestLiveCatalogSurfaces: after nirs4all (the stand-in) ran at the mount
// root, every place that shows pipelines shows its live ones, as a user
// would look: `n4ws catalog list/best`, `n4ws status`, run_summary.json,
// the xattrs of each folder (read with python's os.getxattr), the session,
// dataset-history and global reports, exports/ (best_predictions and the
// per-model files), and catalog/predictions.parquet read by DuckDB.
func TestLiveCatalogSurfaces(t *testing.T) {
	store := newStore(t)
	mnt := mountStore(t, store)
	folders := liveRun(t, store, mnt)
	checkBestIsStoreBest(t, mnt, "wheat")
	best := strings.TrimSuffix(strings.TrimPrefix(bestFiles(t, filepath.Join(mnt, "runs/wheat"))[0], "best_"), ".csv")

	// n4ws catalog list / best.
	var rows []listRowJSON
	n4wsJSON(t, store, &rows, "catalog", "list", "wheat", "--json")
	listed := map[string]listRowJSON{}
	for _, r := range rows {
		listed[r.Pipeline] = r
	}
	for _, f := range folders {
		if r, ok := listed[f]; !ok || r.Status != "ok" || r.RunDeleted || r.Best != (f == best) {
			t.Errorf("catalog list wheat: %s = %+v (listed %v), want ok, not deleted, best %v", f, r, ok, f == best)
		}
	}
	if len(rows) != len(folders) {
		t.Errorf("catalog list wheat: %d rows, runs/wheat has %d folders", len(rows), len(folders))
	}
	var cb map[string]any
	n4wsJSON(t, store, &cb, "catalog", "best", "wheat", "--json")
	if cb["pipeline"] != best || cb["path"] != "runs/wheat/"+best || cb["best_file"] != "runs/wheat/best_"+best+".csv" {
		t.Errorf("catalog best wheat --json = %v, want %s", cb, best)
	}

	// n4ws status: the dataset's line counts the live pipelines.
	wantLine := []string{"wheat", strconv.Itoa(len(folders)), strconv.Itoa(len(folders)), "0", "0", "0", best}
	if !slices.ContainsFunc(strings.Split(n4ws(t, store, "status"), "\n"), func(l string) bool {
		return slices.Equal(strings.Fields(l), wantLine)
	}) {
		t.Errorf("n4ws status has no line %v:\n%s", wantLine, n4ws(t, store, "status"))
	}

	// run_summary.json.
	var sum struct {
		Pipelines, Succeeded int
		Best                 struct{ Pipeline string }
	}
	pyJSON(t, filepath.Join(mnt, "runs/wheat/run_summary.json"), &sum)
	if sum.Pipelines != len(folders) || sum.Succeeded != len(folders) || sum.Best.Pipeline != best {
		t.Errorf("run_summary.json: %+v, want %d pipelines succeeded and best %s", sum, len(folders), best)
	}

	checkLiveXattrs(t, mnt, folders, listed)
	checkLiveReports(t, mnt, folders, best)
	checkLiveExports(t, mnt, best, listed)

	// catalog/predictions.parquet, read by DuckDB: every live pipeline.
	var inParquet []string
	for _, r := range duckRows(t, filepath.Join(mnt, "catalog"),
		`SELECT DISTINCT pipeline FROM 'predictions.parquet' WHERE dataset = 'wheat' AND NOT run_deleted ORDER BY pipeline`) {
		inParquet = append(inParquet, r[0])
	}
	if !slices.Equal(inParquet, folders) {
		t.Errorf("predictions.parquet: wheat pipelines %v, want %v", inParquet, folders)
	}
}

// checkLiveXattrs: each live folder's user.n4ws.* attributes (the names
// catalog/xattrs.go defines) agree with `n4ws catalog list`.
func checkLiveXattrs(t *testing.T, mnt string, folders []string, listed map[string]listRowJSON) {
	t.Helper()
	for i, f := range folders {
		dir, r := filepath.Join(mnt, "runs/wheat", f), listed[f]
		want := map[string]string{
			"user.n4ws.status": r.Status, "user.n4ws.model": r.Model, "user.n4ws.task_type": "regression",
			"user.n4ws.number": strconv.Itoa(i + 1), "user.n4ws.best": strconv.FormatBool(r.Best),
		}
		for name, v := range want {
			if got := getxattr(t, dir, name); got != v {
				t.Errorf("getxattr runs/wheat/%s %s = %q, want %q", f, name, got, v)
			}
		}
		got, err := strconv.ParseFloat(getxattr(t, dir, "user.n4ws.test_rmse"), 64)
		if wantRMSE, ok := r.Scores["test"]["rmse"]; err != nil || !ok || math.Abs(got-wantRMSE) > 1e-9 {
			t.Errorf("runs/wheat/%s user.n4ws.test_rmse = %v (%v), catalog list says %v", f, got, err, r.Scores["test"])
		}
	}
}

// checkLiveReports: the session report names every live pipeline; the
// dataset history and the global report name the best one.
func checkLiveReports(t *testing.T, mnt string, folders []string, best string) {
	t.Helper()
	session := readFile(t, filepath.Join(mnt, "exports/session_reports/wheat.html"))
	for _, f := range folders {
		if !strings.Contains(session, f) {
			t.Errorf("exports/session_reports/wheat.html does not name %s", f)
		}
	}
	for _, rel := range []string{"catalog/reports/dataset_history/wheat.html", "catalog/reports/global_performance.html"} {
		if !strings.Contains(readFile(t, filepath.Join(mnt, rel)), best) {
			t.Errorf("%s does not name the best pipeline %s", rel, best)
		}
	}
}

// checkLiveExports: exports/best_predictions/ holds the best pipeline's
// predictions.csv, and exports/wheat/ one summary per model naming a live
// pipeline of that model, whose predictions.csv and pipeline.json it copies.
func checkLiveExports(t *testing.T, mnt, best string, listed map[string]listRowJSON) {
	t.Helper()
	exp := filepath.Join(mnt, "exports")
	bp, _ := filepath.Glob(filepath.Join(exp, "best_predictions", "wheat_*_"+best+".csv"))
	if len(bp) != 1 {
		t.Fatalf("exports/best_predictions: %v, want wheat_<date>_%s.csv", lsNames(t, filepath.Join(exp, "best_predictions")), best)
	}
	cmpFiles(t, filepath.Join(mnt, "runs/wheat", best, "predictions.csv"), bp[0])
	models := map[string]bool{}
	for _, r := range listed {
		models[r.Model] = true
	}
	for m := range models {
		var s struct {
			PipelineID string `json:"pipeline_id"`
			ModelName  string `json:"model_name"`
		}
		pyJSON(t, filepath.Join(exp, "wheat", m+"_summary.json"), &s)
		if r, ok := listed[s.PipelineID]; !ok || r.Model != m || s.ModelName != m {
			t.Errorf("exports/wheat/%s_summary.json names %+v, not a live %s pipeline", m, s, m)
			continue
		}
		src := filepath.Join(mnt, "runs/wheat", s.PipelineID)
		cmpFiles(t, filepath.Join(src, "predictions.csv"), filepath.Join(exp, "wheat", m+"_predictions.csv"))
		cmpFiles(t, filepath.Join(src, "pipeline.json"), filepath.Join(exp, "wheat", m+"_pipeline.json"))
	}
}

// storeStats is the part of `n4ws stats --json` about blobs.
type storeStats struct {
	LogicalBytes int64 `json:"logical_bytes"`
	StoredBytes  int64 `json:"stored_bytes"`
	Blobs        int64 `json:"blobs"`
	GarbageBlobs int64 `json:"garbage_blobs"`
}

func blobStats(t *testing.T, store string) storeStats {
	t.Helper()
	var st storeStats
	n4wsJSON(t, store, &st, "stats", "--json")
	return st
}

// TestLiveLibraryExportSameBlobs: the _binaries/ of a live pipeline are
// nirs4all's artifacts/ files, stored once (n4ws stats: the store's
// deduplication covers every _binaries/ byte); `n4ws library save` of a
// live pipeline adds one blob, its zip, whose binaries are those bytes;
// and `n4ws export` writes a zip python's zipfile reads back with the
// folder's files and binaries.
func TestLiveLibraryExportSameBlobs(t *testing.T) {
	store := newStore(t)
	mnt := mountStore(t, store)
	liveRun(t, store, mnt)
	best := strings.TrimSuffix(strings.TrimPrefix(bestFiles(t, filepath.Join(mnt, "runs/wheat"))[0], "best_"), ".csv")
	bins := filepath.Join(mnt, "runs/wheat/_binaries")
	var binBytes int64
	for _, name := range lsNames(t, bins) {
		arts, _ := filepath.Glob(filepath.Join(mnt, "artifacts", "*", name))
		if len(arts) != 1 {
			t.Errorf("_binaries/%s: no artifacts/*/%s beside it (%v)", name, name, arts)
			continue
		}
		cmpFiles(t, arts[0], filepath.Join(bins, name))
		binBytes += int64(fileSize(t, arts[0]))
	}
	before := blobStats(t, store)
	if saved := before.LogicalBytes - before.StoredBytes; saved < binBytes {
		t.Errorf("n4ws stats: logical %d - stored %d = %d bytes deduplicated, less than the %d bytes of _binaries/: a second copy",
			before.LogicalBytes, before.StoredBytes, saved, binBytes)
	}

	n4ws(t, store, "library", "save", "--filtered", "--from", "runs/wheat/"+best, "--name", "live_best")
	zipPath := filepath.Join(mnt, "library/trained/filtered/live_best.zip")
	after := blobStats(t, store)
	if live := (after.Blobs - after.GarbageBlobs) - (before.Blobs - before.GarbageBlobs); live != 1 {
		t.Errorf("library save: %d more blobs in use (before %+v, after %+v), want 1: the zip", live, before, after)
	}
	if grown := after.StoredBytes - before.StoredBytes; grown > int64(fileSize(t, zipPath)) {
		t.Errorf("library save: stored bytes grew by %d, more than its zip's %d", grown, fileSize(t, zipPath))
	}
	checkLiveZip(t, zipPath, filepath.Join(mnt, "runs/wheat"), best,
		[]string{"manifest.yaml", "metrics.json", "pipeline.json", "predictions.csv"})

	out := filepath.Join(t.TempDir(), "best.zip")
	n4ws(t, store, "export", "--dataset", "wheat", "--pipeline", best, "--include", "binaries", "--output", out)
	checkLiveZip(t, out, filepath.Join(mnt, "runs/wheat"), best, lsNames(t, filepath.Join(mnt, "runs/wheat", best)))
}

// checkLiveZip reads zipPath with python's zipfile: it holds pid/<f> for
// each of files and some _binaries/ entries, each the same bytes as in
// dsDir, and the pipeline's models among them.
func checkLiveZip(t *testing.T, zipPath, dsDir, pid string, files []string) {
	t.Helper()
	var entries map[string]string // name → sha256
	if err := json.Unmarshal([]byte(py(t, `import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print(json.dumps({n: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist()}))`, zipPath)), &entries); err != nil {
		t.Fatal(err)
	}
	models := 0
	for name, sum := range entries {
		if name == "n4ws_bundle.json" {
			continue
		}
		src := filepath.Join(dsDir, filepath.FromSlash(name))
		if got := sha256sum(t, src); got != sum {
			t.Errorf("%s: %s is not the bytes of %s", filepath.Base(zipPath), name, src)
		}
		if strings.HasPrefix(name, "_binaries/model_") {
			models++
		}
	}
	for _, f := range files {
		if _, ok := entries[pid+"/"+f]; !ok {
			t.Errorf("%s has no %s/%s: %v", filepath.Base(zipPath), pid, f, entries)
		}
	}
	if models == 0 {
		t.Errorf("%s holds no model binary: %v", filepath.Base(zipPath), entries)
	}
	t.Logf("%s: %d entries, %d models", filepath.Base(zipPath), len(entries), models)
}

// TestLiveDroppedArtifactsLeaveBinaries: when nirs4all drops a pipeline's
// per-fold models (their artifact rows deleted, their files unlinked, as
// after a refit), their files leave runs/<ds>/_binaries/ within seconds;
// the models and scaler other pipelines still use stay, and the pipeline
// folder's manifest no longer lists them.
func TestLiveDroppedArtifactsLeaveBinaries(t *testing.T) {
	store := newStore(t)
	mnt := mountStore(t, store)
	folders := liveRun(t, store, mnt)
	bins := filepath.Join(mnt, "runs/wheat/_binaries")
	before := lsNames(t, bins)
	listed := readFile(t, filepath.Join(mnt, "runs/wheat", folders[0], "manifest.yaml"))
	// nirs4all's side, through the mount: python's sqlite3 with its
	// settings, then the files unlinked.
	dropped := strings.Fields(py(t, `import os, sqlite3, sys
ws = sys.argv[1]
c = sqlite3.connect(os.path.join(ws, "store.sqlite"), isolation_level=None)
c.execute("PRAGMA busy_timeout=5000"); c.execute("PRAGMA journal_mode=WAL"); c.execute("PRAGMA foreign_keys=ON")
pid = c.execute("SELECT pipeline_id FROM pipelines ORDER BY created_at, rowid LIMIT 1").fetchone()[0]
rows = c.execute("SELECT artifact_id, artifact_path FROM artifacts WHERE artifact_id LIKE ?", [pid + "$s2:%"]).fetchall()
c.execute("BEGIN")
for aid, _ in rows:
    c.execute("DELETE FROM artifacts WHERE artifact_id = ?", [aid])
c.execute("COMMIT")
c.close()
for _, path in rows:
    os.unlink(os.path.join(ws, "artifacts", path))
print(" ".join(os.path.basename(p) for _, p in rows))`, mnt))
	if len(dropped) == 0 {
		t.Fatalf("the first pipeline has no per-fold models in store.sqlite")
	}
	for _, n := range dropped {
		if !strings.Contains(listed, n) {
			t.Fatalf("before the drop, runs/wheat/%s/manifest.yaml does not list %s:\n%s", folders[0], n, listed)
		}
	}
	if !waitFor(20*time.Second, func() bool {
		have := lsNames(t, bins)
		return !slices.ContainsFunc(dropped, func(n string) bool { return slices.Contains(have, n) })
	}) {
		t.Fatalf("_binaries/ still has some of the dropped models %v: %v\n%s", dropped, lsNames(t, bins), logTail(store))
	}
	after := lsNames(t, bins)
	for _, n := range before {
		if !slices.Contains(dropped, n) && !slices.Contains(after, n) {
			t.Errorf("_binaries/%s, still used, was removed", n)
		}
	}
	manifest := readFile(t, filepath.Join(mnt, "runs/wheat", folders[0], "manifest.yaml"))
	for _, n := range dropped {
		if strings.Contains(manifest, n) {
			t.Errorf("runs/wheat/%s/manifest.yaml still lists %s", folders[0], n)
		}
	}
	n4ws(t, store, "fsck")
}
