package backing

import (
	"context"
	"os"
	"strings"
	"syscall"
	"time"
)

// skeleton is the workspace tree every store starts with. Each folder is
// pinned (it cannot be removed or renamed); the read-only ones are filled
// by n4ws itself (computed views and archives), never through the mount.
var skeleton = []struct {
	path     string
	readOnly bool
}{
	{"runs", false},
	{"exports", true},
	{"exports/best_predictions", true},
	{"exports/session_reports", true},
	{"library", false},
	{"library/templates", false},
	{"library/trained", false},
	{"library/trained/filtered", false},
	{"library/trained/pipeline", false},
	{"library/trained/fullrun", false},
	{"catalog", true},
	{"catalog/reports", true},
	{"catalog/archives", true},
	{"catalog/archives/filtered", true},
	{"catalog/archives/pipeline", true},
	{"catalog/archives/best_predictions", true},
}

// EnsureSkeleton creates the root and the workspace folders when the
// index has none yet (a store opened with OpenWith on an empty database);
// otherwise it does nothing.
func (s *Store) EnsureSkeleton(ctx context.Context) error { return s.createSkeleton(ctx) }

// createSkeleton creates the root and the skeleton folders, owned by the
// user who created the store.
func (s *Store) createSkeleton(ctx context.Context) error {
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	return s.update(ctx, func(tx *txn) error {
		// A team store's index may have been set up by another machine:
		// then there is nothing to create.
		var n int
		if err := tx.queryRow(`SELECT count(*) FROM nodes WHERE ino = ?`, RootIno).Scan(&n); err != nil || n > 0 {
			return err
		}
		now := time.Now()
		root := Attr{Mode: syscall.S_IFDIR | 0o755, Uid: uid, Gid: gid, Nlink: 2,
			Flags: FlagPinned | FlagReadOnly, Atime: now, Mtime: now, Ctime: now}
		ino, err := tx.insertNode(root)
		if err != nil {
			return err
		}
		if ino != RootIno {
			return ErrCorrupt
		}
		inos := map[string]uint64{"": RootIno}
		for _, d := range skeleton {
			parentPath, name := "", d.path
			if i := strings.LastIndexByte(d.path, '/'); i >= 0 {
				parentPath, name = d.path[:i], d.path[i+1:]
			}
			flags := FlagPinned
			if d.readOnly {
				flags |= FlagReadOnly
			}
			a, err := tx.mknod(inos[parentPath], name, NewNode{Mode: syscall.S_IFDIR | 0o755, Uid: uid, Gid: gid}, flags)
			if err != nil {
				return err
			}
			inos[d.path] = a.Ino
		}
		return nil
	})
}
