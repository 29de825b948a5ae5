//go:build linux

package integration

// The docs test: the shell commands of README.md and docs/USER_GUIDE.md run
// as written, in order, each ```sh block in its own `bash` with
// `set -euo pipefail`, against a real store and mount in a temporary folder
// with the test's build of n4ws on PATH. The guide's ```sql blocks run with
// DuckDB (integration/duckdb/cmd/duckq) in $WS/catalog at their place in the
// guide. A block whose first line is "# docs-test: skip (reason)" is not
// run; TestDocsBlocks checks that no shell block escapes the test in another
// way. The systemd user unit and the fstab line of the guide have tests of
// their own (TestDocsSystemdUnit, TestDocsFstab).

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	docsSkipMarker = "# docs-test: skip"
	// docsBlockTimeout bounds one block: the guide's longest (demo data,
	// library zips of a dataset) take a few seconds with the -race build.
	docsBlockTimeout = 3 * time.Minute
	readmeDoc        = "README.md"
	guideDoc         = "docs/USER_GUIDE.md"
	unitFile         = "docs/systemd/n4ws.service"
)

// docRun is the environment the blocks of one document run in.
type docRun struct {
	dir     string   // working directory of every block
	env     []string // environment of every block
	catalog string   // the folder SQL blocks resolve file names in
	// scripts are the script blocks the document may hold, by name: another
	// test runs them.
	scripts []string
	// mustRun are commands that must appear in blocks that ran, so that no
	// workflow can drop out of the test by being marked skipped.
	mustRun []string
	// owners are the tests that run blocks of the document themselves
	// ("<!-- docs-test: run by TestX -->"), with their expected output.
	owners []string
}

// docEnv returns the test's environment with n4ws on PATH and the store
// variables replaced by set ("" removes one).
func docEnv(set map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; ok || k == "PATH" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "PATH="+filepath.Dir(n4wsBin)+":"+os.Getenv("PATH"))
	for k, v := range set {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// runDoc runs the blocks of a document in order and checks that every
// runnable block ran. It stops at the first block that fails.
func runDoc(t *testing.T, doc string, r docRun) {
	t.Helper()
	blocks := parseDoc(t, doc)
	checkBlocks(t, blocks)
	if t.Failed() {
		t.FailNow()
	}
	var runnable, ran, skipped []docBlock
	expect := map[int]string{} // index in runnable -> expected output
	var prev docBlock
	for _, b := range blocks {
		switch {
		case b.output && prev.owner != "":
			// The owner of the block before checks this output.
		case b.output:
			if len(runnable) == 0 || runnable[len(runnable)-1].line != prev.line {
				t.Errorf("%v: %s follows %v, which the test does not run", b, docsOutputMarker, prev)
			} else {
				expect[len(runnable)-1] += b.text + "\n"
			}
		case b.skip != "":
			skipped = append(skipped, b)
		case b.owner != "":
			if !slices.Contains(r.owners, b.owner) {
				t.Errorf("%v: run by %s, which is not a test of this document", b, b.owner)
			}
		case b.isScript():
			if !slices.Contains(r.scripts, b.scriptName()) {
				t.Errorf("%v: script %q: no test runs it", b, b.scriptName())
			}
		case b.lang == "sh" || b.lang == "python" || b.lang == "sql":
			runnable = append(runnable, b)
		}
		if !b.output {
			prev = b
		}
	}
	var sqlUnrun []docBlock
	for i, b := range runnable {
		start := time.Now()
		var out string
		var err error
		switch b.lang {
		case "sh":
			out, err = docExec(r.dir, r.env, "", "bash", "-c", "set -euo pipefail\n"+b.text)
		case "python":
			out, err = docExec(r.dir, r.env, b.text, "python3", "-")
		case "sql":
			duckq, why := duckqBin(t)
			if duckq == "" {
				sqlUnrun = append(sqlUnrun, b)
				t.Logf("%v: not run: %s", b, why)
				continue
			}
			out, err = docSQL(duckq, r.catalog, b.text)
		}
		if err != nil {
			t.Fatalf("%v failed: %v\n--- block ---\n%s\n--- output ---\n%s", b, err, b.text, out)
		}
		t.Logf("%v ran in %v:\n%s", b, time.Since(start).Round(time.Millisecond), out)
		if want, ok := expect[i]; ok {
			if err := expectOutput(want, out); err != nil {
				t.Fatalf("%v: %v\n--- block ---\n%s\n--- output ---\n%s", b, err, b.text, out)
			}
		}
		ran = append(ran, b)
	}
	if len(ran)+len(sqlUnrun) != len(runnable) {
		t.Fatalf("%s: %d runnable blocks, %d ran", doc, len(runnable), len(ran))
	}
	for _, cmd := range r.mustRun {
		if !slices.ContainsFunc(ran, func(b docBlock) bool { return strings.Contains(b.text, cmd) }) {
			t.Errorf("%s: no block that ran contains %q", doc, cmd)
		}
	}
	for _, b := range skipped {
		t.Logf("%v skipped: %s", b, b.skip)
	}
	t.Logf("%s: %d blocks ran, %d skipped", doc, len(ran), len(skipped))
	if len(sqlUnrun) > 0 {
		msg := fmt.Sprintf("%s: %d SQL blocks not run (no duckq)", doc, len(sqlUnrun))
		if os.Getenv("CI") == "true" {
			t.Error(msg)
		} else if !t.Failed() {
			t.Skip(msg)
		}
	}
}

// docExec runs one block and returns its combined output.
func docExec(dir string, env []string, stdin, name string, args ...string) (string, error) {
	return docExecWithin(docsBlockTimeout, dir, env, stdin, name, args...)
}

// docExecWithin is docExec with another time limit.
func docExecWithin(timeout time.Duration, dir string, env []string, stdin, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdin = strings.NewReader(stdin)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (timeout after %v)", err, timeout)
	}
	return string(out), err
}

