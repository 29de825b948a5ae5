package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/backing"
)

// mountEntry is one line of /proc/self/mountinfo that matters to us.
type mountEntry struct {
	point  string
	fstype string
	source string
}

// findMount returns the mount at exactly path, if any.
func findMount(path string) (mountEntry, bool) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return mountEntry{}, false
	}
	defer f.Close()
	var found mountEntry
	ok := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root point options [optional...] - fstype source superopts
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, fl := range fields {
			if fl == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || len(fields) < sep+3 || len(fields) < 5 {
			continue
		}
		if unescapeMount(fields[4]) == path {
			// the last match is the one on top
			found, ok = mountEntry{point: path, fstype: fields[sep+1], source: unescapeMount(fields[sep+2])}, true
		}
	}
	return found, ok
}

// unescapeMount undoes the octal escapes (\040 for space) of mountinfo.
func unescapeMount(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// prepareMountpoint makes the mount point absolute and creates it if
// missing. A stale mount there (its process died) cannot be stat'ed, so
// creation errors are left for cleanStaleMount to sort out.
func prepareMountpoint(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if _, ok := findMount(abs); !ok {
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return "", fmt.Errorf("create mount point: %w", err)
		}
	}
	return abs, nil
}

// cleanStaleMount detaches a dead n4ws mount of this store at mnt. It is
// called with the store's lock held, so no live process serves such a
// mount. Other filesystems mounted there are left alone, with an error.
func cleanStaleMount(mnt, storeDir string) error {
	m, ok := findMount(mnt)
	if !ok {
		return nil
	}
	if m.fstype != "fuse.n4ws" || m.source != "n4ws:"+storeDir {
		return fmt.Errorf("%s is already a mount point (%s %s); unmount it first", mnt, m.fstype, m.source)
	}
	if err := detach(mnt); err != nil {
		return fmt.Errorf("clean stale mount at %s: %w", mnt, err)
	}
	return nil
}

// detach lazily unmounts mnt: it disappears now, busy files close later.
func detach(mnt string) error {
	if os.Geteuid() == 0 {
		return syscall.Unmount(mnt, syscall.MNT_DETACH)
	}
	return fusermount(mnt, "-u", "-z")
}

// unmount unmounts mnt, failing if it is busy.
func unmount(mnt string) error {
	if os.Geteuid() == 0 {
		if err := syscall.Unmount(mnt, 0); err != nil {
			return fmt.Errorf("unmount %s: %w", mnt, err)
		}
		return nil
	}
	return fusermount(mnt, "-u")
}

func fusermount(mnt string, args ...string) error {
	var lastErr error
	for _, bin := range []string{"fusermount3", "fusermount"} {
		out, err := exec.Command(bin, append(args, mnt)...).CombinedOutput()
		if err == nil {
			return nil
		}
		if errors.Is(err, exec.ErrNotFound) {
			lastErr = fmt.Errorf("%s not found: install the fuse3 package", bin)
			continue
		}
		return fmt.Errorf("%s %s: %s", bin, strings.Join(args, " "), strings.TrimSpace(string(out)))
	}
	return lastErr
}

// unmountWhenIdle unmounts mnt, retrying while it is busy for up to
// limit: the mount's live projection holds store.sqlite open for the
// instant of a snapshot (its child is a user of the mount like any
// other). A mount kept busy by someone else still fails, after limit.
func unmountWhenIdle(mnt string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := unmount(mnt)
		busy := errors.Is(err, syscall.EBUSY) || (err != nil && strings.Contains(err.Error(), "busy"))
		if !busy || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func newUmountCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "umount MOUNTPOINT",
		Short: "Unmount a workspace and wait for its process to finish",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			mnt, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			m, ok := findMount(mnt)
			if !ok {
				return fmt.Errorf("%s is not mounted", mnt)
			}
			if m.fstype != "fuse.n4ws" {
				return fmt.Errorf("%s is a %s mount, not n4ws", mnt, m.fstype)
			}
			storeDir := strings.TrimPrefix(m.source, "n4ws:")
			if err := unmountWhenIdle(mnt, 3*time.Second); err != nil {
				return err
			}
			// The process syncs the store to disk before it exits
			// (docs/RELIABILITY.md): after a large copy that waits for
			// the disk to take gigabytes, hence the generous limit.
			return waitForServer(storeDir, 2*time.Minute)
		},
	}
}

// waitForServer waits until no process holds the store's mount lock.
func waitForServer(storeDir string, limit time.Duration) error {
	s := &lockProbe{dir: storeDir}
	deadline := time.Now().Add(limit)
	for s.locked() {
		if time.Now().After(deadline) {
			return fmt.Errorf("unmounted, but the mount process of %s is still running after %v", storeDir, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// lockProbe asks whether a store's mount lock is held without opening the
// store's index.
type lockProbe struct{ dir string }

func (p *lockProbe) locked() bool { return backing.LockHeld(p.dir) }
