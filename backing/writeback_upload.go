package backing

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"time"
)

// uploader sends the staged blobs until ctx ends: when one is staged, and
// again after a failure, waiting longer each time (up to writebackRetry).
func (w *writeback) uploader(ctx context.Context) {
	defer close(w.exited)
	delay := time.Duration(0)
	for {
		var retry <-chan time.Time
		if delay > 0 {
			retry = time.After(delay)
		}
		if delay > 0 || w.Pending() == 0 {
			select {
			case <-ctx.Done():
				return
			case <-w.wake:
			case <-retry:
			}
		}
		if err := w.sendAll(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			delay = min(max(2*delay, time.Second), writebackRetry)
			w.log.Warn("writeback: upload failed, retrying", "in", delay, "pending", w.Pending(), "err", err)
			continue
		}
		delay = 0
	}
}

// sendAll uploads every staged blob, oldest staged first; it stops at the
// first failure (the object store is likely down for the others too).
func (w *writeback) sendAll(ctx context.Context) error {
	w.mu.Lock()
	type item struct {
		d  Digest
		sb *stagedBlob
	}
	items := make([]item, 0, len(w.pending))
	for d, sb := range w.pending {
		items = append(items, item{d, sb})
	}
	w.mu.Unlock()
	sort.Slice(items, func(i, j int) bool { return items[i].d.String() < items[j].d.String() })
	for _, it := range items {
		if err := w.send(ctx, it.d, it.sb); err != nil {
			return err
		}
	}
	return nil
}

// send uploads staged blob d unless that is done, then drops the staged
// copy: the object store's read cache keeps a link to it.
func (w *writeback) send(ctx context.Context, d Digest, sb *stagedBlob) error {
	sb.send.Lock()
	defer sb.send.Unlock()
	select {
	case <-sb.done:
		return nil // uploaded by another attempt, or deleted by gc
	default:
	}
	err := w.upload(ctx, d, sb)
	if err != nil {
		return fmt.Errorf("upload blob %s: %w", d, err)
	}
	w.mu.Lock()
	if w.pending[d] == sb {
		delete(w.pending, d)
		close(sb.done)
		os.Remove(w.path(d))
	}
	w.mu.Unlock()
	return nil
}

// upload sends the staged copy of d. A copy an earlier run staged goes
// through Put, which checks its bytes against d: a crash may have left it
// short.
func (w *writeback) upload(ctx context.Context, d Digest, sb *stagedBlob) error {
	p := w.path(d)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return w.lostCopy(ctx, d)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if !sb.resume {
		return w.BlobStore.PutFile(ctx, d, sb.size, p)
	}
	err = w.BlobStore.Put(ctx, d, sb.size, f)
	if errors.Is(err, ErrCorrupt) {
		w.log.Error("writeback: a staged blob is damaged (a crash while staging?); dropped", "digest", d.String(), "err", err)
		return nil
	}
	return err
}

// lostCopy handles a staged copy removed behind this process's back
// (another process on this machine uploaded it): fine if the object is
// stored.
func (w *writeback) lostCopy(ctx context.Context, d Digest) error {
	_, err := w.BlobStore.Stat(ctx, d)
	if errors.Is(err, fs.ErrNotExist) {
		w.log.Error("writeback: a staged blob was removed before its upload; dropped", "digest", d.String())
		return nil
	}
	return err
}

// Close stops the uploader. With --writeback it first tries, for up to
// flushTimeout, to upload what is staged (an unmount); what is left stays
// staged for the next time the store is opened on this machine.
func (w *writeback) Close() {
	if w.async && w.Pending() > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		if err := w.sendAll(ctx); err != nil {
			w.log.Warn("writeback: uploads left staged for the next mount", "pending", w.Pending(), "err", err)
		}
		cancel()
	}
	w.stop()
	<-w.exited
}

// flushTimeout bounds the uploads an unmount waits for.
const flushTimeout = time.Minute

// StagedUploads returns how many blobs this machine holds for upload to a
// team store's object store (written with --writeback, not uploaded yet).
func (s *Store) StagedUploads() int {
	if wb, ok := s.blobs.(*writeback); ok {
		return wb.Pending()
	}
	return 0
}
