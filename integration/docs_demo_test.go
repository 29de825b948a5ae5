//go:build linux

package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// demoBlockTimeout bounds one block run in the copy of the checkout: make
// demo builds n4ws without -race, a cold build of the cgo SQLite driver
// included, on a loaded 2-core machine.
const demoBlockTimeout = 10 * time.Minute

// TestDocsReadmeDemo runs the README blocks marked "run by
// TestDocsReadmeDemo" (make demo, go build) as a user runs them in their
// checkout: here a copy of the checkout's files (tracked, and untracked
// but not ignored), so this checkout gets no demo/ and no bin/, with the
// real go toolchain and its caches. It compares what the make demo block
// prints with the README's expected output, then runs `make demo-stop` as
// the README says and checks the demo is unmounted and its process gone.
// `make test`, the README's one skipped block, is explained in
// TestDocsReadme.
func TestDocsReadmeDemo(t *testing.T) {
	if fuseMissing != "" {
		t.Skip(fuseMissing)
	}
	requireTool(t, "make", "make")
	requireTool(t, "git", "git")
	requireTool(t, "go", "golang-go")
	blocks := parseDoc(t, readmeDoc)
	var owned []docBlock
	expect := map[int]string{} // index in owned -> expected output
	for i, b := range blocks {
		if b.owner != t.Name() {
			continue
		}
		if i+1 < len(blocks) && blocks[i+1].output {
			expect[len(owned)] = blocks[i+1].text
		}
		owned = append(owned, b)
	}
	if len(owned) < 2 || !strings.Contains(owned[0].text, "make demo") {
		t.Fatalf("README.md: %d blocks run by %s, the first one without make demo", len(owned), t.Name())
	}
	if _, ok := expect[0]; !ok {
		t.Fatalf("%v: no <!-- output --> block after make demo", owned[0])
	}

	checkout := copyCheckout(t, docsRoot(t), filepath.Join(t.TempDir(), "n4ws"))
	env := userEnv()
	store, ws := filepath.Join(checkout, "demo", "store"), filepath.Join(checkout, "demo", "workspace")
	cleanupDocMount(t, store, ws)
	for i, b := range owned {
		start := time.Now()
		out, err := docExecWithin(demoBlockTimeout, checkout, env, "", "bash", "-c", "set -euo pipefail\n"+b.text)
		if err != nil {
			t.Fatalf("%v failed: %v\n--- block ---\n%s\n--- output ---\n%s%s", b, err, b.text, out, logTail(store))
		}
		t.Logf("%v ran in %v:\n%s", b, time.Since(start).Round(time.Millisecond), out)
		if want, ok := expect[i]; ok {
			if err := expectOutput(want, out); err != nil {
				t.Fatalf("%v: %v\n--- output ---\n%s", b, err, out)
			}
		}
	}
	if fi, err := os.Stat(filepath.Join(checkout, "bin", "n4ws")); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("after the README's build blocks, bin/n4ws: %v", err)
	}

	// "`make demo-stop` unmounts the demo."
	pid, _ := readPID(store)
	if !isMounted(ws) || pid <= 0 {
		t.Fatalf("before make demo-stop: demo/workspace mounted %t, daemon pid %d", isMounted(ws), pid)
	}
	if out, err := docExec(checkout, env, "", "make", "demo-stop"); err != nil {
		t.Fatalf("make demo-stop: %v\n%s", err, out)
	}
	if isMounted(ws) {
		t.Errorf("make demo-stop returned, but %s is still mounted", ws)
	}
	if !waitGone(pid, 10*time.Second) {
		t.Errorf("make demo-stop returned, but the demo's process %d still runs", pid)
	}
}

// userEnv is the test's environment without what an enclosing make (make
// test) passes to its children: a user's shell has no jobserver.
func userEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKE_TERMOUT", "MAKE_TERMERR":
		default:
			env = append(env, kv)
		}
	}
	return env
}

// copyCheckout copies the files git lists in root (tracked, and untracked
// but not ignored: the state being tested) to dst and returns dst.
func copyCheckout(t testing.TB, root, dst string) string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	list, err := cmd.Output()
	if err != nil {
		t.Fatalf("git ls-files in %s: %v", root, err)
	}
	n := 0
	for _, name := range bytes.Split(bytes.TrimRight(list, "\x00"), []byte{0}) {
		src, to := filepath.Join(root, string(name)), filepath.Join(dst, string(name))
		fi, err := os.Lstat(src)
		if os.IsNotExist(err) {
			continue // deleted in the working tree, not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		mkdirAll(t, filepath.Dir(to))
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(src)
			if err == nil {
				err = os.Symlink(target, to)
			}
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if _, err := os.Stat(filepath.Join(dst, "Makefile")); n < 100 || err != nil {
		t.Fatalf("copied %d files of %s, no Makefile among them", n, root)
	}
	return dst
}
