package backing

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Writeback staging (`n4ws mount --writeback`, as JuiceFS's --writeback):
// a team store's new blob is placed in a staging folder of this machine,
// <store>/writeback/aa/<hex>, and uploaded to the object store in the
// background, so that close(2) returns once the content is staged and
// indexed. fsync(2) waits for the file's upload (Store.SyncBlob) and fails
// if it does. Staged blobs are files, so a mount killed with uploads
// pending resumes them when the store is next mounted on this machine, and
// until a blob's upload lands, reads on this machine are served from its
// staged copy. Other machines see the file in the tree at once but cannot
// read its bytes until the upload lands (their read fails).
//
// gc cannot lose a staged blob's content: it deletes only blobs no file
// names (under the write lock), and a writer whose blob was deleted
// between staging and its commit stages it again (placeBlob asks Stat,
// which counts staged blobs as stored). Without --writeback the staging
// folder is still read, and a mount resumes the uploads an earlier run
// left; new blobs are uploaded before close returns, as before.

// writebackRetry bounds the wait between upload attempts of the pending
// blobs while the object store fails.
const writebackRetry = 10 * time.Second

// writeback wraps a remote BlobStore with the staging folder.
type writeback struct {
	BlobStore        // the object store (read only)
	dir       string // the staging folder (read only)
	async     bool   // --writeback: PutFile and Put return once staged (read only)
	log       *slog.Logger

	mu      sync.Mutex // protects pending
	pending map[Digest]*stagedBlob

	wake   chan struct{} // a blob was staged (buffered 1)
	stop   context.CancelFunc
	exited chan struct{} // closed when the uploader returns
}

// stagedBlob is a blob waiting for its upload.
type stagedBlob struct {
	size   int64
	resume bool          // staged by an earlier run: its bytes are checked as they are sent
	done   chan struct{} // closed once uploaded or deleted

	send sync.Mutex // one upload attempt at a time
}

// newWriteback opens the staging folder dir over remote, taking in the
// blobs an earlier run left there, and starts the uploader.
func newWriteback(remote BlobStore, dir string, opts Options, log *slog.Logger) (*writeback, error) {
	async := opts.Writeback
	// The mount (it holds the store's lock) owns the folder: it uploads
	// and cleans up; other commands only read it, since the mount may be
	// staging a blob under a temporary name right now.
	owner := async || opts.ResumeUploads
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open writeback folder: %w", err)
	}
	w := &writeback{BlobStore: remote, dir: dir, async: async, log: log,
		pending: map[Digest]*stagedBlob{}, wake: make(chan struct{}, 1), exited: make(chan struct{})}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if strings.HasPrefix(e.Name(), ".tmp-") {
			// Staging interrupted before the commit could name it; a
			// recent one may be another process's, still being written.
			if fi, err := e.Info(); owner && err == nil && time.Since(fi.ModTime()) > spoolGrace {
				return os.Remove(p)
			}
			return nil
		}
		d, perr := ParseDigest(e.Name())
		fi, ierr := e.Info()
		if perr != nil || ierr != nil || p != w.path(d) {
			return nil // not ours
		}
		w.pending[d] = &stagedBlob{size: fi.Size(), resume: true, done: make(chan struct{})}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open writeback folder: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.stop = cancel
	if !owner {
		close(w.exited) // a command: staged blobs are read, left for the mount to upload
		return w, nil
	}
	if n := len(w.pending); n > 0 {
		log.Info("resuming uploads staged by an earlier run", "blobs", n, "folder", dir)
	}
	go w.uploader(ctx)
	return w, nil
}

func (w *writeback) path(d Digest) string {
	h := d.String()
	return filepath.Join(w.dir, h[:2], h)
}

// PutFile stages the file (a hard link, or a copy on another filesystem)
// with --writeback; else it uploads it now.
func (w *writeback) PutFile(ctx context.Context, d Digest, size int64, path string) error {
	if !w.async {
		return w.BlobStore.PutFile(ctx, d, size, path)
	}
	return w.stage(d, size, func(tmp string) error {
		if os.Link(path, tmp) == nil {
			return nil
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		return writeChecked(tmp, d, size, src)
	})
}

// Put stages r's bytes, checked against d and size, with --writeback.
func (w *writeback) Put(ctx context.Context, d Digest, size int64, r io.Reader) error {
	if !w.async {
		return w.BlobStore.Put(ctx, d, size, r)
	}
	return w.stage(d, size, func(tmp string) error { return writeChecked(tmp, d, size, r) })
}

// stage places blob d in the staging folder through fill (which creates
// the file at a temporary name) and queues its upload.
func (w *writeback) stage(d Digest, size int64, fill func(tmp string) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.pending[d]; ok {
		return nil
	}
	dst := w.path(d)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("stage blob %s: %w", d, err)
	}
	tmp := filepath.Join(w.dir, fmt.Sprintf(".tmp-%s-%d", d.String()[:16], time.Now().UnixNano()))
	if err := fill(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("stage blob %s: %w", d, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("stage blob %s: %w", d, err)
	}
	w.pending[d] = &stagedBlob{size: size, done: make(chan struct{})}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// writeChecked writes r to a new file p, checking that it is size bytes
// hashing to d.
func writeChecked(p string, d Digest, size int64, r io.Reader) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if got := Digest(h.Sum(nil)); err == nil && (n != size || got != d) {
		err = fmt.Errorf("content is %d bytes hashing to %s, want %d bytes: %w", n, got, size, ErrCorrupt)
	}
	return err
}

// Open serves a staged blob from its staged copy, others from the object
// store (through this machine's read cache).
func (w *writeback) Open(ctx context.Context, d Digest) (*os.File, error) {
	if f, err := os.Open(w.path(d)); err == nil {
		return f, nil
	}
	return w.BlobStore.Open(ctx, d)
}

// Stat counts a staged blob as stored.
func (w *writeback) Stat(ctx context.Context, d Digest) (int64, error) {
	if fi, err := os.Stat(w.path(d)); err == nil {
		return fi.Size(), nil
	}
	return w.BlobStore.Stat(ctx, d)
}

// Delete drops a staged copy (gc found no file naming the blob) and the
// object.
func (w *writeback) Delete(ctx context.Context, d Digest) error {
	w.mu.Lock()
	if sb, ok := w.pending[d]; ok {
		delete(w.pending, d)
		close(sb.done)
	}
	os.Remove(w.path(d))
	w.mu.Unlock()
	return w.BlobStore.Delete(ctx, d)
}

// ListAged is the object store's (gc's grace period): staged blobs are not
// listed, so gc never removes them.
func (w *writeback) ListAged(ctx context.Context, fn func(Digest, int64, time.Time) error) error {
	return w.BlobStore.(AgedLister).ListAged(ctx, fn)
}

// Wait uploads blob d now if it is staged, and returns the upload's error.
func (w *writeback) Wait(ctx context.Context, d Digest) error {
	w.mu.Lock()
	sb, ok := w.pending[d]
	w.mu.Unlock()
	if !ok {
		return nil
	}
	return w.send(ctx, d, sb)
}

// Pending returns the number of staged blobs not uploaded yet.
func (w *writeback) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}
