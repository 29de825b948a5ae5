//go:build linux

package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// runPy starts python3 snippets in parallel and waits for all; each must
// exit 0. It returns their outputs in order.
func runPy(t testing.TB, script string, argsList [][]string) []string {
	t.Helper()
	outs := make([]string, len(argsList))
	errs := make([]error, len(argsList))
	var wg sync.WaitGroup
	for i, args := range argsList {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = exe("", "python3", append([]string{"-c", script}, args...)...)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("python3 %v: %v\n%s", argsList[i], err, outs[i])
		}
	}
	return outs
}

// TestNativeSQLite: nirs4all's store.sqlite at the mount root, written by
// four processes at once with nirs4all's settings (WAL, so fcntl locks and
// a shared mmap of -shm), is complete and passes integrity_check; when the
// last connection closes SQLite removes -wal and -shm as on a local disk.
// Also with --passthrough off, where the mount serves the I/O itself.
func TestNativeSQLite(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"auto", "off"} {
		t.Run("passthrough-"+mode, func(t *testing.T) {
			store := newStore(t)
			mnt := mountStore(t, store, "--passthrough", mode)
			db := filepath.Join(mnt, "store.sqlite")
			// Without passthrough (and with the race-built daemon) commits
			// are slower, and SQLite's busy wait is not fair: with four
			// writers one may wait past nirs4all's busy_timeout of 5 s.
			writers, commits := 4, 150
			if mode == "off" {
				writers = 2
			}
			// The first open turns the new database to WAL, which needs it
			// alone (on any disk): nirs4all opens its store before it forks.
			runPy(t, sqliteWriterPy, [][]string{{db, "init", "0"}})
			var args [][]string
			for w := range writers {
				args = append(args, []string{db, fmt.Sprint("w", w), fmt.Sprint(commits)})
			}
			outs := runPy(t, sqliteWriterPy, args)
			for w, out := range outs {
				if n := strings.Count(out, "\n"); n != commits {
					t.Errorf("writer %d reported %d commits, want %d", w, n, commits)
				}
			}
			want := fmt.Sprintf("ok %d %d", writers*commits, writers*commits)
			if got := py(t, sqliteCheckPy, db); got != want {
				t.Errorf("integrity_check, rows, completed: got %q, want %q", got, want)
			}
			// The mount's live projection reads the database too (a
			// snapshot after each change, through the mount), so the last
			// connection to close may be its own: wait for it.
			for _, side := range []string{"-wal", "-shm"} {
				var err error
				for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
					if _, err = os.Lstat(db + side); os.IsNotExist(err) {
						break
					}
				}
				if !os.IsNotExist(err) {
					t.Errorf("store.sqlite%s 15 s after the last close: %v", side, err)
				}
			}
			// The database is an ordinary file in the store's native folder.
			if got := py(t, sqliteCheckPy, filepath.Join(store, "native", "store.sqlite")); got != want {
				t.Errorf("the native folder's copy: got %q, want %q", got, want)
			}
		})
	}
}

// TestNativeMmapShared: two processes map one root file shared and
// writable, as SQLite maps -shm, and see each other's stores.
func TestNativeMmapShared(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	p := filepath.Join(mnt, "store.sqlite-shm")
	outs := runPy(t, mmapSharedPy, [][]string{{p, "0", "alpha", "4096", "bravo"}, {p, "4096", "bravo", "0", "alpha"}})
	for _, out := range outs {
		if strings.TrimSpace(out) != "ok" {
			t.Errorf("mmap client: %q", out)
		}
	}
	got := py(t, "import sys; b=open(sys.argv[1],'rb').read(); print(len(b), b[:5].decode(), b[4096:4101].decode())", p)
	if got != "32768 alpha bravo" {
		t.Errorf("read(2) after the mappings: %q, want 32768 alpha bravo", got)
	}
}

