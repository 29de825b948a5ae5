package backing

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// MountLock is the store's exclusive lock, held for the life of a mount.
type MountLock struct {
	f *os.File
}

// LockForMount takes the store's lock without waiting and writes pid into
// it. If another process holds it, the error names that process.
func (s *Store) LockForMount(pid int) (*MountLock, error) {
	p := filepath.Join(s.dir, "lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock store: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("store %s is mounted by process %d: %w", s.dir, s.LockHolder(), ErrLocked)
		}
		return nil, fmt.Errorf("lock store: %w", err)
	}
	if err = f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(pid)+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock store: %w", err)
	}
	return &MountLock{f: f}, nil
}

// SetPID rewrites the PID recorded in the lock (a daemon after fork).
func (l *MountLock) SetPID(pid int) error {
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err := l.f.WriteAt([]byte(strconv.Itoa(pid)+"\n"), 0)
	return err
}

// File exposes the lock file so that a daemon child can inherit the lock.
func (l *MountLock) File() *os.File { return l.f }

// Release drops the lock.
func (l *MountLock) Release() error { return l.f.Close() }

// LockHolder returns the PID written in the lock file, or 0 if none.
func (s *Store) LockHolder() int {
	b, err := os.ReadFile(filepath.Join(s.dir, "lock"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// IsLocked reports whether some process holds the mount lock now.
func (s *Store) IsLocked() bool { return LockHeld(s.dir) }

// LockHeld reports whether some process holds the mount lock of the store
// in dir now.
func LockHeld(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "lock"))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		return true
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}