// docSQL runs a query with duckq in dir and requires at least one row.
func docSQL(duckq, dir, query string) (string, error) {
	out, err := exec.Command(duckq, "-dir", dir, "-n", "1", query).CombinedOutput()
	if err != nil {
		return string(out), err
	}
	var rep struct {
		Rows int `json:"rows"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return string(out), fmt.Errorf("duckq output: %v", err)
	}
	if rep.Rows == 0 {
		return string(out), fmt.Errorf("the query returned no rows")
	}
	return string(out), nil
}

var (
	duckqOnce sync.Once
	duckqPath string
	duckqWhy  string
)

// duckqBin builds integration/duckdb/cmd/duckq (DuckDB's Go driver, a module
// of its own) once; it returns "" and why when that fails.
func duckqBin(t testing.TB) (string, string) {
	duckqOnce.Do(func() {
		bin := filepath.Join(filepath.Dir(n4wsBin), "duckq")
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/duckq")
		cmd.Dir = filepath.Join(docsRoot(t), "integration", "duckdb")
		if out, err := cmd.CombinedOutput(); err != nil {
			duckqWhy = fmt.Sprintf("go build ./cmd/duckq in integration/duckdb: %v\n%s", err, out)
			return
		}
		duckqPath = bin
	})
	return duckqPath, duckqWhy
}

// cleanupDocMount unmounts mnt if a document left it mounted (a failed
// block) and checks its daemon like every other test's.
func cleanupDocMount(t *testing.T, store, mnt string) {
	t.Cleanup(func() {
		pid, _ := readPID(store)
		cleanupMount(t, store, mnt, pid)
	})
}

func mkdirs(t testing.TB, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		mkdirAll(t, d)
	}
}

// TestDocsReadme runs README.md's blocks as a user who built bin/n4ws in
// the current folder and whose training wrote results/: HOME is a temporary
// folder, so ~/workspace and the default store (~/.local/share/n4ws) are in
// it. The make demo and go build blocks are run by TestDocsReadmeDemo in a
// copy of the checkout. The one block skipped is `make test`: make test
// runs this very test, so running it here would recurse (and take the
// whole suite's time); its target is checked with make -n.
func TestDocsReadme(t *testing.T) {
	if fuseMissing != "" {
		t.Skip(fuseMissing)
	}
	root := docsRoot(t)
	run(t, root, "make", "-n", "test")
	var skipped []docBlock
	for _, b := range parseDoc(t, readmeDoc) {
		if b.skip != "" {
			skipped = append(skipped, b)
		}
	}
	if len(skipped) != 1 || strings.TrimSpace(strings.Split(skipped[0].text, "#")[0]) != "make test" {
		t.Errorf("README.md skips %v, want only the block of make test", skipped)
	}
	tmp := t.TempDir()
	home, work := filepath.Join(tmp, "home"), filepath.Join(tmp, "work")
	mkdirs(t, home, filepath.Join(work, "bin"))
	if err := os.Symlink(n4wsBin, filepath.Join(work, "bin", "n4ws")); err != nil {
		t.Fatal(err)
	}
	// results/: what a training run wrote (a PLS pipeline folder).
	src := makePipeline(t, filepath.Join(tmp, "training"), pipeSpec{pid: "0001_pls_a1b2c3", testRMSE: 0.31})
	if err := os.Rename(src, filepath.Join(work, "results")); err != nil {
		t.Fatal(err)
	}
	cleanupDocMount(t, filepath.Join(home, ".local", "share", "n4ws"), filepath.Join(home, "workspace"))
	runDoc(t, readmeDoc, docRun{
		dir:    work,
		env:    docEnv(map[string]string{"HOME": home, "N4WS_STORE": "", "XDG_DATA_HOME": "", "WS": ""}),
		owners: []string{"TestDocsReadmeDemo", "TestLiveReadmeBlock"},
		mustRun: []string{"bin/n4ws mount ~/workspace", "cp -a results/.", "best_*.csv", "bin/n4ws catalog best",
			"bin/n4ws library save", "bin/n4ws catalog archive", "bin/n4ws runs delete", "bin/n4ws gc",
			"bin/n4ws umount ~/workspace"},
	})
	if isMounted(filepath.Join(home, "workspace")) {
		t.Errorf("README.md ends with n4ws umount, but ~/workspace is still mounted")
	}
}

// TestDocsUserGuide runs docs/USER_GUIDE.md's blocks with WS and N4WS_STORE
// in a temporary folder (HOME too, so that nothing reaches the real one).
func TestDocsUserGuide(t *testing.T) {
	if fuseMissing != "" {
		t.Skip(fuseMissing)
	}
	tmp := t.TempDir()
	home, work := filepath.Join(tmp, "home"), filepath.Join(tmp, "work")
	store, ws := filepath.Join(tmp, "store"), filepath.Join(tmp, "ws")
	mkdirs(t, home, work)
	cleanupDocMount(t, store, ws)
	runDoc(t, guideDoc, docRun{
		dir:     work,
		env:     docEnv(map[string]string{"HOME": home, "N4WS_STORE": store, "WS": ws, "XDG_DATA_HOME": ""}),
		catalog: filepath.Join(ws, "catalog"),
		scripts: []string{"n4ws-fstab"},
		mustRun: []string{`n4ws mount "$WS"`, "n4ws runs next-id", "mkdir", "cp -a results/.", "best_*.csv",
			"n4ws catalog best", "n4ws catalog list", "os.getxattr", "n4ws library save --filtered",
			"n4ws catalog archive", "n4ws runs archive", "n4ws runs list", "n4ws runs delete",
			"--confirm", "n4ws gc", `n4ws umount "$WS"`, "predictions.parquet"},
	})
	if isMounted(ws) {
		t.Errorf("the guide unmounts $WS, but it is still mounted")
	}
	// What the guide claims after its last block.
	out := n4ws(t, store, "fsck")
	if !strings.Contains(out, "clean") {
		t.Errorf("n4ws fsck after the guide:\n%s", out)
	}
}
