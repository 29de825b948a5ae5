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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
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

// docBlock is one fenced code block of a markdown file.
type docBlock struct {
	file string
	line int    // line of the opening fence, 1-based
	lang string // first word of the info string ("sh", "sql", "" ...)
	text string // the body, without the fence's indentation
	skip string // the reason of a "# docs-test: skip (reason)" first line
}

func (b docBlock) String() string { return fmt.Sprintf("%s:%d (```%s)", b.file, b.line, b.lang) }

func (b docBlock) firstLine() string {
	first, _, _ := strings.Cut(b.text, "\n")
	return strings.TrimSpace(first)
}

// isScript tells a ```sh block that is a script to save (it starts with #!)
// from commands to run.
func (b docBlock) isScript() bool {
	return b.lang == "sh" && strings.HasPrefix(b.firstLine(), "#!")
}

// scriptName is the file name a script block names on its second line:
// "# /usr/local/bin/NAME: ...".
func (b docBlock) scriptName() string {
	lines := strings.SplitN(b.text, "\n", 3)
	if len(lines) < 2 {
		return ""
	}
	m := regexp.MustCompile(`^#\s*(/\S+?):`).FindStringSubmatch(strings.TrimSpace(lines[1]))
	if m == nil {
		return ""
	}
	return filepath.Base(m[1])
}

// docsRoot is the repository root (the tests run in integration/).
func docsRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var fenceRE = regexp.MustCompile("^([ \t]*)(`{3,}|~{3,})(.*)$")

// parseDoc returns the fenced code blocks of a markdown file of the repository.
func parseDoc(t testing.TB, name string) []docBlock {
	t.Helper()
	lines := strings.Split(readFile(t, filepath.Join(docsRoot(t), name)), "\n")
	var blocks []docBlock
	for i := 0; i < len(lines); i++ {
		m := fenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		indent, fence := m[1], m[2]
		info := strings.Fields(m[3])
		b := docBlock{file: name, line: i + 1}
		if len(info) > 0 {
			b.lang = info[0]
		}
		var body []string
		closed := false
		for i++; i < len(lines); i++ {
			l := lines[i]
			if tl := strings.TrimSpace(l); len(tl) >= len(fence) && strings.Trim(tl, fence[:1]) == "" {
				closed = true
				break
			}
			body = append(body, strings.TrimPrefix(l, indent))
		}
		if !closed {
			t.Fatalf("%s:%d: code block is never closed", name, b.line)
		}
		b.text = strings.Join(body, "\n")
		if first := b.firstLine(); strings.HasPrefix(first, docsSkipMarker) {
			b.skip = strings.Trim(strings.TrimSpace(strings.TrimPrefix(first, docsSkipMarker)), "()— -")
		} else if reason, ok := htmlSkip(lines, b.line-1); ok {
			b.skip = reason
		}
		blocks = append(blocks, b)
	}
	return blocks
}

// htmlSkip reads a skip marker written as an HTML comment on the line
// before a fence ("<!-- docs-test: skip (reason) -->"), invisible when the
// markdown is rendered: the README's first block stays two clean commands.
func htmlSkip(lines []string, fence int) (string, bool) {
	if fence < 1 {
		return "", false
	}
	l := strings.TrimSpace(lines[fence-1])
	if !strings.HasPrefix(l, "<!--") || !strings.HasSuffix(l, "-->") {
		return "", false
	}
	inner := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(l, "<!--"), "-->"))
	if !strings.HasPrefix(inner, docsSkipMarker[2:]) {
		return "", false
	}
	return strings.Trim(strings.TrimSpace(strings.TrimPrefix(inner, docsSkipMarker[2:])), "()— -"), true
}

