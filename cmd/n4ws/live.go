package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog/importer"
	"github.com/n4ws/n4ws/catalog/live"
)

// projection is the live projection of the store.sqlite nirs4all writes at
// the mount root into runs/ (catalog/live), run by the mount process.
type projection struct {
	store *backing.Store // its own handle, which logs its changes (below)
	proj  *live.Projector
	wg    sync.WaitGroup
}

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
	p, err := live.New(ctx, live.Options{Store: s, Workspace: mnt, StatDir: statDir, Snapshot: snapshotInChild, Logger: slog.Default()})
	if err != nil {
		s.Close()
		return nil, err
	}
	return &projection{store: s, proj: p}, nil
}

// notify is the mount's OnNativeChange hook: it never blocks.
func (p *projection) notify(rel string) { p.proj.Notify(rel) }

// start runs the projector until ctx ends; it reads store.sqlite through
// the mount, so it starts once the mount serves.
func (p *projection) start(ctx context.Context) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.proj.Run(ctx)
	}()
}

// stop waits for the projector (its ctx ended) and closes its handle.
func (p *projection) stop() {
	p.wg.Wait()
	p.store.Close()
}

// snapshotInChild runs `n4ws snapshot-store db dst` in a child process.
// SQLite must not open a file of the mount from the process serving it:
// its unix VFS holds a process-wide mutex across the open and lock system
// calls, which the mount can answer only with SQLite calls of its own
// (the index), so both would wait for ever.
func snapshotInChild(ctx context.Context, db, dst string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, self, "snapshot-store", db, dst).CombinedOutput()
	if err != nil {
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
