//go:build linux

package integration

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The CLI half of the crash matrix: kill -9 of `n4ws library save`, `n4ws
// gc` and `n4ws import` mid-operation (with and without a mount running),
// and kill -9 of the mount while they run. Afterwards the store must be
// consistent (fsck clean), nothing stored before may be lost or changed,
// and the same operation must succeed when run again.

// cliOp is one CLI operation of the matrix.
type cliOp struct {
	name string
	// prepare runs before each kill point (mounted at mnt) and returns the
	// arguments of the operation for point i.
	prepare func(t *testing.T, c *cliCrash, i int) []string
	// check runs after the kill, mounted: what the interrupted operation
	// left must be usable, and a second run must succeed.
	check func(t *testing.T, c *cliCrash, i int)
}

// cliCrash is the state of one scenario: a demo store and its mount.
type cliCrash struct {
	store, mnt, ds, from string
	pid                  int
}

func TestCrashMatrixCLI(t *testing.T) {
	ops := []cliOp{
		{"library-save", prepLibrarySave, checkLibrarySave},
		{"gc", prepGC, checkGC},
		{"import", prepImport, checkImport},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			t.Parallel()
			cliCrashScenario(t, op)
		})
	}
}

// crashVictims are killed in turn: the CLI with no mount running, the CLI
// while a mount runs, and the mount while the CLI runs.
var crashVictims = []string{"cli", "cli-mounted", "mount"}

func cliCrashScenario(t *testing.T, op cliOp) {
	points, r := crashPlan(t)
	points = max(points, len(crashVictims))
	c := &cliCrash{store: newStore(t)}
	n4ws(t, c.store, "demo", "--datasets", "1", "--pipelines", "12")
	var rows []runRowJSON
	n4wsJSON(t, c.store, &rows, "runs", "list", "--json")
	for _, row := range rows {
		if row.Pipeline != "" {
			c.ds, c.from = row.Dataset, row.Path
			break
		}
	}
	c.mnt = filepath.Join(t.TempDir(), "mnt")
	c.pid = mountAt(t, c.store, c.mnt)
	// Calibrate: the kill points spread over one unhurried run.
	args := op.prepare(t, c, -1)
	start := time.Now()
	n4ws(t, c.store, args...)
	took := time.Since(start)
	t.Logf("%s takes %v uninterrupted", op.name, took)
	killed := map[string]int{}
	for i := range points {
		victim := crashVictims[i%len(crashVictims)]
		args := op.prepare(t, c, i)
		before := storedFiles(t, c.mnt)
		if victim == "cli" {
			unmount(t, c.store, c.mnt, c.pid)
		}
		delay := time.Duration(r.Int64N(int64(took)*6/5 + 1))
		if killDuringCLI(t, c, victim, delay, args) {
			killed[victim]++
		}
		if !isMounted(c.mnt) || processGone(c.pid) {
			c.pid = mountAt(t, c.store, c.mnt)
		}
		checkStillStored(t, before)
		n4ws(t, c.store, "fsck")
		op.check(t, c, i)
	}
	t.Logf("%s: %d points, kills that landed mid-operation: %v", op.name, points, killed)
}

