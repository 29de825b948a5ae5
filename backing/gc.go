package backing

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// GCOptions choose what GC cleans besides unreferenced blobs.
type GCOptions struct {
	// SpoolToo also removes stale spool files, which only makes sense
	// when no mount runs: a running mount owns its spool.
	SpoolToo bool
}

// GCReport tells what GC freed.
type GCReport struct {
	Blobs      int   `json:"blobs"`       // blob files removed (garbage and orphans)
	Bytes      int64 `json:"bytes"`       // their size
	SpoolFiles int   `json:"spool_files"` // spool files removed
	// SpoolLocked is set when SpoolToo was asked but a mount holds the
	// store, so the spool was left alone.
	SpoolLocked bool `json:"spool_locked,omitempty"`
}

// spoolGrace is how old a spool file must be before gc removes it. With the
// mount lock held no mount writes there, but a CLI command writing a file
// (WriteFile) may be streaming into its spool file right now.
const spoolGrace = time.Minute

// GC removes unreferenced blobs: rows whose refcount reached zero, with
// their files, and blob files that no row names (left by a crash between
// placing a blob and committing its row) or that are not blobs at all.
// It all happens inside one write transaction: since blobs are placed only
// inside write transactions, no other writer can be placing one meanwhile.
func (s *Store) GC(ctx context.Context, opts GCOptions) (GCReport, error) {
	var rep GCReport
	// Listing the blob directory can take a while; do it before taking the
	// write lock and re-check every candidate inside the transaction.
	cands, err := s.orphanCandidates(ctx)
	if err != nil {
		return rep, fmt.Errorf("gc: %w", err)
	}
	err = s.update(ctx, func(tx *txn) error {
		rep.Blobs, rep.Bytes = 0, 0 // update does not retry, but stay exact
		if err := s.gcGarbageRows(tx, &rep); err != nil {
			return err
		}
		return s.gcOrphans(tx, cands, &rep)
	})
	if err != nil {
		return rep, fmt.Errorf("gc: %w", err)
	}
	if opts.SpoolToo {
		if err := s.gcSpool(ctx, &rep); err != nil {
			return rep, fmt.Errorf("gc: %w", err)
		}
	}
	return rep, nil
}

// gcGarbageRows deletes the refcount-0 rows and their files.
func (s *Store) gcGarbageRows(tx *txn, rep *GCReport) error {
	type garbage struct {
		d    Digest
		size int64
	}
	var gs []garbage
	err := queryEach(tx.ctx, tx, `SELECT hash, size FROM blobs WHERE refcount = 0`, nil, func(r rowScanner) error {
		var h []byte
		var g garbage
		if err := r.Scan(&h, &g.size); err != nil {
			return err
		}
		g.d = digestFromBytes(h)
		gs = append(gs, g)
		return nil
	})
	if err != nil {
		return fmt.Errorf("list garbage: %w", err)
	}
	for _, g := range gs {
		// A refcount that says 0 while a node still names the blob is an
		// index bug; keep the blob rather than lose content (fsck reports it).
		var used int
		if err := tx.queryRow(`SELECT count(*) FROM (SELECT 1 FROM nodes WHERE blob = ? LIMIT 1) AS one`, g.d[:]).Scan(&used); err != nil {
			return fmt.Errorf("check blob %s: %w", g.d, err)
		}
		if used > 0 {
			s.log.Warn("gc: blob has refcount 0 but is referenced; run fsck --repair", "digest", g.d.String())
			continue
		}
		// Row first: if the transaction fails after this, the file is still
		// there for the rolled-back row.
		if _, err := tx.exec(`DELETE FROM blobs WHERE hash = ?`, g.d[:]); err != nil {
			return fmt.Errorf("delete blob row %s: %w", g.d, err)
		}
		if err := s.blobs.Delete(tx.ctx, g.d); err != nil {
			return fmt.Errorf("remove blob %s: %w", g.d, err)
		}
		rep.Blobs++
		rep.Bytes += g.size
	}
	return nil
}

