//go:build linux

package integration

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDedup: one content under three names in different folders is stored once.
func TestDedup(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	before := stats(t, store)
	blobsBefore := atoi(sh(t, "find "+store+"/blobs -type f | wc -l"))

	const size = 5 << 20
	src := filepath.Join(t.TempDir(), "model.pkl")
	writeFile(t, src, randBytes(5, size))
	for _, dst := range []string{"runs/ds1/0001_a/_m.pkl", "runs/ds2/0001_b/copy.pkl", "library/templates/same.bin"} {
		run(t, "", "mkdir", "-p", filepath.Dir(filepath.Join(mnt, dst)))
		run(t, "", "cp", src, filepath.Join(mnt, dst))
	}
	// The last close reaches the daemon asynchronously (FUSE RELEASE), so
	// give the three commits a moment to land before judging.
	var after map[string]float64
	waitFor(2*time.Second, func() bool {
		after = stats(t, store)
		return after["logical_bytes"]-before["logical_bytes"] >= 3*size
	})
	if d := after["logical_bytes"] - before["logical_bytes"]; d != 3*size {
		t.Errorf("logical_bytes grew by %v, want %d", d, 3*size)
	}
	if d := after["blobs"] - before["blobs"]; d != 1 {
		t.Errorf("blobs grew by %v, want 1 (stats before %v, after %v)", d, before, after)
	}
	if d := after["stored_bytes"] - before["stored_bytes"]; d < size || d >= 2*size {
		t.Errorf("stored_bytes grew by %v, want about %d (one copy)", d, size)
	}
	if after["stored_bytes"] >= after["logical_bytes"] || after["dedup_ratio"] <= 1 {
		t.Errorf("no dedup visible: %v", after)
	}
	if n := atoi(sh(t, "find "+store+"/blobs -type f | wc -l")); n != blobsBefore+1 {
		t.Errorf("files under %s/blobs: %d, want %d", store, n, blobsBefore+1)
	}
}

// TestPersistence: what was written is there, unchanged, after a remount.
func TestPersistence(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	pid := mountAt(t, store, mnt)
	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src)
	dst := filepath.Join(mnt, "runs/ds/0001_persist")
	run(t, "", "mkdir", "-p", dst)
	run(t, "", "cp", "-a", src+"/.", dst)
	writeFile(t, filepath.Join(mnt, "library/templates/t.json"), []byte(`{"a":1}`))
	statsBefore := stats(t, store)

	unmount(t, store, mnt, pid)
	n4ws(t, store, "fsck")
	mountAt(t, store, mnt)
	compareTrees(t, src, dst)
	wantContent(t, filepath.Join(mnt, "library/templates/t.json"), `{"a":1}`)
	if got := stats(t, store); got["files"] != statsBefore["files"] || got["blobs"] != statsBefore["blobs"] {
		t.Errorf("stats changed across remount: before %v, after %v", statsBefore, got)
	}
	n4ws(t, store, "fsck")
}

