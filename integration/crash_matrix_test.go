//go:build linux

package integration

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash matrix (issue 12): kill -9 of the mount at random points while
// a writer works, then remount and check what a user would: fsck clean,
// every file whose close() (or publishing rename) returned is intact, no
// final name holds partial content, and the computed files agree with the
// stored ones. N4WS_CRASH_POINTS sets the kills per scenario (default 2,
// `make crash` uses 20); N4WS_CRASH_SEED replays a run.

// crashPlan returns the number of kill points and a random source whose
// seed is logged so that a failure can be replayed.
func crashPlan(t *testing.T) (int, *rand.Rand) {
	t.Helper()
	points := 2
	if v := os.Getenv("N4WS_CRASH_POINTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("N4WS_CRASH_POINTS=%q: want a positive number", v)
		}
		points = n
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("N4WS_CRASH_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("N4WS_CRASH_SEED=%q: %v", v, err)
		}
		seed = n
	}
	// Each scenario gets its own stream, derived from the seed and its name.
	var h uint64 = 14695981039346656037
	for _, c := range []byte(t.Name()) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	t.Logf("crash plan: %d kill points, replay with N4WS_CRASH_SEED=%d", points, seed)
	return points, rand.New(rand.NewPCG(seed, h))
}

// acceptable records, per final name, the contents (sha256) it may hold
// after a crash; emptySHA among them also allows the name to be missing.
type acceptable struct {
	mu   sync.Mutex
	want map[string]map[string]bool
	// closed counts the files whose close or rename returned.
	closed int
}

var emptySHA = sha(nil)

func newAcceptable() *acceptable { return &acceptable{want: map[string]map[string]bool{}} }

// note reads one crashwriter line about a file below dir.
func (a *acceptable) note(dir, line string) {
	f := strings.Fields(line)
	verb := ""
	if len(f) == 3 {
		verb, f = f[0], f[1:]
	}
	if len(f) != 2 || len(f[0]) != 64 {
		return // a line cut short by the kill
	}
	sum, path := f[0], filepath.Join(dir, f[1])
	a.mu.Lock()
	defer a.mu.Unlock()
	set := a.want[path]
	switch verb {
	case "open": // new content on its way: the old one, or nothing, still counts
		if set == nil {
			set = map[string]bool{emptySHA: true}
		}
		set[sum] = true
	case "": // durable now: only this content
		set = map[string]bool{sum: true}
		a.closed++
	case "gone": // moved away: the name must be free, or still hold it
		set = map[string]bool{emptySHA: true, sum: true}
	}
	a.want[path] = set
}

// check fails for every final name whose content is not acceptable, and
// for any file below roots that no writer announced (temporary names, which
// start with ".tmp", aside).
func (a *acceptable) check(t *testing.T, roots ...string) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	bad := 0
	fail := func(format string, args ...any) {
		if bad++; bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	for path, set := range a.want {
		b, err := os.ReadFile(path)
		switch {
		case os.IsNotExist(err) && set[emptySHA]:
		case err != nil:
			fail("after the crash: %v", err)
		case !set[sha(b)]:
			fail("%s: %d bytes (sha256 %.12s), neither its closed content nor a complete new one", path, len(b), sha(b))
		}
	}
	for _, root := range roots {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".tmp") && !isComputed(p) && a.want[p] == nil {
				fail("%s: a file no writer made", p)
			}
			return nil
		})
	}
	if bad > 0 {
		t.Errorf("%d of %d final names wrong after the crash", bad, len(a.want))
	}
}

// isComputed says whether p is a dataset's computed file (checked apart).
func isComputed(p string) bool {
	name := filepath.Base(p)
	return name == "run_summary.json" || strings.HasPrefix(name, "best_") && strings.HasSuffix(name, ".csv")
}

// TestCrashMatrixWriters kills the mount during a large write, a burst of
// small creates, a rename storm and catalog ingestion of pipeline folders.
func TestCrashMatrixWriters(t *testing.T) {
	for _, mode := range []string{"large", "small", "rename", "pipelines"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			crashWriterScenario(t, mode)
		})
	}
}