// checkBlocks reports what would let a shell block escape the docs test:
// shell under another fence name, a skip marker without reason or not on the
// first line, a skip of a block kind that is never run anyway.
func checkBlocks(t testing.TB, blocks []docBlock) {
	t.Helper()
	for _, b := range blocks {
		switch b.lang {
		case "bash", "shell", "console", "zsh", "shell-session", "sh-session", "terminal":
			t.Errorf("%v: shell commands go in ```sh blocks, which the docs test runs", b)
		}
		for i, l := range strings.Split(b.text, "\n") {
			if strings.Contains(l, "docs-test:") && (i > 0 || !strings.HasPrefix(strings.TrimSpace(l), docsSkipMarker)) {
				t.Errorf("%v: line %d: the only marker is %q, as the block's first line", b, i+1, docsSkipMarker+" (reason)")
			}
		}
		if strings.HasPrefix(b.firstLine(), docsSkipMarker) {
			if b.skip == "" {
				t.Errorf("%v: %q needs a reason: %s (why)", b, docsSkipMarker, docsSkipMarker)
			}
			if b.lang != "sh" && b.lang != "python" {
				t.Errorf("%v: only sh and python blocks are run, so only they may be marked", b)
			}
		}
		if b.isScript() && b.skip == "" && b.scriptName() == "" {
			t.Errorf("%v: a script block names its file on its second line (# /path/NAME: ...)", b)
		}
		if b.lang == "sh" && b.skip == "" && !b.isScript() {
			for i, l := range strings.Split(b.text, "\n") {
				if code, _, _ := strings.Cut(" "+l, " #"); mustSkipRE.MatchString(code) {
					t.Errorf("%v: line %d %q: builds, recurses or needs the system; mark the block %s (why)", b, i+1, l, docsSkipMarker)
				}
			}
		}
	}
}

// mustSkipRE matches commands the docs test must not run: builds, the test
// itself, and what changes the system (sudo, systemd).
var mustSkipRE = regexp.MustCompile(`(^|[\s;&|(])(make( \S+)*|go (build|test|install)|sudo|systemctl|loginctl|journalctl)(\s|$)`)

