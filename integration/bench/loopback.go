//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// loopback is go-fuse's example loopback file system (example/loopback of
// the go-fuse module n4ws builds on) mounted over a plain folder: a FUSE
// server with no index, no hashing and no catalog, every request passed to
// the folder. Measured in the same run, it is the floor the FUSE protocol
// and go-fuse set on this machine: a goal the loopback misses too is out
// of reach for any go-fuse file system here, n4ws included.
//
// It runs as shipped (1 s entry and attribute timeouts, no page cache kept
// across opens) with -allow-other, which makes it mount with
// default_permissions as n4ws does (the kernel checks permissions, and
// refreshes a folder's attributes after each change in it), and
// -directmount as root. BENCH_LOOPBACK=0 leaves it out.
type loopback struct {
	bin  string // the example's binary
	orig string // the folder it serves
	dir  string // its mount point
	cmd  *exec.Cmd
	done chan error
}

func wantLoopback() bool { return os.Getenv("BENCH_LOOPBACK") != "0" }

// buildLoopback builds the example from the module cache into base/bin.
func buildLoopback(ctx context.Context, base string) (*loopback, error) {
	lb := &loopback{bin: filepath.Join(base, "bin", "loopback"),
		orig: filepath.Join(base, "loopback-orig"), dir: filepath.Join(base, "loopback-mnt")}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", lb.bin, "github.com/hanwen/go-fuse/v2/example/loopback")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build go-fuse's example/loopback: %w", err)
	}
	for _, d := range []string{lb.orig, lb.dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	return lb, nil
}

// startLoopback builds and mounts the loopback, or returns nil when
// BENCH_LOOPBACK=0 leaves it out.
func startLoopback(ctx context.Context, base string) (*loopback, error) {
	if !wantLoopback() {
		return nil, nil
	}
	lb, err := buildLoopback(ctx, base)
	if err != nil {
		return nil, err
	}
	return lb, lb.up(ctx)
}

// up starts the loopback process and waits until its mount is there.
func (lb *loopback) up(ctx context.Context) error {
	args := []string{"-q", "-allow-other"}
	if os.Geteuid() == 0 {
		args = append(args, "-directmount")
	}
	lb.cmd = exec.Command(lb.bin, append(args, lb.dir, lb.orig)...)
	lb.cmd.Stdout, lb.cmd.Stderr = os.Stderr, os.Stderr
	if err := lb.cmd.Start(); err != nil {
		return fmt.Errorf("start loopback: %w", err)
	}
	lb.done = make(chan error, 1)
	go func() { lb.done <- lb.cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for !isMountPoint(lb.dir) {
		select {
		case err := <-lb.done:
			lb.cmd = nil
			return fmt.Errorf("loopback exited before mounting: %v", err)
		case <-ctx.Done():
			lb.down()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			lb.down()
			return fmt.Errorf("loopback: %s not mounted after 10 s", lb.dir)
		}
	}
	return nil
}

// down unmounts through the process (SIGTERM makes the example unmount
// and exit) and waits for it; a process that does not exit within 10 s is
// killed and its mount point, ours, lazily unmounted.
func (lb *loopback) down() error {
	if lb == nil || lb.cmd == nil {
		return nil
	}
	defer func() { lb.cmd = nil }()
	_ = lb.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-lb.done:
		return nil
	case <-time.After(10 * time.Second):
	}
	_ = lb.cmd.Process.Kill()
	<-lb.done
	if isMountPoint(lb.dir) {
		out, err := exec.Command("fusermount3", "-u", "-z", lb.dir).CombinedOutput()
		if err != nil {
			return fmt.Errorf("loopback: fusermount3 -u -z %s: %v %s", lb.dir, err, strings.TrimSpace(string(out)))
		}
	}
	return fmt.Errorf("loopback did not exit on SIGTERM within 10 s: killed")
}

// cold remounts and drops the kernel's caches, as for the mount.
func (lb *loopback) cold(ctx context.Context) error {
	if err := lb.down(); err != nil {
		return err
	}
	if err := dropCaches(); err != nil {
		return err
	}
	return lb.up(ctx)
}

// target is the loopback side of the comparison, laid out as the native
// side (the workloads write at its root, where nirs4all's stand-in finds a
// workspace of its own).
func (lb *loopback) target() target {
	return target{"loopback", lb.dir, lb.dir, lb.orig, lb.cold}
}

// loopbackSummary is the sentence the Markdown record says of the
// loopback column.
func loopbackSummary(lb *loopback) string {
	if lb == nil {
		return ""
	}
	return " The go-fuse loopback column is go-fuse's example/loopback over a plain folder on the same disk," +
		" run in the same sitting: the floor FUSE sets here (docs/PERFORMANCE.md, \"How it is measured\")."
}
