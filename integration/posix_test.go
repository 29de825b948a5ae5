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
	"Tmpfile": "O_TMPFILE is not supported yet (n4ws does not implement go-fuse's NodeTmpfiler: a stored file " +
		"needs a parent and a name until linkat gives it one); open answers EOPNOTSUPP. See README, known limits",
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
			// A case skips itself when the file system lacks something
			// (a "known limitation"); that is a failure here unless the
			// case is listed above with its reason.
			var skipped bool
			t.Run("case", func(t *testing.T) {
				defer func() { skipped = t.Skipped() }()
				posixtest.All[name](t, dir)
			})
			if skipped {
				t.Errorf("posixtest %s skipped itself: fix it or list it in notApplicable with its reason", name)
			}
		})
	}
}
