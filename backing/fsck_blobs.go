package backing

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"
	"time"
)

// fsckWorkers bounds how many blobs are hashed at once: two keep a disk
// busy without starving a running mount of I/O.
const fsckWorkers = 2

// LostXattr is the extended attribute fsck --repair sets on a file whose
// content it had to empty, saying when and why.
const LostXattr = "user.n4ws.fsck"

// blobRef is a blob that some node names, with what its row says.
type blobRef struct {
	d       Digest
	hasRow  bool
	rowSize int64
}

// blobVerdict is what is wrong with one blob.
type blobVerdict struct {
	kind   ProblemKind
	size   int64 // the file's size, when its content is right
	detail string
}

// referencedBlobs lists every blob some node (linked or not) names.
func (s *Store) referencedBlobs(ctx context.Context) ([]blobRef, error) {
	var refs []blobRef
	err := queryEach(ctx, s.rdb, `SELECT r.blob, b.size FROM (SELECT DISTINCT blob FROM nodes WHERE blob IS NOT NULL) r
		LEFT JOIN blobs b ON b.hash = r.blob`, nil, func(r rowScanner) error {
		var h []byte
		var size sql.NullInt64
		if err := r.Scan(&h, &size); err != nil {
			return err
		}
		refs = append(refs, blobRef{d: digestFromBytes(h), hasRow: size.Valid, rowSize: size.Int64})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list referenced blobs: %w", err)
	}
	return refs, nil
}

// verifyBlob hashes blob d's file and returns its size. A missing file
// gives an error matching fs.ErrNotExist, wrong content one matching
// ErrCorrupt.
func (s *Store) verifyBlob(ctx context.Context, d Digest) (int64, error) {
	b, err := s.OpenBlob(ctx, d)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, ctxReader{ctx, io.NewSectionReader(b, 0, 1<<62)}, make([]byte, 256<<10))
	if err != nil {
		return 0, fmt.Errorf("hash blob %s: %w", d, err)
	}
	var got Digest
	if n > 0 { // the zero digest stands for empty content
		h.Sum(got[:0])
	}
	if got != d {
		return n, fmt.Errorf("blob %s: %d bytes hash to %s: %w", d, n, got, ErrCorrupt)
	}
	return n, nil
}

// judge turns a hash result into a verdict; bad is false when all is well.
// Errors other than a missing file or wrong content (permissions, I/O,
// cancellation) stop fsck: they say nothing certain about the content.
func judge(r blobRef, size int64, err error) (v blobVerdict, bad bool, _ error) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return blobVerdict{kind: ProblemMissingBlob, detail: fmt.Sprintf("blob %s: file missing", r.d)}, true, nil
	case errors.Is(err, ErrCorrupt):
		return blobVerdict{kind: ProblemCorruptBlob, detail: err.Error()}, true, nil
	case err != nil:
		return v, false, err
	case !r.hasRow:
		return blobVerdict{kind: ProblemMissingRow, size: size,
			detail: fmt.Sprintf("blob %s (%d bytes) has no index row", r.d, size)}, true, nil
	case r.rowSize != size:
		return blobVerdict{kind: ProblemBlobSize, size: size,
			detail: fmt.Sprintf("blob %s: index says %d bytes, file has %d", r.d, r.rowSize, size)}, true, nil
	}
	return v, false, nil
}

