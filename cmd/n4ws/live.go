package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog/importer"
	"github.com/n4ws/n4ws/catalog/live"
	"github.com/n4ws/n4ws/vfs"
)

// projection is the live projection of the store.sqlite nirs4all writes at
// the mount root into runs/ (catalog/live), run by the mount process.
type projection struct {
	store  *backing.Store // its own handle, which logs its changes (below)
	proj   *live.Projector
	cancel context.CancelFunc // set by start
	done   chan struct{}      // closed when Run returned; set by start
	shown  chan struct{}      // buffered 1: the projector wrote (showWrites)
}

const (
	// snapshotTimeout bounds one `n4ws snapshot-store` child. A snapshot
	// takes milliseconds; its retries on a busy store last well under
	// this. One that runs longer is stuck: it is killed and the pass is
	// retried.
	snapshotTimeout = time.Minute
	// stopTimeout bounds how long the mount's exit waits for the
	// projection once cancelled (a child stuck on the mount may need the
	// mount to be gone before it can die): the exit never waits for it.
	stopTimeout = 5 * time.Second
	// applyTimeout bounds one ask of showWrites; the change poller shows
	// the writes anyway.
	applyTimeout = 2 * time.Second
)

// newProjection prepares the projection of the workspace mounted at mnt,
// whose store.sqlite really lives in statDir (the mount's native folder).
// The projector writes through a store handle of its own opened with
// LogChanges, like a CLI command, so that the mount's change poller drops
// the kernel's cached entries and listings of the folders it writes.
func newProjection(ctx context.Context, dir, mnt, statDir string) (*projection, error) {
	s, err := backing.Open(ctx, dir, backing.Options{LogChanges: true, Logger: slog.Default()})
	if err != nil {
		return nil, err
	}
	pr := &projection{store: s, shown: make(chan struct{}, 1)}
	pr.proj, err = live.New(ctx, live.Options{Store: s, Workspace: mnt, StatDir: statDir, Snapshot: snapshotInChild,
		OnWrite: pr.wrote, Logger: slog.Default()})
	if err != nil {
		s.Close()
		return nil, err
	}
	return pr, nil
}

// wrote is the projector's OnWrite: it never blocks (showWrites asks).
func (p *projection) wrote() {
	select {
	case p.shown <- struct{}{}:
	default:
	}
}

// showWrites has the mount apply the projector's writes to the kernel's
// caches as soon as they commit (vfs.WaitForMount, through the mount's
// apply socket), rather than at its change poller's next look, up to
// 300 ms later: the lag from nirs4all's commit to its folder is a goal.
// Writes made while it asks are covered by the next ask.
func (p *projection) showWrites(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.shown:
			if err := vfs.WaitForMount(p.store.Dir(), applyTimeout); err != nil && ctx.Err() == nil {
				slog.Debug("live projection: the mount did not apply its writes at once", "err", err)
			}
		}
	}
}

// notify is the mount's OnNativeChange hook: it never blocks.
func (p *projection) notify(rel string) { p.proj.Notify(rel) }

// start runs the projector until ctx ends or stop; it reads store.sqlite
// through the mount, so it starts once the mount serves.
func (p *projection) start(ctx context.Context) {
	ctx, p.cancel = context.WithCancel(ctx)
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		p.proj.Run(ctx)
	}()
	go p.showWrites(ctx)
}

// stop cancels the projector (a snapshot child is killed), waits for it
// at most stopTimeout and closes its handle. It never blocks for longer:
// a projector that did not return is logged and left to the process's
// exit, its handle open.
func (p *projection) stop() {
	if p.cancel != nil {
		p.cancel()
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			slog.Error("live projection: still running after stop; leaving it", "waited", stopTimeout)
			return
		}
	}
	p.store.Close()
}

// snapshotInChild runs `n4ws snapshot-store db dst` in a child process,
// killed (by its PID) when ctx ends or after snapshotTimeout.
//
// It reads db through the mount, where nirs4all's SQLite locks are: the
// mount leaves fcntl and flock locks to the kernel, which keeps them on
// the mount's inodes, not on the backing files, so a reader of the
// backing file would not see nirs4all's locks and could copy a store
// being checkpointed. SQLite must not open a file of the mount from the
// process serving it: its unix VFS holds a process-wide mutex across the
// open and lock system calls, which the mount can answer only with SQLite
// calls of its own (the index), so both would wait for ever. And the
// child must not hold the FUSE device (vfs marks it close-on-exec): it
// would keep a dead mount's connection alive and wait for ever for the
// answer to its own open.
func snapshotInChild(ctx context.Context, db, dst string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, snapshotTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, "snapshot-store", db, dst)
	cmd.Cancel = func() error {
		slog.Error("live projection: killing the snapshot child", "pid", cmd.Process.Pid, "db", db,
			"reason", context.Cause(ctx))
		return syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = time.Second // then Wait stops waiting for its output
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil && cmd.Process != nil {
			return fmt.Errorf("snapshot-store (pid %d) killed: %w", cmd.Process.Pid, ctx.Err())
		}
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newSnapshotStoreCmd is the hidden command snapshotInChild runs.
func newSnapshotStoreCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "snapshot-store DB DST",
		Short:  "copy a live SQLite database consistently (SQLite's backup API); used by the mount",
		Hidden: true,
		Args:   cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return importer.BackupStore(cmd.Context(), args[0], args[1])
		},
	}
}
