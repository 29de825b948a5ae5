//go:build linux

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The nirs4all stand-in (testdata/nirs4all_standin) writes at the mount
// root exactly what nirs4all 0.11 writes in its workspace
// (NIRS4ALL_WORKSPACE=<mnt>), and the mount projects store.sqlite into
// runs/ as it goes.

const standinPy = "testdata/nirs4all_standin/standin.py"

// standinCmd is `standin.py mode` on workspace ws.
func standinCmd(ws, mode string, args ...string) *exec.Cmd {
	cmd := exec.Command("python3", append([]string{standinPy, mode, "--parquetw", parquetwBin}, args...)...)
	cmd.Env = append(os.Environ(), "NIRS4ALL_WORKSPACE="+ws)
	return cmd
}

func standin(t testing.TB, ws, mode string, args ...string) {
	t.Helper()
	if out, err := standinCmd(ws, mode, args...).CombinedOutput(); err != nil {
		t.Fatalf("standin.py %s %v: %v\n%s", mode, args, err, out)
	}
}

// commitEvent is one line of the stand-in's --commit-log.
type commitEvent struct {
	T        float64 `json:"t"`
	Event    string  `json:"event"`
	Dataset  string  `json:"dataset"`
	Pipeline string  `json:"pipeline_id"`
	Name     string  `json:"name"`
}

func readCommits(t testing.TB, path string) []commitEvent {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []commitEvent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e commitEvent
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out
}

// pipelineDirs lists the pipeline folders of runs/<ds> in the mount.
func pipelineDirs(mnt, ds string) []string {
	ents, err := os.ReadDir(filepath.Join(mnt, "runs", ds))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && e.Name()[0] >= '0' && e.Name()[0] <= '9' {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestLiveProjection runs nirs4all (the stand-in) at the mount root one
// pipeline at a time and checks, after each pipeline's last commit, that
// its folder is there with its files; then, after nirs4all closed its
// store, the best file, a second run numbered after the first without
// renumbering it, and that `n4ws import` of the same workspace into
// another store gives the same folders.
func TestLiveProjection(t *testing.T) {
	store := newStore(t)
	mnt := mountStore(t, store)
	gate, logf := t.TempDir(), filepath.Join(t.TempDir(), "commits.jsonl")
	cmd := standinCmd(mnt, "run", "--datasets", "wheat,corn", "--pipelines", "3", "--fail", "2",
		"--gate", gate, "--commit-log", logf)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	numbers := map[string]int{}
	shown := &shownFolders{mnt: mnt, datasets: []string{"wheat", "corn"}}
	const steps = 8 // per dataset: 3 pipelines and the refit of the best
	for step := 1; step <= steps; step++ {
		writeFile(t, filepath.Join(gate, fmt.Sprintf("go-%d", step)), nil)
		var last commitEvent
		if !waitFor(30*time.Second, func() bool {
			ends := 0
			for _, e := range readCommits(t, logf) {
				if e.Event == "pipeline_complete" || e.Event == "pipeline_failed" {
					ends, last = ends+1, e
				}
			}
			return ends == step
		}) {
			t.Fatalf("step %d: nirs4all did not finish the pipeline: %s", step, out.String())
		}
		numbers[last.Dataset]++
		dir := filepath.Join(mnt, "runs", last.Dataset, fmt.Sprintf("%04d_%s", numbers[last.Dataset], last.Name))
		want := "metrics.json"
		if last.Event == "pipeline_failed" {
			want = "error.log"
		}
		start := time.Now()
		if !waitFor(20*time.Second, func() bool {
			for _, f := range []string{want, "manifest.yaml", "pipeline.json"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					return false
				}
			}
			return true
		}) {
			t.Fatalf("step %d: %s/%s not there; runs/%s has %v\n%s", step, dir, want, last.Dataset, pipelineDirs(mnt, last.Dataset), logTail(store))
		}
		t.Logf("step %d: %s/%s visible %v after the commit was seen", step, filepath.Base(dir), want, time.Since(start).Round(time.Millisecond))
		shown.check(t, fmt.Sprintf("step %d", step))
		for _, f := range []string{"manifest.yaml", "pipeline.json"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("step %d: %v", step, err)
			}
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stand-in: %v\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("stand-in did not end")
	}
	// nirs4all closed its store: the run's row changed at its end, which
	// re-projects its pipelines (their manifests show it), never renumbers.
	if !waitFor(20*time.Second, func() bool { return runEndShown(t, mnt, "wheat", "corn") }) {
		t.Errorf("after close, not every manifest.yaml shows the run completed")
	}
	shown.check(t, "after close")
	want := storePipelines(t, mnt)
	for _, ds := range []string{"wheat", "corn"} {
		checkCreationOrder(t, ds, pipelineDirs(mnt, ds), want[ds])
		checkLiveBest(t, mnt, ds)
		checkBestIsStoreBest(t, mnt, ds)
	}
	first := pipelineDirs(mnt, "wheat")
	manifest := readFile(t, filepath.Join(mnt, "runs/wheat", first[0], "manifest.yaml"))
	standin(t, mnt, "run", "--datasets", "wheat", "--pipelines", "2")
	if !waitFor(20*time.Second, func() bool { return len(pipelineDirs(mnt, "wheat")) == len(first)+3 }) {
		t.Fatalf("after a second run: %v", pipelineDirs(mnt, "wheat"))
	}
	if got := pipelineDirs(mnt, "wheat"); strings.Join(got[:len(first)], " ") != strings.Join(first, " ") ||
		readFile(t, filepath.Join(mnt, "runs/wheat", first[0], "manifest.yaml")) != manifest {
		t.Errorf("the second run changed the first run's folders: %v, was %v", got, first)
	}
	checkImportSameTree(t, mnt)
}

// checkLiveBest: best_<pipeline>.csv is a copy of that pipeline's
// predictions.csv.
func checkLiveBest(t *testing.T, mnt, ds string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(mnt, "runs", ds))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if pid, ok := strings.CutPrefix(e.Name(), "best_"); ok {
			pid = strings.TrimSuffix(pid, ".csv")
			cmpFiles(t, filepath.Join(mnt, "runs", ds, pid, "predictions.csv"), filepath.Join(mnt, "runs", ds, e.Name()))
			return
		}
	}
	t.Errorf("runs/%s has no best_*.csv: %v", ds, ents)
}

