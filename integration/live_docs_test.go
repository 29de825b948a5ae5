//go:build linux

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLiveReadmeBlock runs the README's "Using n4ws with nirs4all" block as
// written, in a fresh home, with train.py a script that runs the nirs4all
// stand-in (nirs4all itself cannot be installed here) and `python` being
// python3: the listing its last line shows is the one it prints, and the
// folders the prose names then appear in runs/wheat.
func TestLiveReadmeBlock(t *testing.T) {
	if fuseMissing != "" {
		t.Skip(fuseMissing)
	}
	var owned []docBlock
	for _, b := range parseDoc(t, readmeDoc) {
		if b.owner == t.Name() {
			owned = append(owned, b)
		}
	}
	if len(owned) != 1 || !strings.Contains(owned[0].text, "python train.py") {
		t.Fatalf("README.md: %d blocks run by %s, want the one with python train.py", len(owned), t.Name())
	}
	block := owned[0]
	tmp := t.TempDir()
	home, work, bin := filepath.Join(tmp, "home"), filepath.Join(tmp, "work"), filepath.Join(tmp, "bin")
	mkdirs(t, home, work, bin)
	python3 := run(t, "", "sh", "-c", "command -v python3")
	if err := os.Symlink(strings.TrimSpace(python3), filepath.Join(bin, "python")); err != nil {
		t.Fatal(err)
	}
	standinAbs, err := filepath.Abs(standinPy)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(work, "train.py"), fmt.Appendf(nil, `import subprocess, sys
sys.exit(subprocess.call([sys.executable, %q, "run", "--datasets", "wheat", "--pipelines", "3", "--parquetw", %q]))
`, standinAbs, parquetwBin))
	store, mnt := filepath.Join(home, ".local", "share", "n4ws"), filepath.Join(home, "workspace")
	cleanupDocMount(t, store, mnt)
	env := docEnv(map[string]string{"HOME": home, "N4WS_STORE": "", "XDG_DATA_HOME": "", "WS": "",
		"NIRS4ALL_WORKSPACE": ""})
	for i, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			env[i] = "PATH=" + bin + ":" + p
		}
	}
	out, err := docExec(work, env, "", "bash", "-c", "set -euo pipefail\n"+block.text)
	if err != nil {
		t.Fatalf("%v failed: %v\n--- output ---\n%s%s", block, err, out, logTail(store))
	}
	// The last line's comment is the listing it prints (after the lines of
	// init and mount), but for store.sqlite-wal and -shm: they stay when the
	// live view's read of the store closed after nirs4all (README says so).
	lines := strings.Split(strings.TrimSpace(block.text), "\n")
	_, comment, _ := strings.Cut(lines[len(lines)-1], "#")
	want := strings.Fields(comment)
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, "created store ") && !strings.HasPrefix(l, "mounted ") &&
			l != "store.sqlite-wal" && l != "store.sqlite-shm" {
			got = append(got, l)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("ls ~/workspace printed %v, the README says %v\n%s", got, want, out)
	}
	// "A few seconds later ls ~/workspace/runs/wheat shows 0001_config_c224f1/ …
	// best_0002_config_f35223.csv run_summary.json" (the stand-in's second
	// config is the best of this run).
	readme := readFile(t, filepath.Join(docsRoot(t), readmeDoc))
	for _, name := range []string{"0001_config_c224f1", "best_0002_config_f35223.csv", "run_summary.json"} {
		if !strings.Contains(readme, name) {
			t.Fatalf("README.md no longer names %s: update this test", name)
		}
		if !waitFor(20*time.Second, func() bool { _, err := os.Stat(filepath.Join(mnt, "runs", "wheat", name)); return err == nil }) {
			t.Errorf("runs/wheat/%s not there: %v", name, lsNames(t, filepath.Join(mnt, "runs", "wheat")))
		}
	}
}
