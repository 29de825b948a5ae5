package importer

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/backing/backingtest"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// era0Workspace builds results/wheat/ with three config folders (one
// failed, without rows), predictions.json and a stray file, plus
// results/stray.txt and an empty config folder.
func era0Workspace(t *testing.T) string {
	ws := t.TempDir()
	r := filepath.Join(ws, "results", "wheat")
	for i, cfg := range []string{"config_bbbbbb", "config_aaaaaa", "pls_cccccc"} {
		writeOS(t, filepath.Join(r, cfg, "pipeline.json"), `["sklearn.cross_decomposition._pls.PLSRegression"]`)
		writeOS(t, filepath.Join(r, cfg, "PLSRegression_"+cfg[len(cfg)-6:]+".pkl"), "pickle-"+cfg)
		_ = i
	}
	writeOS(t, filepath.Join(r, "config_aaaaaa", "folds_KFold.csv"), "fold_0\n0\n")
	var rows []map[string]any
	add := func(cfg, part, yp string) {
		rows = append(rows, eraARow(cfg, "0", part, "[1.0, 2.0]", yp))
		rows[len(rows)-1]["config_path"] = "wheat/" + cfg
	}
	add("config_aaaaaa", "val", "[1.5, 2.5]")
	add("config_aaaaaa", "test", "[1.5, 2.5]")
	add("config_bbbbbb", "val", "[1.1, 2.1]")
	add("config_bbbbbb", "test", "[1.1, 2.1]")
	rows = append(rows, eraARow("gone_dddddd", "0", "test", "[1]", "[1]"))
	b, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	writeOS(t, filepath.Join(r, "predictions.json"), string(b))
	writeOS(t, filepath.Join(r, "notes.txt"), "era 0")
	if err := os.MkdirAll(filepath.Join(ws, "results", "corn", "empty_cfg"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeOS(t, filepath.Join(ws, "results", "stray.txt"), "x")
	writeOS(t, filepath.Join(ws, "README.md"), "hi")
	return ws
}

func TestWorkspaceImportEra0(t *testing.T) {
	ctx := context.Background()
	ws := era0Workspace(t)
	s := backingtest.NewStore(t)
	cat, err := catalog.Open(ctx, s, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan := importInto(t, s, ws)
	dest := map[string]string{}
	for _, p := range plan.Pipelines {
		dest[p.Source] = p.Dest
	}
	want := map[string]string{"results/wheat/config_aaaaaa": "0001_config_aaaaaa",
		"results/wheat/config_bbbbbb": "0002_config_bbbbbb", "results/wheat/pls_cccccc": "0003_pls_cccccc"}
	for src, d := range want {
		if dest[src] != d {
			t.Errorf("%s → %q, want %q (%v)", src, dest[src], d, dest)
		}
	}
	r := "runs/wheat/"
	checkOriginals(t, s, ws, map[string]string{
		"results/wheat/config_aaaaaa/pipeline.json":         r + "0001_config_aaaaaa/pipeline.json",
		"results/wheat/config_aaaaaa/folds_KFold.csv":       r + "0001_config_aaaaaa/folds_KFold.csv",
		"results/wheat/pls_cccccc/PLSRegression_cccccc.pkl": r + "0003_pls_cccccc/PLSRegression_cccccc.pkl",
		"results/wheat/predictions.json":                    r + "_nirs4all/predictions.json",
		"results/wheat/notes.txt":                           r + "notes.txt",
	})
	m, err := nirs4all.ParseMetrics([]byte(storeBytes(t, s, r+"0002_config_bbbbbb/metrics.json")))
	if err != nil || m.Samples["test"] != 2 || m.TaskType != catalog.TaskRegression {
		t.Errorf("0002 metrics: %v %+v", err, m)
	}
	if _, err := s.ResolvePath(ctx, r+"0003_pls_cccccc/metrics.json"); err == nil {
		t.Error("a config without rows got metrics.json")
	}
	skipped := map[string]bool{}
	for _, sk := range plan.Skipped {
		skipped[sk.Path] = true
	}
	for _, p := range []string{"README.md", "results/stray.txt", "results/corn/empty_cfg/"} {
		if !skipped[p] {
			t.Errorf("%s not skipped: %+v", p, plan.Skipped)
		}
	}
	if notes := strings.Join(plan.Notes, "\n"); !strings.Contains(notes, "1 prediction rows without a config folder") {
		t.Errorf("notes: %s", notes)
	}
	checkBest(t, cat, "wheat", "0002_config_bbbbbb")
	again := importInto(t, s, ws)
	if again.New() != 0 || len(again.writes) != 0 || len(again.Pipelines) != 3 {
		t.Errorf("second import: new %d, writes %+v, %+v", again.New(), again.writes, again.Pipelines)
	}
}

func TestWorkspaceImportEra0Renumbers(t *testing.T) {
	ws := era0Workspace(t)
	s := backingtest.NewStore(t)
	backingtest.WriteFile(t, s, "runs/wheat/0002_other_zzzzzz/pipeline.json", "[]")
	plan := importInto(t, s, ws)
	if !strings.Contains(strings.Join(plan.Notes, "\n"), "renumbered results/wheat/config_bbbbbb (0002_config_bbbbbb) → runs/wheat/0004_config_bbbbbb") {
		t.Errorf("notes: %v", plan.Notes)
	}
	if again := importInto(t, s, ws); again.New() != 0 {
		t.Errorf("second import after renumbering: %+v", again.Pipelines)
	}
}

func TestWorkspaceImportEra0BadJSON(t *testing.T) {
	ws := era0Workspace(t)
	writeOS(t, filepath.Join(ws, "results", "wheat", "predictions.json"), "[{not json")
	s := backingtest.NewStore(t)
	plan := importInto(t, s, ws)
	if plan.New() != 3 || !strings.Contains(strings.Join(plan.Notes, "\n"), "predictions.json: cannot read predictions") {
		t.Errorf("notes: %v", plan.Notes)
	}
	if got := storeBytes(t, s, "runs/wheat/_nirs4all/predictions.json"); got != "[{not json" {
		t.Error("the unreadable file was not stored as is")
	}
	empty := t.TempDir()
	writeOS(t, filepath.Join(empty, "results", "x.txt"), "x")
	if _, err := PlanWorkspace(context.Background(), os.DirFS(empty), catalog.StoreTree{S: s}, ""); err == nil || !strings.Contains(err.Error(), "not a nirs4all workspace") {
		t.Errorf("empty results/: %v", err)
	}
}