// TestDocsBlocks checks the markers of both documents (no mount needed).
func TestDocsBlocks(t *testing.T) {
	for _, doc := range []string{readmeDoc, guideDoc} {
		blocks := parseDoc(t, doc)
		checkBlocks(t, blocks)
		if len(blocks) == 0 {
			t.Errorf("%s: no code blocks found", doc)
		}
	}
}

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
	for _, b := range blocks {
		switch {
		case b.skip != "":
			skipped = append(skipped, b)
		case b.isScript():
			if !slices.Contains(r.scripts, b.scriptName()) {
				t.Errorf("%v: script %q: no test runs it", b, b.scriptName())
			}
		case b.lang == "sh" || b.lang == "python" || b.lang == "sql":
			runnable = append(runnable, b)
		}
	}
	var sqlUnrun []docBlock
	for _, b := range runnable {
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
	ctx, cancel := context.WithTimeout(context.Background(), docsBlockTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdin = strings.NewReader(stdin)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (timeout after %v)", err, docsBlockTimeout)
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
// it. The first block (make demo, make test) is skipped; the targets are
// checked with make -n.
func TestDocsReadme(t *testing.T) {
	if fuseMissing != "" {
		t.Skip(fuseMissing)
	}
	root := docsRoot(t)
	for _, target := range []string{"demo", "test"} {
		run(t, root, "make", "-n", target)
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
		dir: work,
		env: docEnv(map[string]string{"HOME": home, "N4WS_STORE": "", "XDG_DATA_HOME": "", "WS": ""}),
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

// unitDirectives parses a systemd unit: section -> key -> values.
func unitDirectives(text string) map[string]map[string][]string {
	units := map[string]map[string][]string{}
	section := ""
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			section = l[1 : len(l)-1]
			if units[section] == nil {
				units[section] = map[string][]string{}
			}
		default:
			k, v, _ := strings.Cut(l, "=")
			units[section][strings.TrimSpace(k)] = append(units[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return units
}

// unitCommand turns an Exec line into argv as systemd would for this unit:
// the "-" prefix dropped, %h replaced by home. Other specifiers, quotes and
// variables are not used by the unit, and fail the test.
func unitCommand(t testing.TB, line, home string) []string {
	t.Helper()
	line = strings.TrimPrefix(line, "-")
	line = strings.ReplaceAll(line, "%h", home)
	if strings.ContainsAny(line, `%"'$\`) {
		t.Fatalf("unit command %q: uses more than %%h; extend unitCommand", line)
	}
	return strings.Fields(line)
}

// systemdState describes whether a systemd user manager runs here.
func systemdState() string {
	var parts []string
	if out, err := exec.Command("pidof", "systemd").Output(); err == nil {
		parts = append(parts, "systemd pids "+strings.TrimSpace(string(out)))
	} else {
		parts = append(parts, "no systemd process (pidof systemd)")
	}
	if out, err := exec.Command("systemctl", "--user", "is-system-running").CombinedOutput(); err == nil {
		parts = append(parts, "systemctl --user: "+strings.TrimSpace(string(out)))
	} else {
		parts = append(parts, fmt.Sprintf("systemctl --user: %v %s", err, strings.TrimSpace(string(out))))
	}
	return strings.Join(parts, "; ")
}

// TestDocsSystemdUnit checks docs/systemd/n4ws.service: the guide shows it
// as it is, systemd-analyze verifies it (when installed), and its command
// lines do what systemd would have them do, run by hand with %h a temporary
// home. Starting it through systemd is not tested: the test machine runs no
// systemd (the state is logged).
func TestDocsSystemdUnit(t *testing.T) {
	root := docsRoot(t)
	unit := readFile(t, filepath.Join(root, unitFile))
	shown := 0
	for _, b := range parseDoc(t, guideDoc) {
		if b.lang == "ini" {
			shown++
			if strings.TrimSpace(b.text) != strings.TrimSpace(unit) {
				t.Errorf("%v differs from %s", b, unitFile)
			}
		}
	}
	if shown != 1 {
		t.Errorf("%s shows the unit %d times, want once (an ```ini block)", guideDoc, shown)
	}
	d := unitDirectives(unit)
	want := map[string]map[string]string{
		"Service": {
			"ExecStart":    "%h/.local/bin/n4ws mount --foreground %h/workspace",
			"ExecStartPre": "%h/.local/bin/n4ws init",
			"ExecStop":     "-%h/.local/bin/n4ws umount %h/workspace",
			"Restart":      "on-failure",
		},
		"Install": {"WantedBy": "default.target"},
	}
	for sec, kv := range want {
		for k, v := range kv {
			if got := d[sec][k]; len(got) != 1 || got[0] != v {
				t.Errorf("%s: [%s] %s = %q, want %q", unitFile, sec, k, got, v)
			}
		}
	}
	t.Logf("systemd here: %s", systemdState())
	if t.Failed() {
		t.FailNow()
	}
	if fuseMissing != "" {
		t.Skip(fuseMissing)
	}
	tmp := t.TempDir()
	home := filepath.Join(tmp, "home")
	mkdirs(t, filepath.Join(home, ".local", "bin"))
	if err := os.Symlink(n4wsBin, filepath.Join(home, ".local", "bin", "n4ws")); err != nil {
		t.Fatal(err)
	}

	// systemd-analyze checks the unit's syntax and that its programs exist:
	// the unit's n4ws is pointed at the test's build.
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Logf("systemd-analyze is not installed: the unit is not verified")
	} else {
		runtime := filepath.Join(tmp, "runtime")
		if err := os.Mkdir(runtime, 0o700); err != nil {
			t.Fatal(err)
		}
		verified := filepath.Join(tmp, "n4ws.service")
		writeFile(t, verified, []byte(strings.ReplaceAll(unit, "%h/.local/bin/n4ws", n4wsBin)))
		cmd := exec.Command("systemd-analyze", "--user", "verify", verified)
		cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+runtime)
		if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze --user verify: %v\n%s", err, out)
		}
	}

	env := docEnv(map[string]string{"HOME": home, "N4WS_STORE": "", "XDG_DATA_HOME": "", "WS": ""})
	store := filepath.Join(home, ".local", "share", "n4ws")
	mnt := filepath.Join(home, "workspace")
	argv := func(key string) []string { return unitCommand(t, d["Service"][key][0], home) }
	cleanupDocMount(t, store, mnt)

	pre := argv("ExecStartPre")
	if out, err := docExec("", env, "", pre[0], pre[1:]...); err != nil {
		t.Fatalf("ExecStartPre %v: %v\n%s", pre, err, out)
	}
	// start runs ExecStart until the workspace is mounted; the returned
	// channel is closed once the process has exited (cmd.ProcessState set).
	probes := 0
	start := func() (*exec.Cmd, *bytes.Buffer, chan struct{}) {
		t.Helper()
		a := argv("ExecStart")
		cmd := exec.Command(a[0], a[1:]...)
		var out bytes.Buffer
		cmd.Env, cmd.Stdout, cmd.Stderr = env, &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			// The last resort, for a test that failed half-way.
			select {
			case <-exited:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		})
		ready := waitFor(30*time.Second, func() bool {
			select {
			case <-exited:
				return true
			default:
			}
			// A dead mount left by kill -9 is still listed, and the kernel
			// may answer a stat there from its cache: a name never looked
			// up before reaches the mount process, and a live one answers
			// ENOENT (a dead one ENOTCONN).
			probes++
			_, err := os.Lstat(filepath.Join(mnt, fmt.Sprintf(".docs-probe-%d", probes)))
			pid, _ := readPID(store)
			return isMounted(mnt) && errors.Is(err, fs.ErrNotExist) && pid == cmd.Process.Pid
		})
		select {
		case <-exited:
			t.Fatalf("ExecStart %v exited before mounting: %v\n%s%s", a, cmd.ProcessState, out.String(), logTail(store))
		default:
		}
		if !ready {
			pid, _ := readPID(store)
			_, err := os.Lstat(filepath.Join(mnt, "runs"))
			t.Fatalf("ExecStart %v (pid %d): %s not mounted after 30 s: mounted %t, lock pid %d, stat: %v\n%s",
				a, cmd.Process.Pid, mnt, isMounted(mnt), pid, err, logTail(store))
		}
		return cmd, &out, exited
	}
	waitExit := func(exited chan struct{}, what string) {
		t.Helper()
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the ExecStart process is still running after 30 s", what)
		}
	}

	// Start, use, stop.
	cmd, out, exited := start()
	if names := lsNames(t, mnt); !slices.Equal(names, []string{"catalog", "exports", "library", "runs"}) {
		t.Errorf("ls %s: %v", mnt, names)
	}
	stop := argv("ExecStop")
	if o, err := docExec("", env, "", stop[0], stop[1:]...); err != nil {
		t.Fatalf("ExecStop %v: %v\n%s", stop, err, o)
	}
	waitExit(exited, "after ExecStop")
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("after ExecStop the ExecStart process exited with %v, want 0 (systemd would count a failure)\n%s", cmd.ProcessState, out)
	}
	if isMounted(mnt) {
		t.Errorf("%s still mounted after ExecStop", mnt)
	}

	// Restart=on-failure after a crash: kill -9 leaves a dead mount point,
	// and ExecStart run again must mount over it.
	cmd, _, exited = start()
	writeFile(t, filepath.Join(mnt, "runs", "wheat", "0001_pls_a1b2c3", "notes.txt"), []byte("kept\n"))
	if err := signalDaemon(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitExit(exited, "after SIGKILL")
	cmd, out, exited = start()
	if got := readFile(t, filepath.Join(mnt, "runs", "wheat", "0001_pls_a1b2c3", "notes.txt")); got != "kept\n" {
		t.Errorf("after the restart, notes.txt = %q", got)
	}
	// systemd's own stop, when ExecStop did not end it: SIGTERM.
	if err := signalDaemon(cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitExit(exited, "after SIGTERM")
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("after SIGTERM the ExecStart process exited with %v, want 0\n%s", cmd.ProcessState, out)
	}
	if isMounted(mnt) {
		t.Errorf("%s still mounted after SIGTERM", mnt)
	}
}

