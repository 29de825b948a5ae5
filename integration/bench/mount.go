//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// mount drives the n4ws binary through its CLI contract (docs/CLI_CONTRACT.md):
// `mount` returns only once the mount is ready, `umount` waits for the daemon.
type mount struct {
	bin   string // n4ws binary; read only
	store string // store dir; read only
	dir   string // mount point; read only

	mounts int    // mounts so far, to name their CPU profiles
	tag    string // added to the profiles' names ("team"), so mounts of two stores do not share them
}

// n4ws runs one CLI command. Its output goes to a file, not a pipe: `mount`
// leaves a daemon behind, and a daemon that kept an inherited pipe open would
// make Wait block until it exits.
func (m *mount) n4ws(ctx context.Context, args ...string) error {
	out, err := os.CreateTemp("", "n4ws-bench-cmd-")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd := exec.CommandContext(ctx, m.bin, append([]string{"--store", m.store}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		text, _ := os.ReadFile(out.Name())
		return fmt.Errorf("n4ws %s: %w\n%s", strings.Join(args, " "), err, text)
	}
	return nil
}

func (m *mount) init(ctx context.Context) error { return m.n4ws(ctx, "init") }

// up mounts at info level: the daemon logs whether the kernel granted
// passthrough at Info, and the default level (warn) would hide it.
// BENCH_CPUPROFILE=<prefix> profiles the mount's CPU: each mount writes
// <prefix>.<n> (<prefix>.team.<n> for the team store) at unmount (n counts the mounts of the run, so a cold row's
// remount starts a new file).
func (m *mount) up(ctx context.Context) error {
	args := []string{"--log-level", "info", "mount", m.dir}
	if p := os.Getenv("BENCH_CPUPROFILE"); p != "" {
		m.mounts++
		args = append(args, "--cpuprofile", fmt.Sprintf("%s%s.%d", p, m.tag, m.mounts))
	}
	if p := os.Getenv("BENCH_MEMPROFILE"); p != "" { // the heap at unmount (scale runs)
		args = append(args, "--memprofile", p)
	}
	if err := m.n4ws(ctx, args...); err != nil {
		return fmt.Errorf("%w\nlast lines of %s:\n%s", err, m.logPath(), tail(m.logPath(), 20))
	}
	return nil
}

func (m *mount) down(ctx context.Context) error { return m.n4ws(ctx, "umount", m.dir) }

// cold makes every cache on the mount's path cold: the server's own (by
// unmount + remount) and the kernel's (page, dentry and inode caches).
func (m *mount) cold(ctx context.Context) error {
	if err := m.down(ctx); err != nil {
		return err
	}
	if err := dropCaches(); err != nil {
		return err
	}
	return m.up(ctx)
}

// cleanup unmounts if our mount point is still mounted, whatever state the
// run ended in. It uses its own context: the run's may be cancelled by Ctrl-C.
func (m *mount) cleanup() {
	if !isMountPoint(m.dir) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := m.down(ctx)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "bench: cleanup:", err)
	// Last resort, and only on our own mount point: a lazy unmount detaches it
	// now and lets the kernel finish once nothing uses it.
	if out, err := exec.CommandContext(ctx, "fusermount3", "-u", "-z", m.dir).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: cleanup: fusermount3 -u -z %s: %v %s\n", m.dir, err, out)
	}
}

func (m *mount) logPath() string { return filepath.Join(m.store, "mount.log") }

// passthroughLines returns the mount.log lines that mention passthrough,
// at most limit of them, and how many there were in all.
func (m *mount) passthroughLines(limit int) ([]string, int) {
	f, err := os.Open(m.logPath())
	if err != nil {
		return nil, 0
	}
	defer f.Close()
	var lines []string
	total := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.Contains(strings.ToLower(sc.Text()), "passthrough") {
			total++
			if len(lines) < limit {
				lines = append(lines, sc.Text())
			}
		}
	}
	return lines, total
}

// flushDirty writes dirty pages back so a workload does not pay for the
// previous one's writeback. Unlike drop_caches it needs no root.
func flushDirty() { syscall.Sync() }

// dropCaches drops clean page, dentry and inode caches (root only). Dirty
// pages cannot be dropped, hence the flush first.
func dropCaches() error {
	flushDirty()
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
		return fmt.Errorf("drop caches: %w", err)
	}
	return nil
}

// canDropCaches tells whether cold workloads can run, and why not.
func canDropCaches() (bool, string) {
	if os.Geteuid() != 0 {
		return false, "not root"
	}
	f, err := os.OpenFile("/proc/sys/vm/drop_caches", os.O_WRONLY, 0)
	if err != nil {
		return false, err.Error()
	}
	f.Close()
	return true, ""
}

// isMountPoint looks for dir as a mount point in /proc/self/mountinfo
// (field 5), which also lists dead FUSE mounts that stat would fail on.
func isMountPoint(dir string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && unescapeMountinfo(f[4]) == dir {
			return true
		}
	}
	return false
}

// unescapeMountinfo undoes the octal escapes (\040 for space...) of mountinfo.
func unescapeMountinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
