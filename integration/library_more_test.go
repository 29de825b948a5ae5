//go:build linux

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// --fullrun bundles the training data given with --data beside the whole
// experiment, and library show says what it is.
func TestLibraryFullrunWithData(t *testing.T) {
	t.Parallel()
	store, from := demoStore(t)
	data := filepath.Join(t.TempDir(), "spectra.csv")
	writeFile(t, data, []byte("sample,nm_1000,nm_1002\nS1,0.41,0.42\n"))
	n4ws(t, store, "library", "save", "--fullrun", "--from", from, "--name", "full", "--data", data)
	mnt := mountStore(t, store)
	zipPath := filepath.Join(mnt, "library/trained/fullrun/full.zip")
	names := zipCheck(t, zipPath)
	if !slices.Contains(names, "_data/spectra.csv") {
		t.Fatalf("fullrun zip lacks _data/spectra.csv: %v", names)
	}
	pid := filepath.Base(from)
	if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, pid+"/") }) {
		t.Fatalf("fullrun zip lacks the pipeline folder %s: %v", pid, names)
	}
	got := py(t, `import sys, zipfile
print(zipfile.ZipFile(sys.argv[1]).read("_data/spectra.csv").decode(), end="")`, zipPath)
	if want := strings.TrimSpace(readFile(t, data)); strings.TrimSpace(got) != want {
		t.Fatalf("_data/spectra.csv in the zip = %q, want %q", got, want)
	}
	if out := n4ws(t, store, "library", "show", "full"); !strings.Contains(out, "fullrun") {
		t.Fatalf("library show full does not say fullrun:\n%s", out)
	}
}

// Ctrl-C during a save leaves either the whole zip or nothing, never a
// partial zip in the library, and the store stays consistent.
func TestLibrarySaveInterrupted(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	n4ws(t, store, "demo", "--datasets", "1", "--pipelines", "300")
	from := "runs/wheat_protein/0001_" + strings.SplitN(firstPipeline(t, store), "_", 2)[1]
	interrupted := 0
	for i, delay := range []time.Duration{20 * time.Millisecond, 80 * time.Millisecond, 200 * time.Millisecond} {
		name := "big" + string(rune('a'+i))
		cmd := exec.Command(n4wsBin, "--store", store, "library", "save", "--pipeline", "--from", from, "--name", name)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGINT)
		err := cmd.Wait()
		out := n4ws(t, store, "library", "list")
		if err == nil {
			if !strings.Contains(out, name) {
				t.Fatalf("save finished but %s is not listed:\n%s", name, out)
			}
			continue // it finished before the signal: the zip must be whole (checked below)
		}
		interrupted++
		if strings.Contains(out, name) {
			t.Fatalf("interrupted save (%v) left %s in the library:\n%s", err, name, out)
		}
	}
	if interrupted == 0 {
		t.Fatal("every save finished before SIGINT: the test did not interrupt anything")
	}
	mnt := mountStore(t, store)
	entries, _ := os.ReadDir(filepath.Join(mnt, "library/trained/pipeline"))
	for _, e := range entries {
		zipCheck(t, filepath.Join(mnt, "library/trained/pipeline", e.Name()))
	}
	n4ws(t, store, "fsck")
}

// firstPipeline returns the folder name of the first pipeline of
// wheat_protein in the store.
func firstPipeline(t *testing.T, store string) string {
	t.Helper()
	out := n4ws(t, store, "runs", "next-id", "wheat_protein")
	if strings.TrimSpace(out) == "0001" {
		t.Fatal("demo made no pipelines")
	}
	var rows []runRowJSON
	n4wsJSON(t, store, &rows, "runs", "list", "--json")
	for _, r := range rows {
		if r.Dataset == "wheat_protein" && strings.HasPrefix(r.Pipeline, "0001_") {
			return r.Pipeline
		}
	}
	t.Fatal("no pipeline 0001 in wheat_protein")
	return ""
}
