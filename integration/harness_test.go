//go:build linux

package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const cmdTimeout = 60 * time.Second

// exe runs a tool and returns its combined output. dir "" means the test's
// own directory; tools may still be pointed at paths inside the mount, which
// is safe because the file system lives in another process.
func exe(dir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	// A daemon child that kept our output pipe open would otherwise hang us.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (timeout after %v)", err, cmdTimeout)
	}
	return string(out), err
}

// run executes a tool that must succeed and returns its combined output.
func run(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	out, err := exe(dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// stdout runs a tool that must succeed and returns only its standard output
// (for machine-readable output that log lines on stderr must not spoil).
func stdout(t testing.TB, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// runFail executes a tool that must fail; it returns output and exit code.
func runFail(t testing.TB, dir, name string, args ...string) (string, int) {
	t.Helper()
	out, err := exe(dir, name, args...)
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("%s %s: want a non-zero exit, got err=%v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out, ee.ExitCode()
}

// sh runs a shell snippet (for pipes like `find | wc -l`).
func sh(t testing.TB, script string) string {
	t.Helper()
	return run(t, "", "sh", "-c", script)
}

func n4ws(t testing.TB, store string, args ...string) string {
	t.Helper()
	return run(t, "", n4wsBin, append([]string{"--store", store}, args...)...)
}

func n4wsFail(t testing.TB, store string, args ...string) (string, int) {
	t.Helper()
	return runFail(t, "", n4wsBin, append([]string{"--store", store}, args...)...)
}

// newStore creates an initialised store in a fresh temporary directory:
// a local store, or with N4WS_TEST_STORE=team a team store on its own
// throwaway PostgreSQL and S3 servers (team_test.go), to run the suite's
// core on the team engines.
func newStore(t testing.TB) string {
	t.Helper()
	if fuseMissing != "" {
		t.Skip(fuseMissing)
	}
	if os.Getenv("N4WS_TEST_STORE") == "team" {
		stores, _, _ := teamStoreOn(t, 1)
		return stores[0]
	}
	store := filepath.Join(t.TempDir(), "store")
	n4ws(t, store, "init")
	return store
}

// mountStore mounts store on a new mount point (created by n4ws itself).
func mountStore(t testing.TB, store string, extraArgs ...string) string {
	t.Helper()
	mnt := filepath.Join(t.TempDir(), "mnt")
	mountAt(t, store, mnt, extraArgs...)
	return mnt
}

// mountAt runs `n4ws mount` in daemon mode and returns the daemon PID. The
// contract says mount returns only once entries are visible, so no polling.
func mountAt(t testing.TB, store, mnt string, extraArgs ...string) int {
	t.Helper()
	args := append([]string{"--store", store, "mount", mnt}, extraArgs...)
	out, err := exe("", n4wsBin, args...)
	pid, _ := readPID(store)
	t.Cleanup(func() { cleanupMount(t, store, mnt, pid) })
	if err != nil {
		t.Fatalf("n4ws mount %s: %v\n%s%s", mnt, err, out, logTail(store))
	}
	if pid <= 0 || processGone(pid) {
		t.Fatalf("after mount, %s/lock names no live daemon (pid %d)", store, pid)
	}
	if !isMounted(mnt) {
		t.Fatalf("n4ws mount returned 0 but %s is not in /proc/mounts", mnt)
	}
	if _, err := os.Stat(filepath.Join(mnt, "runs")); err != nil {
		t.Fatalf("n4ws mount returned before the tree was visible: %v", err)
	}
	return pid
}

// unmount is the explicit, strict unmount: n4ws umount must succeed, and the
// daemon must be gone and the mount unlisted when it returns.
func unmount(t testing.TB, store, mnt string, pid int) {
	t.Helper()
	n4ws(t, store, "umount", mnt)
	// umount waits for the daemon; allow a moment for the reparented zombie.
	if !waitGone(pid, 2*time.Second) {
		t.Fatalf("daemon %d still running after n4ws umount returned", pid)
	}
	if isMounted(mnt) {
		t.Fatalf("%s still in /proc/mounts after n4ws umount", mnt)
	}
}

// cleanupMount unmounts if needed, waits for the daemon and fails the test
// on anything left behind. It is a no-op after a successful unmount().
func cleanupMount(t testing.TB, store, mnt string, pid int) {
	t.Helper()
	if isMounted(mnt) {
		if out, err := exe("", n4wsBin, "--store", store, "umount", mnt); err != nil {
			t.Errorf("cleanup: n4ws umount %s: %v\n%s", mnt, err, out)
			forceUnmount(mnt)
		}
	}
	if pid > 0 && !waitGone(pid, 10*time.Second) {
		t.Errorf("cleanup: daemon %d still running 10 s after unmount; killing it", pid)
		signalDaemon(pid, syscall.SIGKILL)
	}
	if isMounted(mnt) {
		t.Errorf("cleanup: %s still listed in /proc/mounts", mnt)
		forceUnmount(mnt)
	}
	checkDaemonReports(t, store, pid)
}

// checkDaemonReports fails the test on a race report or panic of the daemon
// and shows the daemon log of a failed test.
func checkDaemonReports(t testing.TB, store string, pid int) {
	t.Helper()
	if pid > 0 && raceDir != "" {
		report := filepath.Join(raceDir, "n4ws."+strconv.Itoa(pid))
		if b, err := os.ReadFile(report); err == nil {
			t.Errorf("daemon %d race report:\n%s", pid, b)
			os.Remove(report)
		}
	}
	log, _ := os.ReadFile(filepath.Join(store, "mount.log"))
	if strings.Contains(string(log), "panic: ") {
		t.Errorf("daemon log has a panic:%s", logTail(store))
	} else if t.Failed() {
		t.Logf("daemon log:%s", logTail(store))
	}
}

// logTail returns the last lines of <store>/mount.log for failure messages.
func logTail(store string) string {
	b, err := os.ReadFile(filepath.Join(store, "mount.log"))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return "\n--- mount.log (tail) ---\n" + strings.Join(lines, "\n")
}

// readPID reads the daemon PID from the first line of <store>/lock.
func readPID(store string) (int, error) {
	b, err := os.ReadFile(filepath.Join(store, "lock"))
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(line))
}

func isMounted(mnt string) bool { return slices.Contains(procMounts(), mnt) }

// forceUnmount is the last resort so that no test leaves a mount behind.
func forceUnmount(mnt string) {
	if os.Geteuid() == 0 && exec.Command("umount", "-l", mnt).Run() == nil {
		return
	}
	exec.Command("fusermount3", "-u", "-z", mnt).Run()
}

// processGone reports whether pid has exited. Daemons are reparented, so a
// zombie that init has not reaped yet counts as gone.
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) || (b[i+2] != 'Z' && b[i+2] != 'X') {
		return i < 0 || i+2 >= len(b)
	}
	// A Go process is multi-threaded: after SIGKILL its leader thread can
	// show Z while other threads are still exiting, and the fd table (with
	// the store's flock) is only released when the last one is gone. So a
	// zombie leader counts as gone only once it is the last task left.
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	return err != nil || len(tasks) <= 1
}

func waitGone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// signalDaemon sends sig to pid, but only if it runs an n4ws binary: we never
// signal a process we did not start.
func signalDaemon(pid int, sig syscall.Signal) error {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return err
	}
	if filepath.Base(strings.TrimSuffix(exe, " (deleted)")) != "n4ws" {
		return fmt.Errorf("pid %d runs %s, not n4ws", pid, exe)
	}
	return syscall.Kill(pid, sig)
}

// killDaemon sends SIGKILL to the mount daemon pid and waits until it is gone.
func killDaemon(t testing.TB, pid int) {
	t.Helper()
	if err := signalDaemon(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !waitGone(pid, 5*time.Second) {
		t.Fatalf("daemon %d survived SIGKILL", pid)
	}
}

// randBytes returns n reproducible pseudo-random bytes.
func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func fileSHA(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha(b)
}

// sha256sum returns the digest printed by the sha256sum tool.
func sha256sum(t testing.TB, path string) string {
	t.Helper()
	return strings.Fields(run(t, "", "sha256sum", path))[0]
}

func mkdirAll(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	mkdirAll(t, filepath.Dir(path))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitFor polls cond every 50 ms until it holds or d has passed.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}
