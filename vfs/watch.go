package vfs

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// watchInterval is the longest the index takes to signal a commit by
// another process (SQLite's Changes looks at this rate; PostgreSQL's
// LISTEN/NOTIFY is immediate).
const watchInterval = 300 * time.Millisecond

// watchChanges applies the store's change log to the kernel's caches until
// ctx ends: whenever the index signals a commit (changed: the store's
// Changes, LISTEN/NOTIFY for a team store, so that other mounts' changes
// show within a second), and at once when a request arrives on applyReqs
// (answered once every change committed before it has been applied). The
// CLI asks through the apply socket (apply_socket.go) instead of waiting.
// Each signal also wakes the catalog refresh (refreshKick).
func (f *fsys) watchChanges(ctx context.Context, seq int64, changed <-chan struct{}, applyReqs <-chan chan<- error) {
	for {
		var reply chan<- error
		select {
		case <-ctx.Done():
			return
		case <-changed:
			select {
			case f.refreshKick <- struct{}{}:
			default:
			}
		case reply = <-applyReqs:
		}
		var err error
		seq, err = f.applyChanges(ctx, seq)
		if err != nil {
			f.log.Warn("apply change log", "err", err)
		}
		if reply != nil {
			reply <- err
		}
	}
}

// applyChanges invalidates the kernel's caches for every change logged
// after seq and returns the last sequence number applied.
func (f *fsys) applyChanges(ctx context.Context, seq int64) (int64, error) {
	last, err := f.store().LastChange(ctx)
	if err != nil || last <= seq {
		return seq, err
	}
	changes, err := f.store().ChangesSince(ctx, seq)
	if err != nil {
		return seq, fmt.Errorf("read change log: %w", err)
	}
	if slices.ContainsFunc(changes, func(c backing.Change) bool { return !c.Own }) {
		f.changes.Add(1) // before the kernel is told: its next open asks the index
	}
	for _, c := range changes {
		if c.Own { // this mount's own: its caches are right already
			seq = c.Seq
			continue
		}
		if c.Parent != 0 {
			if in := f.inode(c.Parent); in != nil {
				in.NotifyEntry(c.Name)
				in.NotifyContent(0, 0) // the listing changed
			}
		}
		if c.Ino != 0 {
			if in := f.inode(c.Ino); in != nil {
				in.NotifyContent(0, 0)
			}
			// A file the CLI unlinked is purged here unless this mount
			// holds it open (then its last release does it).
			if a, err := f.store().GetAttr(ctx, c.Ino); err == nil {
				f.purgeIfUnused(&a)
			}
		}
		seq = c.Seq
	}
	if err := f.store().TrimChanges(ctx, seq); err != nil {
		return seq, fmt.Errorf("trim change log: %w", err)
	}
	return seq, nil
}

// refreshCatalog ingests changed pipeline folders in the background,
// after each commit the index signals (watchChanges kicks it). Reads of
// computed files refresh first anyway; this keeps the work small and off
// their path. With many mounts of a team store, the first to refresh
// clears the dirty folders (in its write transaction) and the others
// find nothing left to do.
func (f *fsys) refreshCatalog(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.refreshKick:
		}
		// Not f.store(): settling would write the files still open
		// (creates answered first) empty, ahead of their close, after
		// every batch. Refresh settles what was closed itself.
		if dirty, err := f.st.HasDirty(ctx); err != nil || !dirty {
			continue
		}
		if _, err := f.cat.Refresh(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("refresh catalog", "err", err)
		}
	}
}

// resolveSkeleton finds the folders with fixed roles: the owner of
// computed entries, and the skeleton folders that hold computed entries.
func (f *fsys) resolveSkeleton(ctx context.Context) error {
	root, err := f.store().GetAttr(ctx, backing.RootIno)
	if err != nil {
		return err
	}
	f.owner.Uid, f.owner.Gid = root.Uid, root.Gid
	if f.cat == nil {
		return nil
	}
	for _, p := range []string{"exports", "exports/best_predictions", "exports/session_reports", "catalog", "catalog/reports"} {
		a, err := f.store().ResolvePath(ctx, p)
		if err != nil {
			return err
		}
		f.fixedOverlays[a.Ino] = p
	}
	return nil
}