func crashWriterScenario(t *testing.T, mode string) {
	points, r := crashPlan(t)
	store := newStore(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	acc := newAcceptable()
	var dirs []string
	for i := range points {
		pid := mountAt(t, store, mnt)
		acc.check(t, dirs...)
		// One dataset per round: the pipeline writer numbers from 0001.
		dir := filepath.Join(mnt, "runs", fmt.Sprintf("crash_%s_%02d", mode, i))
		dirs = append(dirs, dir)
		delay := time.Duration(100+r.IntN(2400)) * time.Millisecond
		killWhileWriting(t, dir, mode, r.Uint64(), delay, pid, acc)
	}
	mountAt(t, store, mnt)
	acc.check(t, dirs...)
	if mode == "pipelines" {
		for _, d := range dirs {
			checkComputed(t, d)
		}
	}
	n4ws(t, store, "fsck")
	t.Logf("%s: %d kills survived, %d files closed before a kill", mode, points, acc.closed)
}

// killWhileWriting runs crashwriter in dir and SIGKILLs the daemon after
// delay; it returns once the writer has failed.
func killWhileWriting(t *testing.T, dir, mode string, seed uint64, delay time.Duration, daemon int, acc *acceptable) {
	t.Helper()
	cmd, stderr, done := spawnWriter(t, dir, mode, seed, acc)
	select {
	case <-done:
		t.Errorf("writer %s stopped before the kill: %s", mode, stderr.String())
	case <-time.After(delay):
	}
	if err := signalDaemon(daemon, syscall.SIGKILL); err != nil {
		t.Errorf("kill -9 daemon %d: %v", daemon, err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Errorf("writer still running 20 s after the daemon was killed")
		cmd.Process.Kill() // our own child
		<-done
	}
	if err := cmd.Wait(); err == nil {
		t.Errorf("writer exited 0; it should have failed when the mount died")
	}
	if !waitGone(daemon, 5*time.Second) {
		t.Fatalf("daemon %d survived SIGKILL", daemon)
	}
	t.Logf("%s: killed the daemon after %v: %s", mode, delay, strings.TrimSpace(stderr.String()))
}

// pipelineTestRMSE is the test RMSE the catalog ranks a pipeline folder
// by: metrics.json's when it is complete, else the one its predictions.csv
// gives (a pipeline killed between closing predictions.csv and writing
// metrics.json still has a score). No predictions.csv, or an empty one:
// not a candidate.
func pipelineTestRMSE(t *testing.T, dir string) (float64, bool) {
	t.Helper()
	preds, err := os.ReadFile(filepath.Join(dir, "predictions.csv"))
	if err != nil || len(preds) == 0 { // empty: created, killed before its close
		return 0, false
	}
	var m struct {
		Test struct{ RMSE *float64 } `json:"test"`
	}
	if b, err := os.ReadFile(filepath.Join(dir, "metrics.json")); err == nil && json.Unmarshal(b, &m) == nil && m.Test.RMSE != nil {
		return *m.Test.RMSE, true
	}
	rows, err := csv.NewReader(strings.NewReader(string(preds))).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("%s/predictions.csv: a closed file that does not parse: %v", dir, err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	sum, n := 0.0, 0
	for _, r := range rows[1:] {
		if r[col["partition"]] != "test" {
			continue
		}
		yt, err1 := strconv.ParseFloat(r[col["y_true"]], 64)
		yp, err2 := strconv.ParseFloat(r[col["y_pred"]], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s/predictions.csv: row %v", dir, r)
		}
		sum, n = sum+(yp-yt)*(yp-yt), n+1
	}
	if n == 0 {
		return 0, false
	}
	return math.Sqrt(sum / float64(n)), true
}

// checkComputed checks a dataset's computed files against its stored
// pipeline folders: run_summary.json counts every folder, and best_*.csv is
// the predictions.csv of the folder with the lowest test RMSE (see
// pipelineTestRMSE).
func checkComputed(t *testing.T, ds string) {
	t.Helper()
	var folders []string
	best, bestRMSE := "", 0.0
	for _, name := range lsNames(t, ds) {
		if len(name) < 5 || name[4] != '_' || strings.Trim(name[:4], "0123456789") != "" {
			continue
		}
		folders = append(folders, name)
		rmse, ok := pipelineTestRMSE(t, filepath.Join(ds, name))
		if ok && (best == "" || rmse < bestRMSE) {
			best, bestRMSE = name, rmse
		}
	}
	var sum runSummary
	pyJSON(t, filepath.Join(ds, "run_summary.json"), &sum)
	if sum.Pipelines != len(folders) {
		t.Errorf("%s/run_summary.json counts %d pipelines, ls shows %d", ds, sum.Pipelines, len(folders))
	}
	files := bestFiles(t, ds)
	switch {
	case best == "" && len(files) != 0:
		t.Errorf("%s: no complete pipeline, yet %v", ds, files)
	case best == "":
	case len(files) != 1 || files[0] != "best_"+best+".csv":
		t.Errorf("%s: best files %v, want best_%s.csv (test rmse %g)", ds, files, best, bestRMSE)
	default:
		cmpFiles(t, filepath.Join(ds, files[0]), filepath.Join(ds, best, "predictions.csv"))
		if sum.Best == nil || sum.Best.Pipeline != best {
			t.Errorf("%s/run_summary.json best %+v, want %s", ds, sum.Best, best)
		}
	}
}