// mountFuse3 finds the helper mount(8) runs for fuse.* types.
func mountFuse3() string {
	if p, err := exec.LookPath("mount.fuse3"); err == nil {
		return p
	}
	for _, p := range []string{"/sbin/mount.fuse3", "/usr/sbin/mount.fuse3"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// TestDocsFstab checks the guide's fstab line and its helper script: as root,
// it saves the helper (with /usr/local/bin replaced by a temporary folder
// holding the test's n4ws) and runs mount.fuse3 with the line's source,
// mount point, type and options (alice and /home/alice replaced by the
// current user and a temporary home), which is what mount(8) does for the
// line. Editing /etc/fstab and the boot are not tested.
func TestDocsFstab(t *testing.T) {
	var line, script string
	for _, b := range parseDoc(t, guideDoc) {
		if b.lang == "fstab" {
			if line != "" {
				t.Fatalf("%v: more than one fstab block", b)
			}
			line = strings.TrimSpace(b.text)
		}
		if b.isScript() && b.scriptName() == "n4ws-fstab" {
			script = b.text + "\n"
		}
	}
	if line == "" || script == "" {
		t.Fatalf("%s: want an ```fstab block and the n4ws-fstab script (found line %q, script %t)", guideDoc, line, script != "")
	}
	f := strings.Fields(line)
	if len(f) != 6 || f[2] != "fuse.n4ws-fstab" || !strings.HasPrefix(f[0], "/home/alice/") ||
		!strings.HasPrefix(f[1], "/home/alice/") || !slices.Contains(strings.Split(f[3], ","), "setuid=alice") {
		t.Fatalf("fstab line %q: want SOURCE MOUNTPOINT fuse.n4ws-fstab OPTIONS(setuid=alice) 0 0, under /home/alice", line)
	}
	if !strings.Contains(script, "/usr/local/bin/n4ws ") {
		t.Fatalf("the n4ws-fstab script does not run /usr/local/bin/n4ws:\n%s", script)
	}
	if fuseMissing != "" {
		t.Skip(fuseMissing)
	}
	if os.Geteuid() != 0 {
		t.Skip("mount.fuse3's setuid= option needs root")
	}
	helper := mountFuse3()
	if helper == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("mount.fuse3 (package fuse3) is missing")
		}
		t.Skip("mount.fuse3 (package fuse3) is missing")
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	home, bin := filepath.Join(tmp, "home"), filepath.Join(tmp, "bin")
	mkdirs(t, home, bin)
	if err := os.Symlink(n4wsBin, filepath.Join(bin, "n4ws")); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(bin, "n4ws-fstab")
	writeFile(t, wrapper, []byte(strings.ReplaceAll(script, "/usr/local/bin/", bin+"/")))
	if err := os.Chmod(wrapper, 0o755); err != nil {
		t.Fatal(err)
	}
	expand := func(s string) string {
		s = strings.ReplaceAll(s, "/home/alice", home)
		return strings.ReplaceAll(s, "setuid=alice", "setuid="+me.Username)
	}
	store, mnt, opts := expand(f[0]), expand(f[1]), expand(f[3])
	// The guide's preparation: the store exists and so does the mount point.
	n4ws(t, store, "init")
	mkdirs(t, mnt)
	cleanupDocMount(t, store, mnt)
	// mount(8) runs: mount.fuse3 SOURCE MOUNTPOINT -o OPTIONS -t fuse.TYPE,
	// with a plain environment (as at boot).
	cmd := exec.Command(helper, store, mnt, "-o", opts, "-t", "fuse."+wrapper)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "GORACE=" + os.Getenv("GORACE")}
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s %s -o %s -t fuse.%s: %v\n%s%s", helper, store, mnt, opts, wrapper, err, out, logTail(store))
	}
	if !isMounted(mnt) {
		t.Fatalf("mount.fuse3 returned 0 but %s is not mounted", mnt)
	}
	if names := lsNames(t, mnt); !slices.Equal(names, []string{"catalog", "exports", "library", "runs"}) {
		t.Errorf("ls %s: %v", mnt, names)
	}
	pid, err := readPID(store)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status"); err == nil {
		uid := "?"
		if m := regexp.MustCompile(`(?m)^Uid:\s+(\d+)`).FindSubmatch(b); m != nil {
			uid = string(m[1])
		}
		if uid != me.Uid {
			t.Errorf("the mount process runs as uid %s, want %s (setuid=%s)", uid, me.Uid, me.Username)
		}
	}
	unmount(t, store, mnt, pid)
}