// killDuringCLI runs `n4ws args` and after delay SIGKILLs it (victim cli,
// cli-mounted) or the mount daemon (victim mount). It reports whether the
// kill landed before the operation had finished.
func killDuringCLI(t *testing.T, c *cliCrash, victim string, delay time.Duration, args []string) bool {
	t.Helper()
	cmd := exec.Command(n4wsBin, append([]string{"--store", c.store}, args...)...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	landed := false
	select {
	case err = <-done:
		t.Logf("%s finished within %v, before the kill: %v", args[0], delay, err)
		if err != nil {
			t.Errorf("n4ws %v failed before any kill: %v\n%s", args, err, out.String())
		}
	case <-time.After(delay):
		landed = true
		if victim == "mount" {
			if err := signalDaemon(c.pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill -9 daemon: %v", err)
			}
			waitGone(c.pid, 5*time.Second)
		} else {
			cmd.Process.Kill() // our own child
		}
		select {
		case err = <-done:
		case <-time.After(cmdTimeout):
			cmd.Process.Kill()
			t.Fatalf("n4ws %v still running %v after the kill", args, cmdTimeout)
		}
		t.Logf("killed %s after %v: n4ws %s: %v", victim, delay, args[0], err)
	}
	if err != nil && victim == "mount" {
		// The CLI works on the store, not through the mount: a dead mount
		// is no reason for it to fail.
		t.Errorf("n4ws %v failed when only the mount was killed: %v\n%s", args, err, out.String())
	}
	return landed
}

// storedFiles maps every stored file below runs/ and library/ of the mount
// to its sha256 (computed files aside).
func storedFiles(t *testing.T, mnt string) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, top := range []string{"runs", "library"} {
		err := filepath.WalkDir(filepath.Join(mnt, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && !isComputed(p) {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				files[p] = sha(b)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", top, err)
		}
	}
	return files
}

// checkStillStored fails for every file of before that is gone or changed.
func checkStillStored(t *testing.T, before map[string]string) {
	t.Helper()
	bad := 0
	for p, sum := range before {
		b, err := os.ReadFile(p)
		if err != nil || sha(b) != sum {
			if bad++; bad <= 10 {
				t.Errorf("stored before the kill, now: %s: err=%v", p, err)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d stored files lost or changed", bad, len(before))
	}
}

func prepLibrarySave(t *testing.T, c *cliCrash, i int) []string {
	return []string{"library", "save", "--pipeline", "--from", c.from, "--name", fmt.Sprintf("crash%02d", i+1)}
}

// checkLibrarySave: the zip is either absent or whole; saving again works.
func checkLibrarySave(t *testing.T, c *cliCrash, i int) {
	name := fmt.Sprintf("crash%02d", i+1)
	zip := filepath.Join(c.mnt, "library/trained/pipeline", name+".zip")
	if _, err := os.Stat(zip); err == nil {
		zipCheck(t, zip)
	}
	n4ws(t, c.store, "library", "save", "--pipeline", "--from", c.from, "--name", name, "--force")
	zipCheck(t, zip)
}

// prepGC makes garbage for gc to collect: files written then removed.
func prepGC(t *testing.T, c *cliCrash, i int) []string {
	dir := filepath.Join(c.mnt, "runs", c.ds, fmt.Sprintf("_junk%02d", i+1))
	for j := range 40 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("f%02d", j)), randBytes(uint64(1000*(i+2)+j), 64<<10))
	}
	run(t, "", "rm", "-rf", dir)
	return []string{"gc"}
}

func checkGC(t *testing.T, c *cliCrash, i int) { n4ws(t, c.store, "gc") }

// prepImport saves the whole dataset as a library zip once; each point
// imports it into a dataset of its own.
func prepImport(t *testing.T, c *cliCrash, i int) []string {
	if i < 0 {
		n4ws(t, c.store, "library", "save", "--pipeline", "--from", c.from, "--name", "all")
	}
	return []string{"import", "library/trained/pipeline/all.zip", "--dataset", fmt.Sprintf("imp%02d", i+1)}
}

// checkImport: what an interrupted import left is whole pipeline folders
// (each as in the first, uninterrupted import), and importing again works.
func checkImport(t *testing.T, c *cliCrash, i int) {
	ref := filepath.Join(c.mnt, "runs/imp00")
	ds := fmt.Sprintf("imp%02d", i+1)
	compareImported(t, ref, filepath.Join(c.mnt, "runs", ds), false)
	again := ds + "_again"
	n4ws(t, c.store, "import", "library/trained/pipeline/all.zip", "--dataset", again)
	compareImported(t, ref, filepath.Join(c.mnt, "runs", again), true)
}

// compareImported checks that every file below got equals the file of the
// same name in ref (the first, uninterrupted import). With all, got must be
// complete; otherwise (an import killed midway) it may miss pipeline
// folders and at most one folder may be incomplete, but a pipeline folder
// never goes without the shared files (_binaries/, _data/).
func compareImported(t *testing.T, ref, got string, all bool) {
	t.Helper()
	refFiles, gotFiles := storedFiles0(t, ref), storedFiles0(t, got)
	for rel := range gotFiles {
		if sum, ok := refFiles[rel]; !ok || gotFiles[rel] != sum {
			b, _ := os.ReadFile(filepath.Join(got, rel))
			r, _ := os.ReadFile(filepath.Join(ref, rel))
			t.Errorf("%s/%s: not as in the first import (present there: %v): %d bytes %.60q, first import %d bytes %.60q",
				got, rel, ok, len(b), b, len(r), r)
		}
	}
	missing := map[string]int{}
	anyPipeline := false
	for rel := range refFiles {
		folder, _, _ := strings.Cut(rel, "/")
		present := folderPresent(gotFiles, folder)
		anyPipeline = anyPipeline || present && !strings.HasPrefix(folder, "_")
		if _, ok := gotFiles[rel]; !ok && (all || present) {
			missing[folder]++
		}
	}
	shared := missing["_binaries"] + missing["_data"]
	delete(missing, "_binaries")
	delete(missing, "_data")
	switch {
	case all && (len(missing) > 0 || shared > 0):
		t.Errorf("%s: files missing per folder %v, shared %d", got, missing, shared)
	case anyPipeline && shared > 0:
		t.Errorf("%s: pipeline folders imported but %d shared files missing", got, shared)
	case len(missing) > 1:
		t.Errorf("%s: %d incomplete pipeline folders %v; an interrupted import may leave one", got, len(missing), missing)
	}
}

func folderPresent(files map[string]string, folder string) bool {
	for rel := range files {
		if strings.HasPrefix(rel, folder+"/") {
			return true
		}
	}
	return false
}

// storedFiles0 maps the stored files below dir (relative names) to sha256;
// a missing dir is empty.
func storedFiles0(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !isComputed(p) {
			b, rerr := os.ReadFile(p)
			if rerr != nil {
				t.Errorf("read %s: %v", p, rerr)
				return nil
			}
			rel, _ := filepath.Rel(dir, p)
			files[rel] = sha(b)
		}
		return nil
	})
	return files
}
