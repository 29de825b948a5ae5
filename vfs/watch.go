package vfs

import (
	"context"
	"fmt"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// watchInterval is how often the mount looks for changes made by other
// processes to drop the kernel's stale caches. The CLI does not wait for
// it: it asks through the apply socket (apply_socket.go); the polling is the
// fallback for any other writer.
const watchInterval = 300 * time.Millisecond

// watchChanges applies the store's change log to the kernel's caches until
// ctx ends: on every tick, and at once when a request arrives on applyReqs
// (answered once every change committed before it has been applied).
func (f *fsys) watchChanges(ctx context.Context, seq int64, applyReqs <-chan chan<- error) {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		var reply chan<- error
		select {
		case <-ctx.Done():
			return
		case <-t.C:
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
	last, err := f.store.LastChange(ctx)
	if err != nil || last <= seq {
		return seq, err
	}
	changes, err := f.store.ChangesSince(ctx, seq)
	if err != nil {
		return seq, fmt.Errorf("read change log: %w", err)
	}
	if len(changes) > 0 {
		f.changes.Add(1) // before the kernel is told: its next open asks the index
	}
	for _, c := range changes {
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
			if a, err := f.store.GetAttr(ctx, c.Ino); err == nil {
				f.purgeIfUnused(ctx, &a)
			}
		}
		seq = c.Seq
	}
	if err := f.store.TrimChanges(ctx, seq); err != nil {
		return seq, fmt.Errorf("trim change log: %w", err)
	}
	return seq, nil
}

// refreshInterval is how often the mount brings the catalog up to date on
// its own. Reads of computed files refresh first anyway; this keeps the
// work small and off their path.
const refreshInterval = 250 * time.Millisecond

// refreshCatalog ingests changed pipeline folders in the background.
func (f *fsys) refreshCatalog(ctx context.Context) {
	t := time.NewTicker(refreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if dirty, err := f.store.HasDirty(ctx); err != nil || !dirty {
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
	root, err := f.store.GetAttr(ctx, backing.RootIno)
	if err != nil {
		return err
	}
	f.owner.Uid, f.owner.Gid = root.Uid, root.Gid
	if f.cat == nil {
		return nil
	}
	for _, p := range []string{"exports", "exports/best_predictions", "exports/session_reports", "catalog", "catalog/reports"} {
		a, err := f.store.ResolvePath(ctx, p)
		if err != nil {
			return err
		}
		f.fixedOverlays[a.Ino] = p
	}
	return nil
}
