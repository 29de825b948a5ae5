package vfs

import (
	"context"
	"time"
)

// watchInterval is how often the mount looks for changes made by other
// processes (the CLI) to drop the kernel's stale caches.
const watchInterval = 300 * time.Millisecond

// watchChanges polls the store's change log until ctx ends.
func (f *fsys) watchChanges(ctx context.Context, seq int64) {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		last, err := f.store.LastChange(ctx)
		if err != nil || last <= seq {
			continue
		}
		changes, err := f.store.ChangesSince(ctx, seq)
		if err != nil {
			f.log.Warn("read change log", "err", err)
			continue
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
			}
			seq = c.Seq
		}
		if err := f.store.TrimChanges(ctx, seq); err != nil {
			f.log.Warn("trim change log", "err", err)
		}
	}
}
