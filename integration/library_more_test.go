//go:build linux

package integration

import (
	"crypto/rand"
	"fmt"
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
// partial zip in the library, nor its temporary file, and the store stays
// consistent. The save is made slow with a large incompressible --data file,
// and the signal is sent only once the save's temporary zip exists and has
// bytes in it, so the test proves the interrupt hit a save under way.
func TestLibrarySaveInterrupted(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	n4ws(t, store, "demo", "--datasets", "1", "--pipelines", "50")
	from := "runs/wheat_protein/0001_" + strings.SplitN(firstPipeline(t, store), "_", 2)[1]
	big := make([]byte, 48<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "spectra.bin")
	writeFile(t, data, big)
	tmp := t.TempDir() // the save writes its temporary zip under $TMPDIR
	cmd := exec.Command(n4wsBin, "--store", store, "library", "save", "--fullrun", "--from", from, "--name", "big", "--data", data)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	partial, err := waitTempZip(tmp, exited)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err = <-exited
	if err == nil {
		t.Fatalf("save exited 0 after SIGINT with its zip still being written (%s)", partial)
	}
	if _, serr := os.Stat(partial); !os.IsNotExist(serr) {
		t.Fatalf("interrupted save left its temporary zip %s (stat: %v)", partial, serr)
	}
	if out := n4ws(t, store, "library", "list"); strings.Contains(out, "big") {
		t.Fatalf("interrupted save (%v) left big in the library:\n%s", err, out)
	}
	mnt := mountStore(t, store)
	if _, serr := os.Stat(filepath.Join(mnt, "library/trained/fullrun/big.zip")); !os.IsNotExist(serr) {
		t.Fatalf("library/trained/fullrun/big.zip after the interrupt: stat %v", serr)
	}
	n4ws(t, store, "fsck")
}

// waitTempZip waits until the save has written bytes into a temporary zip
// under dir and returns its path; it fails if the save exits first.
func waitTempZip(dir string, exited <-chan error) (string, error) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return "", fmt.Errorf("save exited (%v) before its temporary zip had any bytes: the test interrupted nothing", err)
		default:
		}
		matches, _ := filepath.Glob(filepath.Join(dir, ".n4ws-*.zip.tmp"))
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.Size() > 0 {
				return m, nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return "", fmt.Errorf("no temporary zip with bytes appeared in %s within 60s", dir)
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
