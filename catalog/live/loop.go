package live

// When passes run. Notify (called by the mount for every change of one of
// nirs4all's files, on the FUSE request's goroutine) only records the
// time and wakes Run, which never runs on a request's goroutine: a pass
// starts 300 ms after the last change, at most 1.5 s after the first one
// under sustained writes, and at once when nirs4all closed its store
// (its -wal is gone). The projector's own snapshot opens store.sqlite
// through the mount too, which creates and removes -wal and -shm: those
// changes, made while a pass reads, are not taken as nirs4all's. Instead,
// a pass compares store.sqlite and its -wal before and after it reads and
// runs again when another writer changed them meanwhile.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

const (
	quietDelay = 300 * time.Millisecond  // after the last change
	maxDelay   = 1500 * time.Millisecond // after the first change, under sustained writes
	selfGrace  = 200 * time.Millisecond  // our snapshot's last releases arrive after close returns
	retryDelay = 2 * time.Second         // after a failed pass
)

type loopState struct {
	wake chan struct{} // read only (the channel): buffered 1

	mu        sync.Mutex // protects the following
	pending   bool
	first     time.Time // of the changes not yet projected
	last      time.Time
	walEvent  bool      // a change of store.sqlite-wal among them (nirs4all may have closed)
	reading   bool      // a pass is reading store.sqlite
	selfUntil time.Time // store.sqlite* changes before this are the pass's own
}

func newLoopState() loopState { return loopState{wake: make(chan struct{}, 1)} }

// Notify records that the workspace file rel (relative to the workspace,
// e.g. "store.sqlite-wal", "arrays/wheat.parquet") changed. It never
// blocks and does no I/O.
func (p *Projector) Notify(rel string) {
	l := &p.loop
	now := time.Now()
	db := strings.HasPrefix(rel, "store.sqlite")
	l.mu.Lock()
	if db && (l.reading || now.Before(l.selfUntil)) {
		l.mu.Unlock()
		return
	}
	l.markLocked(now, rel == "store.sqlite-wal")
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
// and retried.
func (p *Projector) Run(ctx context.Context) error {
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
// hour when nothing is pending: Notify wakes Run).
func (p *Projector) due() (time.Duration, bool) {
	l := &p.loop
	l.mu.Lock()
	pending, first, last, wal := l.pending, l.first, l.last, l.walEvent
	l.mu.Unlock()
	if !pending {
		return time.Hour, false
	}
	now := time.Now()
	at := last.Add(quietDelay)
	if lim := first.Add(maxDelay); lim.Before(at) {
		at = lim
	}
	if wal && p.storeClosed() {
		at = now // nirs4all closed its store: show the end of its run now
	}
	if d := at.Sub(now); d > 0 {
		return d, false
	}
	return 0, true
}

// storeClosed: store.sqlite is there and its -wal is not (nirs4all
// checkpoints and removes it when it closes the store).
func (p *Projector) storeClosed() bool {
	_, err := os.Stat(filepath.Join(p.opts.Workspace, "store.sqlite-wal"))
	_, err2 := os.Stat(filepath.Join(p.opts.Workspace, "store.sqlite"))
	return os.IsNotExist(err) && err2 == nil
}

func (p *Projector) passOnce(ctx context.Context) {
	l := &p.loop
	l.mu.Lock()
	l.pending, l.walEvent, l.reading = false, false, true
	l.mu.Unlock()
	before := p.dbState()
	start := time.Now()
	rep, err := p.Pass(ctx)
	after := p.dbState()
	l.mu.Lock()
	l.reading, l.selfUntil = false, time.Now().Add(selfGrace)
	if err != nil {
		l.markLocked(time.Now().Add(retryDelay-quietDelay), false)
	} else if before.changedBy(after) {
		l.markLocked(time.Now().Add(-quietDelay), false) // another writer committed while we read
	}
	l.mu.Unlock()
	if err != nil {
		p.log.Error("live projection", "workspace", p.opts.Workspace, "err", err)
		return
	}
	if len(rep.Written)+len(rep.Removed) > 0 {
		p.log.Info("live projection", "pipelines", rep.Pipelines, "written", len(rep.Written),
			"removed", len(rep.Removed), "dur", time.Since(start))
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

func (p *Projector) dbState() dbState {
	base := filepath.Join(p.opts.Workspace, "store.sqlite")
	return dbState{db: statFile(base), wal: statFile(base + "-wal")}
}

// changedBy reports whether a writer other than our reader changed the
// store between the two states. Our reader never writes the db nor -wal
// frames: it only creates an empty -wal when none is there and removes
// it again when it is the last connection.
func (b dbState) changedBy(a dbState) bool {
	switch {
	case b.db != a.db:
		return true
	case !a.wal.ok:
		return false
	case !b.wal.ok:
		return a.wal.size > 0
	default:
		return b.wal != a.wal
	}
}
