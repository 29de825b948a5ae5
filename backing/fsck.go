package backing

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// ProblemKind names one kind of inconsistency Fsck finds.
type ProblemKind string

// The problems Fsck knows. Unreferenced blob files and unlinked nodes
// awaiting purge are not problems: they are counted in the report instead.
const (
	ProblemNoRoot        ProblemKind = "no-root"          // the root directory is missing
	ProblemMissingBlob   ProblemKind = "missing-blob"     // a file's blob file is gone
	ProblemCorruptBlob   ProblemKind = "corrupt-blob"     // a file's blob does not hash to its name
	ProblemMissingRow    ProblemKind = "missing-blob-row" // a file names a blob the index does not list
	ProblemBlobSize      ProblemKind = "blob-size"        // a blob row's size is not its file's
	ProblemFileSize      ProblemKind = "file-size"        // a file's size is not its blob's
	ProblemRefcount      ProblemKind = "refcount"         // a blob's refcount is not its number of nodes
	ProblemDanglingEntry ProblemKind = "dangling-entry"   // an entry whose parent or child is missing
	ProblemOrphanNode    ProblemKind = "orphan-node"      // a linked node that no entry names
	ProblemNlink         ProblemKind = "nlink"            // a node's link count is wrong
)

// Problem is one inconsistency.
type Problem struct {
	Kind     ProblemKind `json:"kind"`
	Ino      uint64      `json:"ino,omitempty"`
	Path     string      `json:"path,omitempty"` // best effort, for people
	Detail   string      `json:"detail"`
	Repaired bool        `json:"repaired,omitempty"`
}

// String formats p for a line of `n4ws fsck` output.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(string(p.Kind))
	if p.Ino != 0 {
		fmt.Fprintf(&b, " ino %d", p.Ino)
	}
	if p.Path != "" {
		fmt.Fprintf(&b, " %s", p.Path)
	}
	b.WriteString(": " + p.Detail)
	if p.Repaired {
		b.WriteString(" (repaired)")
	}
	return b.String()
}

// FsckOptions control Fsck.
type FsckOptions struct {
	// Repair fixes what it can, in one write transaction, and marks each
	// problem it fixed. A file whose content is gone is emptied, tagged
	// with the xattr user.n4ws.fsck and counted in Lost.
	Repair bool
	// Progress, if set, is called after each blob is hashed with the number
	// of blobs hashed so far and the number to hash. It is called from one
	// goroutine at a time.
	Progress func(done, total int64)
}

// FsckReport is what Fsck found and, with Repair, fixed.
type FsckReport struct {
	Nodes        int64     `json:"nodes"`
	Entries      int64     `json:"entries"`
	Blobs        int64     `json:"blobs"`         // blobs hashed
	BytesHashed  int64     `json:"bytes_hashed"`  // their bytes
	GarbageBlobs int64     `json:"garbage_blobs"` // blob files gc may reclaim: no row or refcount 0
	GarbageBytes int64     `json:"garbage_bytes"`
	PendingPurge int64     `json:"pending_purge"` // unlinked nodes waiting for purge
	Lost         int64     `json:"lost"`          // files whose content repair had to empty
	Problems     []Problem `json:"problems"`
}

// Clean reports whether Fsck found no problem.
func (r *FsckReport) Clean() bool { return len(r.Problems) == 0 }

// Unrepaired returns the number of problems left as they were.
func (r *FsckReport) Unrepaired() int {
	n := 0
	for _, p := range r.Problems {
		if !p.Repaired {
			n++
		}
	}
	return n
}

