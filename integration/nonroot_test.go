//go:build linux

package integration

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNonRoot mounts as an ordinary user, the way people run n4ws: through
// the setuid fusermount3, with the mount private to that user.
func TestNonRoot(t *testing.T) {
	if fuseMissing != "" {
		t.Skip(fuseMissing)
	}
	requireRoot(t, "needs root to create a throwaway user")
	for _, tool := range []string{"useradd", "userdel", "su", "fusermount3"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing under CI (apt-get install passwd util-linux fuse3)", tool)
			}
			t.Skipf("%s not in PATH", tool)
		}
	}
	t.Parallel()
	openDevFuse(t)
	user := fmt.Sprintf("n4wstest%d", rand.IntN(1_000_000))
	run(t, "", "useradd", "-m", "-s", "/bin/sh", user)
	t.Cleanup(func() {
		if out, err := exe("", "userdel", "-r", user); err != nil {
			t.Errorf("userdel -r %s: %v\n%s", user, err, out)
		}
	})
	home := strings.TrimSpace(sh(t, "getent passwd "+user+" | cut -d: -f6"))
	uid := strings.TrimSpace(run(t, "", "id", "-u", user))
	bin := copyExecutable(t, n4wsBin)
	store, mnt := filepath.Join(home, "store"), filepath.Join(home, "mnt")
	asUser := func(script string) (string, error) {
		// Race reports go where the user may write.
		return exe("", "su", "-s", "/bin/sh", user, "-c", "GORACE=log_path="+home+"/race "+script)
	}
	mustAsUser := func(script string) string {
		t.Helper()
		out, err := asUser(script)
		if err != nil {
			t.Fatalf("as %s: %s: %v\n%s", user, script, err, out)
		}
		return out
	}

	mustAsUser(fmt.Sprintf("%s --store %s init", bin, store))
	out, err := asUser(fmt.Sprintf("%s --store %s mount %s", bin, store, mnt))
	pid, _ := readPID(store)
	t.Cleanup(func() { cleanupUserMount(t, asUser, bin, store, mnt, pid, home) })
	if err != nil {
		t.Fatalf("mount as %s: %v\n%s%s", user, err, out, logTail(store))
	}

	got := mustAsUser(fmt.Sprintf("echo hello > %s/runs/hello.txt && cat %s/runs/hello.txt", mnt, mnt))
	if got != "hello\n" {
		t.Errorf("write+read as %s: got %q", user, got)
	}
	owners := strings.Fields(mustAsUser(fmt.Sprintf("stat -c %%u %s %s/runs %s/runs/hello.txt", mnt, mnt, mnt)))
	for _, o := range owners {
		if o != uid {
			t.Errorf("owners of mount, runs, file: %q, want all %s", owners, uid)
			break
		}
	}
	if opts := mountOptions(mnt); !strings.Contains(opts, "user_id="+uid) {
		t.Errorf("/proc/mounts options for %s: %q, want user_id=%s", mnt, opts, uid)
	}
	// Without --allow-other the mount is private, even to root.
	if _, err := os.ReadDir(mnt); !os.IsPermission(err) {
		t.Errorf("root reading %s: %v, want permission denied (no allow_other)", mnt, err)
	}

	mustAsUser(fmt.Sprintf("%s --store %s umount %s", bin, store, mnt))
	if !waitGone(pid, 2*time.Second) {
		t.Errorf("daemon %d still running after umount as %s", pid, user)
	}
	if isMounted(mnt) {
		t.Errorf("%s still mounted after umount as %s", mnt, user)
	}
}

// openDevFuse makes /dev/fuse usable by ordinary users, as distributions
// ship it (0666, udev rule). Some containers leave it 0600, and then
// fusermount3 fails with "failed to open /dev/fuse: Permission denied".
// The mode is not restored: two test runs at once would race on it.
func openDevFuse(t *testing.T) {
	fi, err := os.Stat("/dev/fuse")
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode&0o006 != 0o006 {
		t.Logf("/dev/fuse is %v here; making it 0666 as distributions do", mode)
		if err := os.Chmod("/dev/fuse", 0o666); err != nil {
			t.Fatal(err)
		}
	}
}

// cleanupUserMount makes sure the user's daemon and mount are gone before
// userdel runs, and reports the daemon's race reports.
func cleanupUserMount(t *testing.T, asUser func(string) (string, error), bin, store, mnt string, pid int, home string) {
	if isMounted(mnt) {
		if out, err := asUser(fmt.Sprintf("%s --store %s umount %s", bin, store, mnt)); err != nil {
			t.Errorf("cleanup: umount as user: %v\n%s", err, out)
			forceUnmount(mnt)
		}
	}
	if pid > 0 && !waitGone(pid, 10*time.Second) {
		t.Errorf("cleanup: daemon %d still running; killing it", pid)
		signalDaemon(pid, syscall.SIGKILL)
		waitGone(pid, 5*time.Second)
	}
	if isMounted(mnt) {
		t.Errorf("cleanup: %s still mounted", mnt)
		forceUnmount(mnt)
	}
	reports, _ := filepath.Glob(filepath.Join(home, "race.*"))
	for _, r := range reports {
		b, _ := os.ReadFile(r)
		t.Errorf("race report %s:\n%s", r, b)
	}
	if t.Failed() {
		t.Logf("daemon log:%s", logTail(store))
	}
}

// copyExecutable copies bin into a fresh 0755 folder that any user can reach.
func copyExecutable(t *testing.T, bin string) string {
	t.Helper()
	dir, err := os.MkdirTemp(tmpRoot, "bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(bin))
	in, err := os.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// mountOptions returns the options field of mnt's line in /proc/mounts.
func mountOptions(mnt string) string {
	f, err := os.Open("/proc/mounts")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 4 && unescapeMount(fields[1]) == mnt {
			return fields[2] + " " + fields[3]
		}
	}
	return ""
}
