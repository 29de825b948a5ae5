package vfs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/n4ws/n4ws/backing"
)

// The apply socket lets a CLI command wait until the running mount has
// applied the command's changes to the kernel's caches, so that
// `n4ws runs delete x && test ! -e ~/workspace/runs/x` holds at once.
//
// Protocol: the client connects to <store>/mount.sock and writes "apply\n";
// the mount applies every change committed before it read the request and
// answers "ok\n" (or "error <text>\n"). The client's changes are committed
// before it connects, so they are included.
//
// A client that is about to read the store writes "settle\n" instead: the
// mount writes the unlinks it answered and still holds in its queue
// (unlink_later.go) and answers "ok\n", so that the command sees them.
const (
	applySocketName = "mount.sock"
	applyRequest    = "apply"
	settleRequest   = "settle"
	// maxSunPath is the longest socket path bind/connect take (108 with the NUL).
	maxSunPath = 107
)

// serveApplySocket listens on the store's apply socket and forwards each
// request to the change watcher until ctx ends. The caller holds the mount
// lock, so a socket file left by a crashed mount can be removed.
func serveApplySocket(ctx context.Context, storeDir string, reqs chan<- chan<- error, settle func(), log *slog.Logger) error {
	var ln *net.UnixListener
	err := withSocketPath(storeDir, func(p string) error {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
		ln = l
		return err
	})
	if err != nil {
		return fmt.Errorf("listen on apply socket: %w", err)
	}
	ln.SetUnlinkOnClose(false) // the path may be a /proc/self/fd alias
	go func() {
		<-ctx.Done()
		ln.Close()
		os.Remove(filepath.Join(storeDir, applySocketName))
	}()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("apply socket", "err", err)
				}
				return
			}
			go answerApply(ctx, conn, reqs, settle)
		}
	}()
	return nil
}

// answerApply serves one client: one request, one answer.
func answerApply(ctx context.Context, conn net.Conn, reqs chan<- chan<- error, settle func()) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err == nil && strings.TrimSpace(line) == settleRequest {
		settle()
		fmt.Fprintln(conn, "ok")
		return
	}
	if err != nil || strings.TrimSpace(line) != applyRequest {
		fmt.Fprintf(conn, "error unknown request %q\n", strings.TrimSpace(line))
		return
	}
	reply := make(chan error, 1)
	select {
	case reqs <- reply:
	case <-ctx.Done():
		fmt.Fprintln(conn, "error the mount is stopping")
		return
	}
	select {
	case err = <-reply:
	case <-ctx.Done():
		err = errors.New("the mount is stopping")
	}
	if err != nil {
		fmt.Fprintf(conn, "error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		return
	}
	fmt.Fprintln(conn, "ok")
}

// ErrNoMountAnswer means a mount holds the store but did not confirm in time
// that it applied the changes.
var ErrNoMountAnswer = errors.New("the running mount did not answer")

// WaitForMount returns once the mount running on the store in storeDir (if
// any) has applied every change committed so far to the kernel's caches. It
// returns at once when no mount holds the store, and ErrNoMountAnswer
// (wrapped) when the mount did not answer within timeout.
func WaitForMount(storeDir string, timeout time.Duration) error {
	return askRunningMount(storeDir, applyRequest, timeout)
}

// SettleMount returns once the mount running on the store in storeDir (if
// any) has written the unlinks it answered so far, so that a command that
// reads the store next sees them; errors as WaitForMount.
func SettleMount(storeDir string, timeout time.Duration) error {
	return askRunningMount(storeDir, settleRequest, timeout)
}

// askRunningMount sends request to the mount running on the store, if any.
func askRunningMount(storeDir, request string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if !backing.LockHeld(storeDir) {
			return nil
		}
		err := askMount(storeDir, request, deadline)
		if err == nil {
			return nil
		}
		// A mount that is starting holds the lock before it listens.
		if time.Now().Add(20*time.Millisecond).After(deadline) || !retryable(err) {
			return fmt.Errorf("%w within %s: %v", ErrNoMountAnswer, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func retryable(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ECONNREFUSED)
}

// askMount sends one request and reads the answer.
func askMount(storeDir, request string, deadline time.Time) error {
	var conn net.Conn
	err := withSocketPath(storeDir, func(p string) error {
		d := net.Dialer{Deadline: deadline}
		c, err := d.Dial("unix", p)
		conn = c
		return err
	})
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(deadline)
	if _, err := fmt.Fprintln(conn, request); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimSpace(line); line != "ok" {
		return errors.New(strings.TrimPrefix(line, "error "))
	}
	return nil
}

// withSocketPath calls fn with a path to the store's socket that fits in a
// socket address: the real one, or for a deep store directory the same file
// reached through /proc/self/fd of the opened directory.
func withSocketPath(storeDir string, fn func(string) error) error {
	p := filepath.Join(storeDir, applySocketName)
	if len(p) <= maxSunPath {
		return fn(p)
	}
	d, err := os.OpenFile(storeDir, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(fmt.Sprintf("/proc/self/fd/%d/%s", d.Fd(), applySocketName))
}