// TestNativeArraysFlock: two processes rewrite arrays/<ds>.parquet through
// .tmp + os.replace under flock on arrays/.lock, as nirs4all's ArrayStore
// does: the lock excludes, so no flush is lost.
func TestNativeArraysFlock(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	const flushes = 60
	runPy(t, arraysWriterPy, [][]string{{mnt, "Corn", "a", fmt.Sprint(flushes)}, {mnt, "Corn", "b", fmt.Sprint(flushes)}})
	lines := strings.Split(strings.TrimSpace(readFile(t, filepath.Join(mnt, "arrays/Corn.parquet"))), "\n")
	if len(lines) != 2*flushes {
		t.Errorf("arrays/Corn.parquet has %d lines, want %d: a flush was lost", len(lines), 2*flushes)
	}
	if _, err := os.Lstat(filepath.Join(mnt, "arrays/Corn.parquet.tmp")); !os.IsNotExist(err) {
		t.Errorf("Corn.parquet.tmp left behind: %v", err)
	}
	got := strings.Fields(run(t, "", "ls", "-A", filepath.Join(mnt, "arrays")))
	if !slices.Equal(got, []string{".lock", "Corn.parquet"}) {
		t.Errorf("ls -A arrays: %q", got)
	}
}

// TestNativeWorkspaceTree: everything nirs4all makes at its workspace root
// can be made, written, moved and removed at the mount root, next to the
// skeleton; artifacts/ is content-addressed (one blob whatever the copies);
// fsck, gc and stats know the native folder.
func TestNativeWorkspaceTree(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	at := func(p string) string { return filepath.Join(mnt, p) }

	// WorkspaceStore's opens: mkdir(parents=True, exist_ok=True) of the
	// workspace and its folders, exports/ (a read-only skeleton folder) too.
	mkdirs := `import pathlib, sys
for p in sys.argv[1:]:
    pathlib.Path(p).mkdir(parents=True, exist_ok=True)
print("ok")`
	dirs := []string{mnt, at("artifacts/ab"), at("artifacts/cd"), at("arrays"), at("logs"), at("exports"),
		at("outputs"), at("figures"), at("explanations"), at("library"), at("Corn"), at("exports"), at("artifacts")}
	if got := py(t, mkdirs, dirs...); got != "ok" {
		t.Fatalf("mkdir -p of the nirs4all tree: %q", got)
	}
	model := randBytes(11, 200<<10)
	writeFile(t, at("artifacts/ab/model_PLSRegression_ab12cd34ef56.joblib"), model)
	writeFile(t, at("artifacts/cd/transformer_SNV_cd12cd34ef56.joblib"), randBytes(12, 3000))
	writeFile(t, at("logs/R-20261128-101500.log"), []byte("run started\n"))
	writeFile(t, at("Corn/Export_best.csv"), []byte("y_true,y_pred\n1,1.1\n"))
	writeFile(t, at("arrays/_tombstones.json.tmp"), []byte(`{"p1": 1}`))
	run(t, "", "mv", at("arrays/_tombstones.json.tmp"), at("arrays/_tombstones.json"))
	run(t, "", "sh", "-c", "echo more >> "+at("logs/R-20261128-101500.log"))
	if got := readFile(t, at("logs/R-20261128-101500.log")); got != "run started\nmore\n" {
		t.Errorf("appended log: %q", got)
	}
	got := strings.Fields(run(t, "", "ls", "-A", mnt))
	want := []string{"Corn", "arrays", "artifacts", "catalog", "explanations", "exports", "figures",
		"library", "logs", "outputs", "runs", "store.sqlite"}
	if !slices.Equal(got, want) {
		t.Errorf("ls -A of the root: %q, want %q", got, want)
	}

	// The same binary under runs/ is the same blob: no second copy.
	before := statsJSON(t, store)
	mkdirAll(t, at("runs/Corn/0001_pls_ab12cd"))
	run(t, "", "cp", at("artifacts/ab/model_PLSRegression_ab12cd34ef56.joblib"), at("runs/Corn/0001_pls_ab12cd/model.joblib"))
	after := statsJSON(t, store)
	if after.Blobs != before.Blobs || after.StoredBytes != before.StoredBytes {
		t.Errorf("copying an artifact into runs/ stored a second copy: blobs %d -> %d, bytes %d -> %d",
			before.Blobs, after.Blobs, before.StoredBytes, after.StoredBytes)
	}
	if after.Native.Files < 4 || after.Native.Bytes == 0 {
		t.Errorf("stats counts %d native files, %d bytes; want the logs, arrays, exports, store.sqlite", after.Native.Files, after.Native.Bytes)
	}

	// Moves across the two places copy (mv's EXDEV fallback).
	run(t, "", "mv", at("logs/R-20261128-101500.log"), at("runs/Corn/R.log"))
	run(t, "", "mv", at("runs/Corn/0001_pls_ab12cd/model.joblib"), at("outputs/model.joblib"))
	if sha256sum(t, at("outputs/model.joblib")) != sha(model) {
		t.Errorf("outputs/model.joblib after mv from runs/ differs")
	}
	for _, gone := range []string{"logs/R-20261128-101500.log", "runs/Corn/0001_pls_ab12cd/model.joblib"} {
		if _, err := os.Lstat(at(gone)); !os.IsNotExist(err) {
			t.Errorf("%s still there after mv: %v", gone, err)
		}
	}

	// nirs4all removes per-fold artifacts and emptied shards.
	run(t, "", "rm", "-rf", at("artifacts/ab"))
	run(t, "", "rmdir", at("explanations"))
	run(t, "", "rm", "-rf", at("Corn"), at("figures"))
	if got := strings.Fields(run(t, "", "ls", "-A", at("artifacts"))); !slices.Equal(got, []string{"cd"}) {
		t.Errorf("artifacts/ after rm -rf of a shard: %q", got)
	}

	n4ws(t, store, "fsck")
	n4ws(t, store, "gc")
	if sha256sum(t, at("outputs/model.joblib")) != sha(model) {
		t.Errorf("outputs/model.joblib changed by gc")
	}
	n4ws(t, store, "fsck")
}

