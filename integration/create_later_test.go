package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The mount answers open(O_CREAT) first and writes the new file with its
// content at close (backing/create_later.go). A CLI command must see a
// file that is still open, and a file whose close returned must survive a
// kill -9 of the mount.

// cliFileCount returns how many files the CLI counts in the store.
func cliFileCount(t *testing.T, store string) int {
	t.Helper()
	var st struct {
		Files int `json:"files"`
	}
	if err := json.Unmarshal([]byte(n4ws(t, store, "stats", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	return st.Files
}

func TestCreateSeenWhileOpenAndKeptAfterKill(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	pid := mountAt(t, store, mnt)
	dir := filepath.Join(mnt, "runs/ds/0001_x")
	sh(t, fmt.Sprintf(`mkdir -p %[1]s && cd %[1]s && for i in $(seq 200); do echo $i > f$i; done`, dir))
	if got := cliFileCount(t, store); got != 200 {
		t.Fatalf("after 200 files closed, the CLI counts %d", got)
	}
	// A file created and still open: the CLI, run meanwhile, counts it.
	script := fmt.Sprintf(`
import subprocess, sys
f = open(%q, "w")
f.write("still open\n")
f.flush()
out = subprocess.run([%q, "--store", %q, "stats", "--json"], capture_output=True, text=True, check=True).stdout
f.close()
print(out)
`, filepath.Join(dir, "open.txt"), n4wsBin, store)
	var st struct {
		Files int `json:"files"`
	}
	if err := json.Unmarshal([]byte(run(t, "", "python3", "-c", script)), &st); err != nil {
		t.Fatal(err)
	}
	if st.Files != 201 {
		t.Errorf("while a new file is open, the CLI counts %d files, want 201", st.Files)
	}
	// Closed: kill -9 at once, then every file is there with its content.
	sh(t, fmt.Sprintf(`cd %s && for i in $(seq 201 300); do echo $i > f$i; done`, dir))
	killDaemon(t, pid)
	mountAt(t, store, mnt)
	for i := 1; i <= 300; i++ {
		data, err := os.ReadFile(filepath.Join(dir, "f"+strconv.Itoa(i)))
		if err != nil || strings.TrimSpace(string(data)) != strconv.Itoa(i) {
			t.Errorf("f%d after kill -9: %q, %v", i, data, err)
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "open.txt")); err != nil || string(data) != "still open\n" {
		t.Errorf("open.txt after kill -9: %q, %v", data, err)
	}
	n4ws(t, store, "fsck")
}
