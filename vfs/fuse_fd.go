package vfs

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// closeFuseDeviceOnExec marks every descriptor of /dev/fuse this process
// holds close-on-exec.
//
// go-fuse 2.12.1 opens /dev/fuse with syscall.Open and no O_CLOEXEC when
// it mounts directly (as root; fusermount's descriptor is marked), so
// every child the mount process starts (the live projection's
// `n4ws snapshot-store`) inherits the FUSE connection. The kernel ends a
// connection only when its last descriptor is closed: after the server
// died (kill -9) or stopped serving, a child waiting for the answer to one
// of its own requests on the mount (opening store.sqlite) kept the
// connection alive, so its request was never answered nor aborted, the
// child never exited and the mount point stayed neither served nor dead.
func closeFuseDeviceOnExec() error {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err != nil || target != "/dev/fuse" {
			continue // e.g. the descriptor ReadDir itself uses, closed since
		}
		syscall.CloseOnExec(fd)
	}
	return nil
}