// nativeStats is the part of `n4ws stats --json` these tests read.
type nativeStats struct {
	Blobs       int64 `json:"blobs"`
	StoredBytes int64 `json:"stored_bytes"`
	Native      struct {
		Files int64 `json:"files"`
		Bytes int64 `json:"bytes"`
	} `json:"native"`
}

func statsJSON(t testing.TB, store string) nativeStats {
	t.Helper()
	var st nativeStats
	out := stdout(t, n4wsBin, "--store", store, "stats", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("stats --json: %v\n%s", err, out)
	}
	return st
}

// TestNativeLegacyCheck: a mount with pipeline folders in runs/ is not a
// "legacy filesystem workspace" to nirs4all 0.11, because the mount always
// offers store.sqlite (empty: a valid empty SQLite database), which
// nirs4all then opens and fills.
func TestNativeLegacyCheck(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	mkdirAll(t, filepath.Join(mnt, "runs/Corn/0001_pls_abc123"))
	writeFile(t, filepath.Join(mnt, "runs/Corn/0001_pls_abc123/manifest.yaml"), []byte("pipeline: pls\n"))
	if fi, err := os.Stat(filepath.Join(mnt, "store.sqlite")); err != nil || fi.Size() != 0 {
		t.Fatalf("store.sqlite of a fresh mount: %v, want an empty file", err)
	}
	if got := py(t, legacyCheckPy, mnt); got != "sqlite-workspace-v2 5" {
		t.Errorf("nirs4all's format check and open: %q, want sqlite-workspace-v2 5", got)
	}
	// A user who deleted it gets it back, empty, at the next mount.
	os.Remove(filepath.Join(mnt, "store.sqlite"))
	n4ws(t, store, "umount", mnt)
	mountAt(t, store, mnt)
	if fi, err := os.Stat(filepath.Join(mnt, "store.sqlite")); err != nil || fi.Size() != 0 {
		t.Errorf("store.sqlite after a remount: %v", err)
	}
}

// TestNativeOpenStorm: four processes open and close one root file 400
// times each, read-only and read-write mixed, while a fifth keeps it open:
// with passthrough every open must still succeed (go-fuse shares one
// backing registration per inode) and the content stays whole.
func TestNativeOpenStorm(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	p := filepath.Join(mnt, "store.sqlite-wal")
	writeFile(t, p, make([]byte, 8192))
	holder, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	var args [][]string
	for w := range 4 {
		args = append(args, []string{p, fmt.Sprint(w), "400"})
	}
	for _, out := range runPy(t, openStormPy, args) {
		if strings.TrimSpace(out) != "ok" {
			t.Errorf("open storm client: %q", out)
		}
	}
	b := make([]byte, 8192)
	if n, err := holder.ReadAt(b, 0); err != nil || n != 8192 {
		t.Fatalf("read through the handle held all along: %d %v", n, err)
	}
	if string(b[:4]) != "8888" { // each client's last write: i = 398
		t.Errorf("slots after the storm: %q, want 8888", b[:4])
	}
}