// hashBlobs verifies refs with fsckWorkers goroutines and returns the bad
// ones. The first hard error cancels the remaining work.
func (s *Store) hashBlobs(ctx context.Context, refs []blobRef, progress func(done, total int64), rep *FsckReport) (map[Digest]blobVerdict, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		r    blobRef
		size int64
		err  error
	}
	jobs, results := make(chan blobRef), make(chan result)
	var wg sync.WaitGroup
	for range fsckWorkers {
		wg.Go(func() {
			for r := range jobs {
				size, err := s.verifyBlob(ctx, r.d)
				results <- result{r, size, err}
			}
		})
	}
	go func() {
		defer close(jobs)
		for _, r := range refs {
			select {
			case jobs <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	bad := make(map[Digest]blobVerdict)
	var firstErr error
	var done int64
	for res := range results { // always drained, so no worker blocks
		done++
		if progress != nil {
			progress(done, int64(len(refs)))
		}
		v, isBad, err := judge(res.r, res.size, res.err)
		if err != nil && firstErr == nil {
			firstErr = err
			cancel()
		}
		rep.Blobs++
		rep.BytesHashed += res.size
		if isBad {
			bad[res.r.d] = v
		}
	}
	if firstErr == nil {
		firstErr = ctx.Err() // the caller's ctx: ours is cancelled only after an error
	}
	return bad, firstErr
}

// blobFindings re-checks the blobs that hashing found bad, on q (under the
// write lock when repairing: a blob may have been replaced or dropped since)
// and turns the ones still bad and still referenced into findings.
func (s *Store) blobFindings(ctx context.Context, q querier, bad map[Digest]blobVerdict) ([]finding, error) {
	digests := make([]Digest, 0, len(bad))
	for d := range bad {
		digests = append(digests, d)
	}
	slices.SortFunc(digests, func(a, b Digest) int { return slices.Compare(a[:], b[:]) })
	var out []finding
	for _, d := range digests {
		r := blobRef{d: d, hasRow: true}
		err := q.QueryRowContext(ctx, `SELECT size FROM blobs WHERE hash = ?`, d[:]).Scan(&r.rowSize)
		if errors.Is(err, sql.ErrNoRows) {
			r.hasRow = false
		} else if err != nil {
			return nil, fmt.Errorf("blob %s: %w", d, err)
		}
		size, herr := s.verifyBlob(ctx, d)
		v, isBad, err := judge(r, size, herr)
		if err != nil {
			return nil, err
		}
		if !isBad {
			continue // fixed or replaced since it was hashed
		}
		var inos []uint64
		err = queryEach(ctx, q, `SELECT ino FROM nodes WHERE blob = ? ORDER BY ino`, []any{d[:]}, func(r rowScanner) error {
			var ino uint64
			err := r.Scan(&ino)
			inos = append(inos, ino)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("blob %s: %w", d, err)
		}
		if len(inos) == 0 {
			continue
		}
		if v.kind == ProblemMissingBlob && s.local == nil {
			if pending, err := s.maybeUploading(ctx, q, d); err != nil {
				return nil, err
			} else if pending {
				out = append(out, finding{Problem: Problem{Kind: v.kind, Ino: inos[0], Detail: v.detail +
					fmt.Sprintf("; written less than %v ago, perhaps still being uploaded by another machine's --writeback: not repaired, run fsck again later", BlobGrace)}})
				continue
			}
		}
		out = append(out, s.blobProblems(d, v, inos)...)
	}
	return out, nil
}

// maybeUploading reports whether some file naming blob d (missing from a
// shared object store) got that content less than BlobGrace ago. A mount
// with --writeback commits the index before its upload lands, so on
// another machine such a blob is missing only for now: emptying its files
// would destroy content that is still on its way.
func (s *Store) maybeUploading(ctx context.Context, q querier, d Digest) (bool, error) {
	var newest sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT MAX(ctime_ns) FROM nodes WHERE blob = ?`, d[:]).Scan(&newest)
	if err != nil {
		return false, fmt.Errorf("blob %s: newest file: %w", d, err)
	}
	return newest.Valid && time.Since(time.Unix(0, newest.Int64)) < BlobGrace, nil
}

// blobProblems describes bad blob d, named by nodes inos, and its repair.
func (s *Store) blobProblems(d Digest, v blobVerdict, inos []uint64) []finding {
	switch v.kind {
	case ProblemMissingRow:
		return []finding{{Problem: Problem{Kind: v.kind, Ino: inos[0], Detail: fmt.Sprintf("%s; %d node(s) name it", v.detail, len(inos))},
			fix: func(tx *txn, _ *repairState) error {
				_, err := tx.exec(`INSERT INTO blobs (hash, size, refcount) VALUES (?, ?, ?)`, d[:], v.size, len(inos))
				return err
			}}}
	case ProblemBlobSize:
		return []finding{{Problem: Problem{Kind: v.kind, Ino: inos[0], Detail: v.detail},
			fix: func(tx *txn, _ *repairState) error {
				_, err := tx.exec(`UPDATE blobs SET size = ? WHERE hash = ?`, v.size, d[:])
				return err
			}}}
	}
	// The content is gone: each file that named it is emptied and told so.
	out := make([]finding, len(inos))
	for i, ino := range inos {
		out[i] = finding{Problem: Problem{Kind: v.kind, Ino: ino, Detail: v.detail}, lost: true,
			fix: func(tx *txn, _ *repairState) error { return tx.loseContent(ino, d, v.detail) }}
	}
	last := out[len(out)-1].fix
	out[len(out)-1].fix = func(tx *txn, st *repairState) error {
		if err := last(tx, st); err != nil {
			return err
		}
		return s.dropBadBlob(tx, d)
	}
	return out
}

// loseContent empties file ino, which named blob d, and records why in an
// xattr: losing content is never silent.
func (tx *txn) loseContent(ino uint64, d Digest, why string) error {
	now := time.Now()
	if _, err := tx.exec(`UPDATE nodes SET blob = NULL, size = 0, mtime_ns = ?, ctime_ns = ? WHERE ino = ? AND blob = ?`,
		now.UnixNano(), now.UnixNano(), ino, d[:]); err != nil {
		return err
	}
	note := fmt.Sprintf("content lost, found by fsck at %s: %s", now.UTC().Format(time.RFC3339), why)
	if _, err := tx.exec(`INSERT INTO xattrs (ino, name, value) VALUES (?, ?, ?) ON CONFLICT (ino, name) DO UPDATE SET value = excluded.value`, ino, LostXattr, []byte(note)); err != nil {
		return err
	}
	tx.noteIno(ino)
	return nil
}

// dropBadBlob forgets blob d once no node names it. The file goes too:
// left in place, a later write of the true content would be deduplicated
// onto the bad bytes.
func (s *Store) dropBadBlob(tx *txn, d Digest) error {
	if _, err := tx.exec(`DELETE FROM blobs WHERE hash = ?`, d[:]); err != nil {
		return err
	}
	if err := s.blobs.Delete(context.Background(), d); err != nil {
		return err
	}
	return nil
}

// countGarbage counts what gc may reclaim: refcount-0 inline rows, blob
// files with no row or a refcount-0 row, and stray files that are not blobs.
func (s *Store) countGarbage(ctx context.Context, rep *FsckReport) error {
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(size), 0) FROM blobs
		WHERE refcount = 0 AND data IS NOT NULL`).Scan(&rep.GarbageBlobs, &rep.GarbageBytes)
	if err != nil {
		return fmt.Errorf("count garbage: %w", err)
	}
	// A file beside a live inline row is a leftover too (the inline limit
	// changed between runs): the row is what reads use.
	live := make(map[Digest]struct{})
	err = queryEach(ctx, s.rdb, `SELECT hash FROM blobs WHERE refcount > 0 AND data IS NULL`, nil, func(r rowScanner) error {
		var h []byte
		err := r.Scan(&h)
		live[digestFromBytes(h)] = struct{}{}
		return err
	})
	if err != nil {
		return fmt.Errorf("count garbage: %w", err)
	}
	return s.walkBlobFiles(ctx, func(_ string, d Digest, size int64) {
		if _, ok := live[d]; !ok {
			rep.GarbageBlobs++
			rep.GarbageBytes += size
		}
	})
}