// orphanFile is a file below blobs/ that looked unreferenced when listed.
type orphanFile struct {
	path string
	d    Digest // zero: not a blob name at its place (temporary or misplaced)
	size int64
}

// orphanCandidates lists the files below blobs/ that no row named when it
// looked. The answer may be stale; gcOrphans checks again under the lock.
func (s *Store) orphanCandidates(ctx context.Context) ([]orphanFile, error) {
	known := make(map[Digest]struct{})
	// Files of inline blobs are leftovers (the inline limit changed between
	// runs): reads use the row, so the file is garbage.
	err := queryEach(ctx, s.rdb, `SELECT hash FROM blobs WHERE data IS NULL`, nil, func(r rowScanner) error {
		var h []byte
		if err := r.Scan(&h); err != nil {
			return err
		}
		known[digestFromBytes(h)] = struct{}{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list blob rows: %w", err)
	}
	var out []orphanFile
	err = s.walkBlobFiles(ctx, func(p string, d Digest, size int64) {
		if _, ok := known[d]; !ok || d.IsZero() {
			out = append(out, orphanFile{path: p, d: d, size: size})
		}
	})
	return out, err
}

// walkBlobFiles calls fn for every regular file below blobs/, with the
// digest its name and place stand for (zero when they do not form one).
// For blobs in an object store it lists the objects, with no path.
func (s *Store) walkBlobFiles(ctx context.Context, fn func(p string, d Digest, size int64)) error {
	if s.local == nil {
		if al, ok := s.blobs.(AgedLister); ok {
			return al.ListAged(ctx, func(d Digest, size int64, stored time.Time) error {
				if time.Since(stored) >= BlobGrace { // younger: perhaps not committed yet
					fn("", d, size)
				}
				return nil
			})
		}
		return s.blobs.List(ctx, func(d Digest, size int64) error { fn("", d, size); return nil })
	}
	root := s.local.dir
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile, by another gc
		} else if err != nil {
			return err
		}
		d, perr := ParseDigest(e.Name())
		if rel, _ := filepath.Rel(root, p); perr != nil || rel != d.relPath() {
			d = Digest{}
		}
		fn(p, d, info.Size())
		return nil
	})
	if err != nil {
		return fmt.Errorf("walk %s: %w", root, err)
	}
	return nil
}

// gcOrphans removes the candidates that still have no row. Call inside the
// write transaction: no blob can be placed meanwhile.
func (s *Store) gcOrphans(tx *txn, cands []orphanFile, rep *GCReport) error {
	for _, c := range cands {
		if err := tx.ctx.Err(); err != nil {
			return err
		}
		if !c.d.IsZero() {
			var n int
			if err := tx.queryRow(`SELECT count(*) FROM blobs WHERE hash = ? AND data IS NULL`, c.d[:]).Scan(&n); err != nil {
				return fmt.Errorf("check blob %s: %w", c.d, err)
			}
			if n > 0 {
				continue // committed between the listing and the lock
			}
		}
		var err error
		if c.path == "" { // an object: blobs in an object store
			err = s.blobs.Delete(tx.ctx, c.d)
		} else {
			err = os.Remove(c.path)
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("remove orphan %s: %w", c.path, err)
		}
		rep.Blobs++
		rep.Bytes += c.size
	}
	return nil
}

// gcSpool removes spool files older than spoolGrace, holding the mount lock
// so that no mount can start (and claim the spool) while it works.
func (s *Store) gcSpool(ctx context.Context, rep *GCReport) error {
	lock, err := s.LockForMount(os.Getpid())
	if errors.Is(err, ErrLocked) {
		rep.SpoolLocked = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("clean spool: %w", err)
	}
	defer lock.Release()
	entries, err := os.ReadDir(s.spoolDir())
	if err != nil {
		return fmt.Errorf("clean spool: %w", err)
	}
	cutoff := time.Now().Add(-spoolGrace)
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil || info.ModTime().After(cutoff) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.spoolDir(), e.Name())); err != nil {
			return fmt.Errorf("clean spool: %w", err)
		}
		rep.SpoolFiles++
	}
	return nil
}
