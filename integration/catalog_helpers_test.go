//go:build linux

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Helpers of catalog_test.go: pipeline folders made in a temporary
// directory (then copied into the mount with cp -r), and thin wrappers over
// the tools that check them (ls, cmp, python3).

// pipeSpec describes a regression pipeline folder.
type pipeSpec struct {
	pid      string  // NNNN_[name_]hash
	model    string  // estimator class path; its short name is the model name
	testRMSE float64 // metrics.json test.rmse
	testR2   float64 // metrics.json test.r2 (0: derived from testRMSE)
	valRMSE  float64 // metrics.json val.rmse (0: testRMSE + 0.05)
}

const (
	plsClass   = "sklearn.cross_decomposition.PLSRegression"
	ridgeClass = "sklearn.linear_model.Ridge"
	// pipeDate is the created_at of every pipeline: its run date.
	pipeDate = "2026-03-01"
)

// makePipeline writes spec's folder (metrics.json, predictions.csv,
// pipeline.json) below dir and returns its path. Every pipeline's
// predictions.csv differs from the others'.
func makePipeline(t testing.TB, dir string, spec pipeSpec) string {
	t.Helper()
	if spec.model == "" {
		spec.model = plsClass
	}
	if spec.testR2 == 0 {
		spec.testR2 = 1 - spec.testRMSE
	}
	if spec.valRMSE == 0 {
		spec.valRMSE = spec.testRMSE + 0.05
	}
	p := filepath.Join(dir, spec.pid)
	writeFile(t, filepath.Join(p, "metrics.json"), fmt.Appendf(nil,
		`{"task_type": "regression", "test": {"rmse": %g, "r2": %g, "samples": 3}, "val": {"rmse": %g, "r2": %g}}`+"\n",
		spec.testRMSE, spec.testR2, spec.valRMSE, 1-spec.valRMSE))
	var csv strings.Builder
	csv.WriteString("sample_id,y_true,y_pred,partition\n")
	for i, part := range []string{"train", "val", "test", "test", "test"} {
		fmt.Fprintf(&csv, "%s_s%d,%d.5,%.4f,%s\n", spec.pid[:4], i, 10+i, 10.5+float64(i)+spec.testRMSE, part)
	}
	writeFile(t, filepath.Join(p, "predictions.csv"), []byte(csv.String()))
	hash := spec.pid[strings.LastIndexByte(spec.pid, '_')+1:]
	writeFile(t, filepath.Join(p, "pipeline.json"), fmt.Appendf(nil, `{
  "id": %q,
  "hash": %q,
  "created_at": "%sT10:00:00Z",
  "status": "completed",
  "steps": [
    {"step": 1, "operator": "SNV", "class": "nirs4all.operators.transforms.SNV", "params": {}},
    {"step": 2, "operator": "model", "class": %q, "params": {}}
  ]
}
`, spec.pid, hash, pipeDate, spec.model))
	return p
}

// cpR copies a folder into the mount folder dst with cp -r.
func cpR(t testing.TB, src, dst string) {
	t.Helper()
	run(t, "", "cp", "-r", src, dst)
}

// lsNames lists a folder with ls -A (one name per line).
func lsNames(t testing.TB, dir string) []string {
	t.Helper()
	out := run(t, "", "ls", "-A1", dir)
	return strings.Fields(out)
}

// withPrefix keeps the names that start with prefix.
func withPrefix(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// bestFiles lists the best_*.csv of a dataset folder.
func bestFiles(t testing.TB, dsDir string) []string {
	t.Helper()
	return withPrefix(lsNames(t, dsDir), "best_")
}

// wantBest checks that dsDir shows exactly best_<pid>.csv, a byte copy of
// the pipeline's predictions.csv (compared with cmp against src).
func wantBest(t testing.TB, dsDir, pid, src string) {
	t.Helper()
	got := bestFiles(t, dsDir)
	want := "best_" + pid + ".csv"
	if len(got) != 1 || got[0] != want {
		t.Fatalf("ls %s: best files %v, want exactly [%s]", dsDir, got, want)
	}
	cmpFiles(t, src, filepath.Join(dsDir, want))
}

// cmpFiles fails unless cmp says the two files are byte-identical.
func cmpFiles(t testing.TB, a, b string) {
	t.Helper()
	if out, err := exe("", "cmp", a, b); err != nil {
		t.Errorf("cmp %s %s: %v\n%s", a, b, err, out)
	}
}

// py runs a python3 snippet with arguments and returns its output.
func py(t testing.TB, script string, args ...string) string {
	t.Helper()
	return strings.TrimSpace(run(t, "", "python3", append([]string{"-c", script}, args...)...))
}

// pyJSON loads a JSON file with python3 and returns it re-encoded, decoded
// into v: the file is checked by an independent parser.
func pyJSON(t testing.TB, path string, v any) {
	t.Helper()
	out := py(t, `import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)
print(json.dumps(d))`, path)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("python3 json of %s: %v\n%s", path, err, out)
	}
}