// checkImportSameTree imports the mount root (store.sqlite read through
// the mount by the CLI) into a second store and compares the pipeline
// folders and _binaries with diff -r.
func checkImportSameTree(t *testing.T, mnt string) {
	t.Helper()
	store2 := newStore(t)
	n4ws(t, store2, "import", mnt)
	mnt2 := mountStore(t, store2)
	for _, ds := range []string{"wheat", "corn"} {
		if n := len(pipelineDirs(mnt2, ds)); n == 0 || n != len(pipelineDirs(mnt, ds)) {
			t.Errorf("runs/%s: n4ws import made %d pipeline folders, the live view shows %d", ds, n, len(pipelineDirs(mnt, ds)))
		}
		// diff exits non-zero, and run fails the test with its output, when
		// the trees differ in any file or name.
		run(t, "", "diff", "-r", "--exclude=_nirs4all", filepath.Join(mnt, "runs", ds), filepath.Join(mnt2, "runs", ds))
	}
}

// TestLiveKill9 kills the mount with SIGKILL while nirs4all runs: after a
// remount, SQLite's integrity_check passes on store.sqlite, every
// pipeline whose row nirs4all committed is there, and the projection
// shows each as a folder.
func TestLiveKill9(t *testing.T) {
	store := newStore(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	pid := mountAt(t, store, mnt)
	logf := filepath.Join(t.TempDir(), "commits.jsonl")
	cmd := standinCmd(mnt, "run", "--datasets", "soy", "--pipelines", "40", "--train-ms", "60", "--commit-log", logf)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	if !waitFor(60*time.Second, func() bool {
		n := 0
		for _, e := range readCommits(t, logf) {
			if e.Event == "pipeline_complete" {
				n++
			}
		}
		return n >= 5
	}) {
		t.Fatalf("no 5 pipelines committed: %s", out.String())
	}
	killDaemon(t, pid)
	// A snapshot child caught mid-read gets an error from the dead mount
	// and exits: it holds no FUSE connection of its own that would keep
	// its request (and the mount point) waiting for ever.
	if !waitFor(10*time.Second, func() bool { return len(snapshotChildren(mnt)) == 0 }) {
		t.Errorf("snapshot-store children of the killed mount still running: %v", snapshotChildren(mnt))
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
	}
	committed := map[string]bool{}
	for _, e := range readCommits(t, logf) {
		if e.Event == "pipeline_begin" {
			committed[e.Pipeline] = true
		}
	}
	mountAt(t, store, mnt)
	db := filepath.Join(mnt, "store.sqlite")
	if check := py(t, `import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("PRAGMA busy_timeout=5000")
print(c.execute("PRAGMA integrity_check").fetchone()[0])
c.close()`, db); check != "ok" {
		t.Fatalf("integrity_check after kill -9: %q", check)
	}
	have := map[string]bool{}
	for _, id := range strings.Fields(py(t, `import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
print(" ".join(r[0] for r in c.execute("SELECT pipeline_id FROM pipelines")))
c.close()`, db)) {
		have[id] = true
	}
	for id := range committed {
		if !have[id] {
			t.Errorf("pipeline %s, committed before the kill, is missing", id)
		}
	}
	if !waitFor(20*time.Second, func() bool { return len(pipelineDirs(mnt, "soy")) == len(have) }) {
		t.Errorf("after the remount runs/soy has %d folders, store.sqlite %d pipelines", len(pipelineDirs(mnt, "soy")), len(have))
	}
	t.Logf("killed after %d committed pipelines; %d in the store after remount", len(committed), len(have))
}

// TestLiveFuseDeviceNotInherited: the mount process holds /dev/fuse only
// close-on-exec, so the children it starts (the live projection's
// `n4ws snapshot-store`) do not hold the FUSE connection. One that did
// kept a killed mount's connection alive while it waited for the answer
// to its own open of store.sqlite: neither the child nor the mount point
// ever ended.
func TestLiveFuseDeviceNotInherited(t *testing.T) {
	store := newStore(t)
	pid := mountAt(t, store, filepath.Join(t.TempDir(), "mnt"))
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		t.Fatal(err)
	}
	devices := 0
	for _, e := range ents {
		if target, _ := os.Readlink(filepath.Join(fdDir, e.Name())); target != "/dev/fuse" {
			continue
		}
		devices++
		info := readFile(t, fmt.Sprintf("/proc/%d/fdinfo/%s", pid, e.Name()))
		var flags int64 = -1
		for _, line := range strings.Split(info, "\n") {
			if v, ok := strings.CutPrefix(line, "flags:"); ok {
				fmt.Sscanf(strings.TrimSpace(v), "%o", &flags)
			}
		}
		if flags < 0 || flags&syscall.O_CLOEXEC == 0 {
			t.Errorf("the mount process holds /dev/fuse as fd %s without close-on-exec (fdinfo: %q)", e.Name(), info)
		}
	}
	if devices == 0 {
		t.Errorf("the mount process %d holds no /dev/fuse", pid)
	}
}
