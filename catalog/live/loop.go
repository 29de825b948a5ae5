package live

// When passes run. Notify (called by the mount for every change of one of
// nirs4all's files, on the FUSE request's goroutine) only records the
// time and wakes Run, which never runs on a request's goroutine: a pass
// starts 300 ms after the last change, and at once when nirs4all closed
// its store (its -wal is gone). Under sustained writes it starts at most
// lagBudget less the recent passes' length after the first change (never
// sooner than 300 ms nor later than 1.5 s after it): a commit made just
// after a pass took its snapshot waits for that pass, this delay and the
// next pass, so cheap passes run often enough that every commit shows
// within the 2 s goal, and costly ones are spaced out.
//
// A pass runs only if store.sqlite or its -wal changed since the state
// seen just before the last pass's snapshot. That state is read where the
// files really are (Options.StatDir: the mount's backing folder, whose
// sizes and times the kernel does not cache), and it ignores what our own
// snapshot does to them: its SQLite connection creates an empty -wal when
// there is none and removes it again, and never writes the database or
// -wal frames. So the changes our own reading makes wake Run but start no
// pass, while a commit of nirs4all, even one made while we read, does.

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"time"
)

const (
	quietDelay = 300 * time.Millisecond  // after the last change
	maxDelay   = 1500 * time.Millisecond // after the first change, under sustained writes, at most
	lagBudget  = 1600 * time.Millisecond // from a commit to its folder, the goal (2 s) less a margin
	retryDelay = 2 * time.Second         // after a failed pass
	recentPass = 3                       // passes whose length sets the delay
)

type loopState struct {
	wake chan struct{} // read only (the channel): buffered 1

	mu       sync.Mutex // protects the following
	pending  bool
	first    time.Time // of the changes not yet looked at
	last     time.Time
	walEvent bool                      // a change of store.sqlite-wal among them (nirs4all may have closed)
	seen     dbState                   // the store's files just before the last successful pass
	passed   bool                      // seen is set
	took     [recentPass]time.Duration // the last passes' lengths, a ring
	tookNext int
}

func newLoopState() loopState { return loopState{wake: make(chan struct{}, 1)} }

// Notify records that the workspace file rel (relative to the workspace,
// e.g. "store.sqlite-wal", "arrays/wheat.parquet") changed. It never
// blocks and does no I/O.
func (p *Projector) Notify(rel string) {
	l := &p.loop
	l.mu.Lock()
	l.markLocked(time.Now(), rel == "store.sqlite-wal")
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// call with mu held
func (l *loopState) markLocked(now time.Time, wal bool) {
	if !l.pending {
		l.pending, l.first = true, now
	}
	l.last = now
	l.walEvent = l.walEvent || wal
}

// Run projects once at start (the store may have changed while nothing
// watched), then after changes, until ctx ends. A failed pass is logged
// and retried. It closes the projector (Close) when it returns.
func (p *Projector) Run(ctx context.Context) error {
	defer p.Close()
	l := &p.loop
	l.mu.Lock()
	l.markLocked(time.Now().Add(-maxDelay), false)
	l.mu.Unlock()
	for {
		wait, run := p.due()
		if !run {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-l.wake:
				continue
			case <-time.After(wait):
				continue
			}
		}
		p.passOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// due says whether a pass should start now, else how long to wait (an
// hour when nothing is pending: Notify wakes Run). Pending changes that
// left the store's files as the last pass saw them are dropped.
func (p *Projector) due() (time.Duration, bool) {
	l := &p.loop
	l.mu.Lock()
	pending, first, last, wal, seen, passed := l.pending, l.first, l.last, l.walEvent, l.seen, l.passed
	l.mu.Unlock()
	if !pending {
		return time.Hour, false
	}
	now := time.Now()
	at := last.Add(quietDelay)
	if lim := first.Add(p.loop.sustainedDelay()); lim.Before(at) {
		at = lim
	}
	if d := at.Sub(now); d > 0 {
		if wal && p.storeClosed() {
			return 0, p.dropIfSeen(seen, passed) // nirs4all closed its store: show the end of its run now
		}
		return d, false
	}
	return 0, p.dropIfSeen(seen, passed)
}

// sustainedDelay is how long after the first of sustained changes a pass
// starts: lagBudget less the longest of the recent passes, within
// [quietDelay, maxDelay].
func (l *loopState) sustainedDelay() time.Duration {
	l.mu.Lock()
	var longest time.Duration
	for _, d := range l.took {
		longest = max(longest, d)
	}
	l.mu.Unlock()
	return min(maxDelay, max(quietDelay, lagBudget-longest))
}

// dropIfSeen clears the pending changes and says false when the store's
// files are as the last pass saw them.
func (p *Projector) dropIfSeen(seen dbState, passed bool) bool {
	if !passed || p.dbState() != seen {
		return true
	}
	l := &p.loop
	l.mu.Lock()
	l.pending, l.walEvent = false, false
	l.mu.Unlock()
	return false
}

// storeClosed: store.sqlite is there and its -wal is not (nirs4all
// checkpoints and removes it when it closes the store).
func (p *Projector) storeClosed() bool {
	s := p.dbState()
	return s.db.ok && !s.wal.ok
}

func (p *Projector) passOnce(ctx context.Context) {
	l := &p.loop
	l.mu.Lock()
	l.pending, l.walEvent = false, false
	l.mu.Unlock()
	before := p.dbState()
	start := time.Now()
	rep, err := p.Pass(ctx)
	took := time.Since(start)
	l.mu.Lock()
	if err != nil {
		l.markLocked(time.Now().Add(retryDelay-quietDelay), false)
	} else {
		l.seen, l.passed = before, true
		l.took[l.tookNext%recentPass] = took
		l.tookNext++
	}
	l.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			// The mount is stopping: the pass was cut short, nothing failed.
			p.log.Debug("live projection: pass stopped", "workspace", p.opts.Workspace, "err", err)
		} else {
			p.log.Error("live projection", "workspace", p.opts.Workspace, "err", err)
		}
		return
	}
	if len(rep.Written)+len(rep.Removed) > 0 {
		p.log.Info("live projection", "pipelines", rep.Pipelines, "written", len(rep.Written),
			"files", len(rep.Files), "removed", len(rep.Removed), "dur", took, "snapshot", rep.Snapshot, "rows_read", rep.RowsRead)
	}
}

// fileState is a file's size and modification time; ok false when absent.
type fileState struct {
	ok    bool
	size  int64
	mtime int64 // ns
}

type dbState struct{ db, wal fileState }

func statFile(p string) fileState {
	st, err := os.Stat(p)
	if err != nil {
		return fileState{}
	}
	return fileState{ok: true, size: st.Size(), mtime: st.ModTime().UnixNano()}
}

// dbState is store.sqlite's and its -wal's state, an empty -wal counted
// as none: our snapshot's connection creates one and removes it, which is
// no change of the store.
func (p *Projector) dbState() dbState {
	base := filepath.Join(p.opts.StatDir, "store.sqlite")
	s := dbState{db: statFile(base), wal: statFile(base + "-wal")}
	if s.wal.ok && s.wal.size == 0 {
		s.wal = fileState{}
	}
	return s
}