// getxattr reads an extended attribute with python3's os.getxattr; it
// returns the value, or the Python exception's name.
func getxattr(t testing.TB, path, name string) string {
	t.Helper()
	return py(t, `import os, sys
try:
    print(os.getxattr(sys.argv[1], sys.argv[2]).decode())
except OSError as e:
    print("ERROR", type(e).__name__, e.errno)`, path, name)
}

// n4wsJSON runs an n4ws command that prints JSON and decodes its stdout.
func n4wsJSON(t testing.TB, store string, v any, args ...string) string {
	t.Helper()
	out := stdout(t, n4wsBin, append([]string{"--store", store}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("n4ws %s: output is not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// runSummary is what catalog_test reads of run_summary.json.
type runSummary struct {
	Dataset    string   `json:"dataset"`
	Pipelines  int      `json:"pipelines"`
	Succeeded  int      `json:"succeeded"`
	Failed     int      `json:"failed"`
	Incomplete int      `json:"incomplete"`
	Deleted    int      `json:"deleted"`
	FailedRuns []string `json:"failed_pipelines"`
	Best       *struct {
		Pipeline string  `json:"pipeline"`
		Metric   string  `json:"metric"`
		Score    float64 `json:"score"`
		File     string  `json:"file"`
	} `json:"best"`
	Errors []struct {
		Pipeline string `json:"pipeline"`
		File     string `json:"file"`
		Reason   string `json:"reason"`
	} `json:"errors"`
}

// statusJSON is what catalog_test reads of `n4ws status --json`.
type statusJSON struct {
	Datasets []struct {
		Dataset    string `json:"dataset"`
		Folder     bool   `json:"folder"`
		Pipelines  int    `json:"pipelines"`
		OK         int    `json:"ok"`
		Failed     int    `json:"failed"`
		Incomplete int    `json:"incomplete"`
		Deleted    int    `json:"deleted"`
		Best       string `json:"best"`
	} `json:"datasets"`
	Pending []string `json:"pending_ingestion"`
	Errors  []struct {
		Dataset, Pipeline, File, Reason string
	} `json:"errors"`
	NotPipelines []string `json:"not_pipeline_folders"`
}

// listRowJSON is one row of `n4ws catalog list --json`.
type listRowJSON struct {
	Dataset    string                        `json:"dataset"`
	Pipeline   string                        `json:"pipeline"`
	Model      string                        `json:"model"`
	Status     string                        `json:"status"`
	Best       bool                          `json:"best"`
	RunDeleted bool                          `json:"run_deleted"`
	Scores     map[string]map[string]float64 `json:"scores"`
}

// startAll starts the commands at once and returns, in order, whether
// each succeeded and its output.
func startAll(t testing.TB, cmds []*exec.Cmd) ([]bool, []string) {
	t.Helper()
	outs := make([]strings.Builder, len(cmds))
	for i, c := range cmds {
		c.Stdout, c.Stderr = &outs[i], &outs[i]
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	ok := make([]bool, len(cmds))
	texts := make([]string, len(cmds))
	for i, c := range cmds {
		ok[i] = c.Wait() == nil
		texts[i] = outs[i].String()
	}
	return ok, texts
}

// fileSize is `stat -c %s`.
func fileSize(t testing.TB, path string) int {
	t.Helper()
	return atoi(run(t, "", "stat", "-c", "%s", path))
}

// catBytes is the content `cat` prints.
func catBytes(t testing.TB, path string) string {
	t.Helper()
	out, err := exec.Command("cat", path).Output()
	if err != nil {
		t.Fatalf("cat %s: %v", path, err)
	}
	return string(out)
}

// sortedCopy returns a sorted copy of names.
func sortedCopy(names []string) []string {
	out := append([]string(nil), names...)
	sort.Strings(out)
	return out
}

// mustNotExist fails when path exists (as seen by ls).
func mustNotExist(t testing.TB, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("%s still exists (err=%v)", path, err)
	}
}

// landDataset makes the pipeline folders of specs in a temporary
// runs/<ds>/ and copies that folder into the mount with cp -r. It returns
// the temporary dataset folder (the sources to compare with).
func landDataset(t testing.TB, mnt, ds string, specs ...pipeSpec) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), ds)
	for _, s := range specs {
		makePipeline(t, src, s)
	}
	cpR(t, src, filepath.Join(mnt, "runs"))
	return src
}

// landPipeline makes one pipeline folder and copies it into runs/<ds>/.
func landPipeline(t testing.TB, mnt, ds, src string, spec pipeSpec) {
	t.Helper()
	cpR(t, makePipeline(t, src, spec), filepath.Join(mnt, "runs", ds))
}

// threeSpecs are the pipelines of most tests: 0002 is the best (test rmse 0.3).
var threeSpecs = []pipeSpec{
	{pid: "0001_a_x1", testRMSE: 0.5},
	{pid: "0002_b_x2", testRMSE: 0.3},
	{pid: "0003_c_x3", testRMSE: 0.4},
}
