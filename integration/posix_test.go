//go:build linux

package integration

import (
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hanwen/go-fuse/v2/posixtest"
)

// notApplicable lists posixtest cases that do not apply to n4ws, each with
// the reason. Everything else must pass.
var notApplicable = map[string]string{
	"FcntlFlockLocksFile": "n4ws leaves POSIX record locks to the kernel (no Getlk/Setlk), where two fds of one " +
		"process never conflict (POSIX semantics); the case expects OFD-style EAGAIN between them",
}

// TestPosix runs go-fuse's POSIX conformance cases, each in its own folder
// below runs/ of one real mount. It is not parallel: FdLeak counts this
// process's open descriptors, which other tests would disturb.
func TestPosix(t *testing.T) {
	store := newStore(t)
	mnt := mountStore(t, store)
	for _, name := range slices.Sorted(maps.Keys(posixtest.All)) {
		t.Run(name, func(t *testing.T) {
			if why, ok := notApplicable[name]; ok {
				t.Skip(why)
			}
			dir := filepath.Join(mnt, "runs/posix", name)
			mkdirAll(t, dir)
			posixtest.All[name](t, dir)
		})
	}
}
