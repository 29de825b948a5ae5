package importer

import (
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
	"github.com/n4ws/n4ws/catalog/importer/standintest"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// standinImport runs the nirs4all stand-in into a fresh workspace and
// imports it (through OSDir, so with SQLite's backup API).
func standinImport(t *testing.T, args ...string) (string, *Plan, func(p string) string) {
	ws := t.TempDir()
	standintest.Run(t, "run", ws, args...)
	s := backingtest.NewStore(t)
	plan := importOS(t, s, ws)
	return ws, plan, func(p string) string { return storeBytes(t, s, p) }
}

func queryStrings(t *testing.T, dbPath, q string, args ...any) []string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestStoreImportStandin checks the items on a store written the
// way nirs4all 0.11 writes it: numbers in insertion order although all
// pipelines share created_at's second and have random ids; artifacts
// named <type>_<Class>_<sha12>.<ext>, one file for several rows, each
// with its step (steps[].artifact_ids); refit rows give metrics.json and
// the folds stay under cross_validation; a failed pipeline has error.log.
func TestStoreImportStandin(t *testing.T) {
	ws, plan, read := standinImport(t, "--datasets", "wheat", "--pipelines", "4", "--fail", "2")
	names := queryStrings(t, filepath.Join(ws, "store.sqlite"), `SELECT name FROM pipelines ORDER BY rowid`)
	var got []string
	for _, p := range plan.Pipelines {
		got = append(got, p.Dest)
	}
	for i, n := range names {
		if want := FolderName(i+1, StorePipeline{Name: n}); i >= len(got) || got[i] != want {
			t.Fatalf("folders %v, want %s at %d (insertion order %v)", got, want, i, names)
		}
	}
	dir := "runs/wheat/"
	if e := read(dir + got[1] + "/error.log"); !strings.HasPrefix(e, "ValueError") {
		t.Errorf("failed pipeline's error.log = %q", e)
	}
	info, err := nirs4all.ParseManifest([]byte(read(dir + got[0] + "/manifest.yaml")))
	if err != nil || len(info.Artifacts) != 4 {
		t.Fatalf("manifest: %v, %d artifacts (scaler + 3 fold models)", err, len(info.Artifacts))
	}
	binName := regexp.MustCompile(`^(model|transformer)_[A-Za-z]+_[0-9a-f]{12}\.joblib$`)
	for _, a := range info.Artifacts {
		if !binName.MatchString(a.Path) || a.Step == 0 {
			t.Errorf("artifact %+v: want a nirs4all file name and its step", a)
		}
		if read(dir+"_binaries/"+a.Path) == "" {
			t.Errorf("_binaries/%s is empty", a.Path)
		}
	}
	refit := got[len(got)-1]
	if !strings.HasSuffix(refit, "_refit") {
		t.Fatalf("last folder %s is not the refit pipeline", refit)
	}
	var m struct {
		Test map[string]float64 `json:"test"`
		CV   struct {
			Folds int                `json:"folds"`
			Val   map[string]float64 `json:"val"`
		} `json:"cross_validation"`
		Src map[string]any `json:"nirs4all_import"`
	}
	if err := json.Unmarshal([]byte(read(dir+refit+"/metrics.json")), &m); err != nil {
		t.Fatal(err)
	}
	final := queryStrings(t, filepath.Join(ws, "store.sqlite"),
		`SELECT CAST(test_score AS TEXT) FROM predictions p JOIN pipelines l USING (pipeline_id) WHERE l.name = ? AND fold_id = 'final' AND partition = 'test'`,
		strings.TrimPrefix(refit, refit[:5]))
	if len(final) != 1 || math.Abs(m.Test["rmse"]-atof(final[0])) > 1e-3 || m.Src["fold_id"] != "final" {
		t.Errorf("refit metrics.json test %v (fold %v), want nirs4all's final test_score %v", m.Test, m.Src["fold_id"], final)
	}
	if m.CV.Folds != 3 || m.CV.Val["rmse"] == 0 {
		t.Errorf("refit metrics.json cross_validation = %+v, want the refitted pipeline's 3 folds and its CV score", m.CV)
	}
	if !strings.Contains(read(dir+got[0]+"/folds_KFold.csv"), "fold_0,fold_1,fold_2\n") {
		t.Error("folds_KFold.csv missing its header")
	}
}

func atof(s string) float64 {
	var f float64
	json.Unmarshal([]byte(s), &f)
	return f
}

// TestStoreImportRunningThenDone: a pipeline imported while running is
// completed by the next import, in the same folder.
func TestStoreImportRunningThenDone(t *testing.T) {
	ws := t.TempDir()
	standintest.Run(t, "run", ws, "--datasets", "wheat", "--pipelines", "1", "--no-refit")
	db, err := sql.Open("sqlite3", filepath.Join(ws, "store.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pid, status string
	if err := db.QueryRow(`SELECT pipeline_id, status FROM pipelines`).Scan(&pid, &status); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `CREATE TABLE keep AS SELECT * FROM predictions`)
	mustExec(t, db, `DELETE FROM predictions`)
	mustExec(t, db, `UPDATE pipelines SET status = 'running', completed_at = NULL`)
	s := backingtest.NewStore(t)
	first := importOS(t, s, ws)
	dest := first.Pipelines[0].Dest
	if _, err := s.ResolvePath(context.Background(), "runs/wheat/"+dest+"/metrics.json"); err == nil {
		t.Fatal("a running pipeline without predictions got metrics.json")
	}
	mustExec(t, db, `INSERT INTO predictions SELECT * FROM keep`)
	mustExec(t, db, `UPDATE pipelines SET status = ?`, status)
	second := importOS(t, s, ws)
	if len(second.Pipelines) != 1 || second.Pipelines[0].Dest != dest || second.Pipelines[0].Already {
		t.Fatalf("second import: %+v, want %s updated", second.Pipelines, dest)
	}
	if !strings.Contains(storeBytes(t, s, "runs/wheat/"+dest+"/manifest.yaml"), "status: "+status) {
		t.Error("manifest.yaml still says running")
	}
	if storeBytes(t, s, "runs/wheat/"+dest+"/metrics.json") == "" {
		t.Error("no metrics.json once completed")
	}
	if third := importOS(t, s, ws); third.New() != 0 || len(third.writes) != 0 {
		t.Errorf("third import writes %d files", len(third.writes))
	}
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestStoreImportBesideRuns: the mount root holds store.sqlite and runs/;
// the store is imported, and runs/ is reported, not read.
func TestStoreImportBesideRuns(t *testing.T) {
	ws := t.TempDir()
	standintest.Run(t, "run", ws, "--datasets", "corn", "--pipelines", "1", "--no-refit")
	writeOS(t, filepath.Join(ws, "runs", "corn", "0001_x_abcdef", "manifest.yaml"), "pipeline_id: 0001_x_abcdef\n")
	plan := importOS(t, backingtest.NewStore(t), ws)
	if plan.New() != 1 {
		t.Fatalf("imported %+v", plan.Pipelines)
	}
	for _, sk := range plan.Skipped {
		if sk.Path == "runs/" {
			return
		}
	}
	t.Errorf("runs/ not reported: %+v", plan.Skipped)
}

// TestSnapshotSeesCommitsOnly: the snapshot holds what was committed when
// it was taken, including rows still in the -wal, never an open
// transaction's.
func TestSnapshotSeesCommitsOnly(t *testing.T) {
	ctx := context.Background()
	ws := t.TempDir()
	standintest.Run(t, "run", ws, "--datasets", "wheat", "--pipelines", "1", "--no-refit")
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(ws, "store.sqlite")+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	mustExec(t, db, `PRAGMA wal_autocheckpoint = 0`)
	mustExec(t, db, `INSERT INTO pipelines (pipeline_id, run_id, name, dataset_name) SELECT 'p-wal', run_id, 'walrow', 'wheat' FROM runs`)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO pipelines (pipeline_id, run_id, name, dataset_name) SELECT 'p-open', run_id, 'open', 'wheat' FROM runs`); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(ws, "store.sqlite-wal")); err != nil {
		t.Fatal("no -wal:", err)
	}
	snap, err := LoadSnapshot(ctx, OSDir(ws))
	if err != nil {
		t.Fatal(err)
	}
	tx.Rollback()
	var names []string
	for _, p := range snap.Pipelines() {
		names = append(names, p.Name)
	}
	if len(names) != 2 || names[1] != "walrow" {
		t.Errorf("snapshot pipelines %v, want the committed one and the one in the -wal, not the open transaction's", names)
	}
}

// importOS imports the workspace folder ws through OSDir.
func importOS(t *testing.T, s *backing.Store, ws string) *Plan {
	t.Helper()
	return importFrom(t, s, OSDir(ws))
}
