//go:build linux

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// smallDisk mounts a tmpfs of size MiB at a new folder and unmounts it in
// cleanup (registered first, so it runs after the n4ws mounts are gone).
func smallDisk(t *testing.T, mib int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the full-disk test mounts a tmpfs: run it as root")
		}
		t.Skip("the full-disk test mounts a tmpfs: needs root")
	}
	dir := filepath.Join(t.TempDir(), "disk")
	mkdirAll(t, dir)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", mib), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		// The daemon's last files close a moment after it is reported gone.
		var out []byte
		var err error
		if !waitFor(10*time.Second, func() bool {
			out, err = exec.Command("umount", dir).CombinedOutput()
			return err == nil
		}) {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
			exec.Command("umount", "-l", dir).Run()
		}
	})
	return dir
}

// freeBytes is what statfs says is left for an ordinary user.
func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// fillScript writes through the mount until the disk is full, in the ways a
// user would: large files, small files, folders, a rename. It prints one
// line per way: "<way> <errno name or ok> <files made>".
const fillScript = `
import errno, os, sys
base = sys.argv[1]
os.makedirs(base, exist_ok=True)
def until_error(way, make):
    for i in range(100000):
        try:
            make(i)
        except OSError as e:
            print(way, errno.errorcode.get(e.errno, e.errno), i)
            return
    print(way, "ok", i)
def big(i):
    with open(f"{base}/big{i:04d}", "wb") as f:
        for _ in range(4):
            f.write(os.urandom(1 << 20))
def small(i):
    with open(f"{base}/small{i:05d}", "wb") as f:
        f.write(os.urandom(200))
until_error("large-files", big)
until_error("small-files", small)
until_error("mkdir", lambda i: os.mkdir(f"{base}/dir{i:05d}"))
until_error("rename", lambda i: os.rename(f"{base}/big0000", f"{base}/moved{i}") if i == 0 else os.rename(f"{base}/moved{i-1}", f"{base}/moved{i}"))
`

// TestFullDisk: with the store on a small file system that fills up,
// writers through the mount get ENOSPC (never EIO), nothing stored before
// is lost, fsck stays clean, and once space is freed the mount works again
// without a remount.
func TestFullDisk(t *testing.T) {
	t.Parallel()
	disk := smallDisk(t, 48)
	store := filepath.Join(disk, "store")
	n4ws(t, store, "init")
	mnt := mountStore(t, store)
	landDataset(t, mnt, "wheat", threeSpecs...)
	before := map[string]string{}
	for i := range 4 {
		p := filepath.Join(mnt, "runs/wheat/_data", fmt.Sprintf("x%d.bin", i))
		data := randBytes(uint64(500+i), 1<<20)
		writeFile(t, p, data)
		before[p] = sha(data)
	}
	for k, v := range storedFiles(t, mnt) {
		before[k] = v
	}
	// Leave 8 MiB for the store: the test fills that, not 48.
	filler := filepath.Join(disk, "filler")
	writeFile(t, filler, make([]byte, freeBytes(t, disk)-8<<20))

	out := py(t, fillScript, filepath.Join(mnt, "runs/full"))
	t.Logf("filling the disk:\n%s", out)
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || (f[1] != "ENOSPC" && f[1] != "ok") {
			t.Errorf("%q: want ENOSPC (or success while room was left)", line)
		}
		if f[0] == "large-files" && f[1] != "ENOSPC" {
			t.Errorf("large files never failed with ENOSPC: %q", line)
		}
	}
	checkStillStored(t, before)
	n4ws(t, store, "fsck")

	// Free space: remove the filler, collect what failed commits left.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	n4ws(t, store, "gc")
	data := randBytes(77, 3<<20)
	writeFile(t, filepath.Join(mnt, "runs/full/after.bin"), data)
	if got := fileSHA(t, filepath.Join(mnt, "runs/full/after.bin")); got != sha(data) {
		t.Errorf("file written after space came back: sha %s, want %s", got, sha(data))
	}
	run(t, "", "rm", "-rf", filepath.Join(mnt, "runs/full"))
	landPipeline(t, mnt, "wheat", t.TempDir(), pipeSpec{pid: "0004_d_x4", testRMSE: 0.1})
	wantBest(t, filepath.Join(mnt, "runs/wheat"), "0004_d_x4", filepath.Join(mnt, "runs/wheat/0004_d_x4/predictions.csv"))
	checkStillStored(t, before)
	n4ws(t, store, "fsck")
	log, _ := os.ReadFile(filepath.Join(store, "mount.log"))
	if strings.Contains(string(log), "input/output error") {
		t.Errorf("mount.log mentions an I/O error:\n%s", log)
	}
}