// TestCLIWhileMounted: stats, fsck and gc work on a mounted store, and gc
// keeps the data of files that are open (being written, or unlinked).
func TestCLIWhileMounted(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	d := filepath.Join(mnt, "runs/ds/0001_cli")
	content := randBytes(11, 1<<20)
	writeFile(t, filepath.Join(d, "kept.bin"), content)
	writeFile(t, filepath.Join(d, "unlinked.bin"), randBytes(12, 200_000))

	held, err := os.Open(filepath.Join(d, "unlinked.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	run(t, "", "rm", filepath.Join(d, "unlinked.bin"))
	writing, err := os.Create(filepath.Join(d, "writing.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer writing.Close()
	if _, err := writing.Write(content[:1000]); err != nil {
		t.Fatal(err)
	}

	if out := n4ws(t, store, "stats"); strings.TrimSpace(out) == "" {
		t.Error("n4ws stats printed nothing")
	}
	stats(t, store)
	n4ws(t, store, "fsck")
	n4ws(t, store, "gc")

	if got := fileSHA(t, filepath.Join(d, "kept.bin")); got != sha(content) {
		t.Error("kept.bin changed after gc")
	}
	if b, err := io.ReadAll(held); err != nil || sha(b) != sha(randBytes(12, 200_000)) {
		t.Errorf("open, unlinked file after gc: err=%v, %d bytes", err, len(b))
	}
	if _, err := writing.Write(content[1000:]); err != nil {
		t.Fatalf("write after gc: %v", err)
	}
	if err := writing.Close(); err != nil {
		t.Fatalf("close after gc: %v", err)
	}
	if got := fileSHA(t, filepath.Join(d, "writing.bin")); got != sha(content) {
		t.Error("file written across a gc has wrong content")
	}
	n4ws(t, store, "fsck")
}

// TestDemoWhileMounted: `n4ws demo` run beside a mount shows up in it.
func TestDemoWhileMounted(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	runs := filepath.Join(mnt, "runs")
	n4ws(t, store, "demo")
	if !waitFor(2*time.Second, func() bool { out, _ := exe("", "ls", runs); return out != "" }) {
		t.Fatal("runs/ is still empty 2 s after n4ws demo")
	}
	pipelines := strings.Fields(sh(t, "find "+runs+" -mindepth 3 -maxdepth 3 -name pipeline.json"))
	if len(pipelines) == 0 {
		t.Fatalf("no runs/<ds>/<pipeline>/pipeline.json in the mount:\n%s", run(t, "", "find", runs))
	}
	folder := regexp.MustCompile(`^\d{4}_\w+$`)
	for _, p := range pipelines {
		if name := filepath.Base(filepath.Dir(p)); !folder.MatchString(name) {
			t.Errorf("pipeline folder %q is not NNNN_[name_]hash", name)
		}
		var v any
		if err := json.Unmarshal([]byte(run(t, "", "cat", p)), &v); err != nil {
			t.Errorf("%s is not JSON: %v", p, err)
		}
	}
	n4ws(t, store, "fsck")
}

// TestSecondMount: one store, one mount; the refusal names the holder.
func TestSecondMount(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	pid := mountAt(t, store, mnt)
	mnt2 := filepath.Join(t.TempDir(), "mnt2")
	out, code := n4wsFail(t, store, "mount", mnt2)
	if isMounted(mnt2) {
		t.Errorf("second mount is in /proc/mounts")
		forceUnmount(mnt2)
	}
	if code != 1 || !strings.Contains(out, strconv.Itoa(pid)) {
		t.Errorf("second mount: exit %d, output %q; want exit 1 naming pid %d", code, out, pid)
	}
	if got, _ := readPID(store); got != pid {
		t.Errorf("lock now names pid %d, want the holder %d", got, pid)
	}
	writeFile(t, filepath.Join(mnt, "runs/still_works"), []byte("x"))
}

// TestStaleMount: after the daemon died, mount on the same point works and
// files closed before the crash are intact.
func TestStaleMount(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	pid := mountAt(t, store, mnt)
	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src)
	dst := filepath.Join(mnt, "runs/ds/0001_stale")
	run(t, "", "mkdir", "-p", dst)
	run(t, "", "cp", "-a", src+"/.", dst)

	killDaemon(t, pid)
	out, _ := runFail(t, "", "ls", mnt)
	// ENOTCONN or ECONNABORTED, depending on the kernel version.
	wantOneOf(t, "ls of a dead mount", out, "Transport endpoint is not connected", "Software caused connection abort")

	mountAt(t, store, mnt)
	if n := countMounts(mnt); n != 1 {
		t.Errorf("%s is listed %d times in /proc/mounts, want 1 (stale mount not cleaned up)", mnt, n)
	}
	compareTrees(t, src, dst)
	n4ws(t, store, "fsck")
}

// TestSignalUnmount: SIGTERM and SIGINT to the daemon unmount cleanly.
func TestSignalUnmount(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	for i, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		pid := mountAt(t, store, mnt)
		name := filepath.Join(mnt, "runs", "f"+strconv.Itoa(i))
		writeFile(t, name, []byte(sig.String()))
		if err := signalDaemon(pid, sig); err != nil {
			t.Fatal(err)
		}
		if !waitGone(pid, 10*time.Second) {
			t.Fatalf("daemon still running 10 s after %v", sig)
		}
		if isMounted(mnt) {
			t.Fatalf("%s still mounted after %v to the daemon", mnt, sig)
		}
	}
	mountAt(t, store, mnt)
	wantContent(t, filepath.Join(mnt, "runs/f0"), syscall.SIGTERM.String())
	wantContent(t, filepath.Join(mnt, "runs/f1"), syscall.SIGINT.String())
	n4ws(t, store, "fsck")
}

func countMounts(mnt string) int {
	n := 0
	for _, m := range procMounts() {
		if m == mnt {
			n++
		}
	}
	return n
}