// Fsck checks the index against itself and against the blob files, hashing
// every referenced blob. The blobs are hashed outside any transaction (it
// takes long); the index is then checked in one snapshot, or with Repair
// in one write transaction that also re-checks the blobs found bad, so that
// repairs never act on a stale view.
func (s *Store) Fsck(ctx context.Context, opts FsckOptions) (FsckReport, error) {
	var rep FsckReport
	refs, err := s.referencedBlobs(ctx)
	if err != nil {
		return rep, fmt.Errorf("fsck: %w", err)
	}
	bad, err := s.hashBlobs(ctx, refs, opts.Progress, &rep)
	if err != nil {
		return rep, fmt.Errorf("fsck: hash blobs: %w", err)
	}
	if opts.Repair {
		err = s.update(ctx, func(tx *txn) error {
			rep.Problems, rep.Lost = nil, 0
			return s.fsckIndex(ctx, tx, bad, &rep, tx)
		})
	} else {
		err = s.fsckSnapshot(ctx, bad, &rep)
	}
	if err != nil {
		return rep, fmt.Errorf("fsck: %w", err)
	}
	if err := s.countGarbage(ctx, &rep); err != nil {
		return rep, fmt.Errorf("fsck: %w", err)
	}
	s.fillPaths(ctx, rep.Problems)
	return rep, nil
}

// fsckSnapshot checks the index in one read transaction, changing nothing.
func (s *Store) fsckSnapshot(ctx context.Context, bad map[Digest]blobVerdict, rep *FsckReport) error {
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer tx.Rollback()
	return s.fsckIndex(ctx, tx, bad, rep, nil)
}

// finding is a problem and, when it can be repaired, how.
type finding struct {
	Problem
	lost bool                                 // the repair empties a file
	fix  func(tx *txn, st *repairState) error // nil: cannot be repaired
}

// fsckIndex runs the checks on q in order; with fixer set (q is then the
// same write transaction) it repairs each check's findings before the next
// check runs, so that later checks see the earlier repairs.
func (s *Store) fsckIndex(ctx context.Context, q querier, bad map[Digest]blobVerdict, rep *FsckReport, fixer *txn) error {
	if err := countIndex(ctx, q, rep); err != nil {
		return err
	}
	st := &repairState{}
	checks := []func(context.Context, querier) ([]finding, error){
		func(ctx context.Context, q querier) ([]finding, error) { return s.blobFindings(ctx, q, bad) },
		checkRoot, checkDangling, checkOrphans, checkFileNlink, checkDirNlink, checkSizes, checkRefcounts,
	}
	for _, check := range checks {
		if err := ctx.Err(); err != nil {
			return err
		}
		fs, err := check(ctx, q)
		if err != nil {
			return err
		}
		for _, f := range fs {
			if fixer != nil && f.fix != nil {
				if err := f.fix(fixer, st); err != nil {
					return fmt.Errorf("repair %s of %d: %w", f.Kind, f.Ino, err)
				}
				f.Repaired = true
				if f.lost {
					rep.Lost++
				}
			}
			rep.Problems = append(rep.Problems, f.Problem)
		}
	}
	return nil
}

// countIndex fills the report's node, entry and pending-purge counters.
func countIndex(ctx context.Context, q querier, rep *FsckReport) error {
	err := q.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM nodes), (SELECT count(*) FROM entries),
		(SELECT count(*) FROM nodes n WHERE n.nlink = 0 AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.child = n.ino))`).
		Scan(&rep.Nodes, &rep.Entries, &rep.PendingPurge)
	if err != nil {
		return fmt.Errorf("count index: %w", err)
	}
	return nil
}

// fillPaths names the problems' nodes where it can, after any repair, so a
// reattached node shows its place in lost+found.
func (s *Store) fillPaths(ctx context.Context, ps []Problem) {
	for i := range ps {
		if ps[i].Ino != 0 && ps[i].Path == "" {
			ps[i].Path = s.safePath(ctx, ps[i].Ino)
		}
	}
}

// safePath is Path for an index that may be damaged: it gives up ("")
// instead of failing, and bounds the walk in case entries form a cycle.
func (s *Store) safePath(ctx context.Context, ino uint64) string {
	var names []string
	for depth := 0; ino != RootIno; depth++ {
		var name []byte
		if depth > 4096 || s.rdb.QueryRowContext(ctx,
			`SELECT parent, name FROM entries WHERE child = ? ORDER BY parent, name LIMIT 1`, ino).Scan(&ino, &name) != nil {
			return ""
		}
		names = append(names, string(name))
	}
	slices.Reverse(names) // collected leaf first
	return "/" + strings.Join(names, "/")
}
