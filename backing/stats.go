package backing

import (
	"context"
	"fmt"
	"syscall"
)

// Stats summarises what a store holds, for `n4ws stats`.
type Stats struct {
	Files    int64 `json:"files"`    // regular files with at least one name
	Dirs     int64 `json:"dirs"`     // directories, root and skeleton included
	Symlinks int64 `json:"symlinks"` // symbolic links
	Others   int64 `json:"others"`   // fifos, sockets, devices
	// LogicalBytes is what the files would take without deduplication;
	// a hard-linked file counts once, as du does.
	LogicalBytes int64 `json:"logical_bytes"`
	StoredBytes  int64 `json:"stored_bytes"` // bytes of referenced blobs
	Blobs        int64 `json:"blobs"`        // referenced blobs
	// GarbageBlobs and GarbageBytes are blobs nothing references any more,
	// which gc reclaims.
	GarbageBlobs int64 `json:"garbage_blobs"`
	GarbageBytes int64 `json:"garbage_bytes"`
	// DedupRatio is LogicalBytes / StoredBytes, 0 when nothing is stored.
	DedupRatio float64 `json:"dedup_ratio"`
	// The trash's items, files and their size: not counted in Files,
	// Dirs and LogicalBytes; their blobs are in StoredBytes until gc
	// frees them after the retention time.
	TrashStats
	// Native is what the native folder holds (nirs4all's own files at the
	// workspace root, kept as ordinary files), counted apart from the above.
	Native NativeStats `json:"native"`
}

// Stats counts nodes and blobs. It reads one snapshot of the index, so the
// numbers agree with each other even while a mount writes.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	defer tx.Rollback()
	// Unlinked nodes (nlink 0) are invisible and about to go: not counted.
	rows, err := tx.QueryContext(ctx, `SELECT mode & ?, count(*), coalesce(sum(size), 0)
		FROM nodes WHERE nlink > 0 GROUP BY 1`, syscall.S_IFMT)
	if err != nil {
		return st, fmt.Errorf("stats: count nodes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var typ uint32
		var n, size int64
		if err := rows.Scan(&typ, &n, &size); err != nil {
			return st, fmt.Errorf("stats: count nodes: %w", err)
		}
		switch typ {
		case syscall.S_IFREG:
			st.Files, st.LogicalBytes = n, size
		case syscall.S_IFDIR:
			st.Dirs = n
		case syscall.S_IFLNK:
			st.Symlinks = n
		default:
			st.Others += n
		}
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("stats: count nodes: %w", err)
	}
	err = tx.QueryRowContext(ctx, `SELECT
		coalesce(sum(CASE WHEN refcount > 0 THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN refcount > 0 THEN size END), 0),
		coalesce(sum(CASE WHEN refcount = 0 THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN refcount = 0 THEN size END), 0)
		FROM blobs`).Scan(&st.Blobs, &st.StoredBytes, &st.GarbageBlobs, &st.GarbageBytes)
	if err != nil {
		return st, fmt.Errorf("stats: count blobs: %w", err)
	}
	if st.TrashStats, err = trashStats(ctx, tx); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	st.Files -= st.TrashStats.Files
	st.LogicalBytes -= st.TrashStats.LogicalBytes
	st.Dirs -= st.TrashStats.Dirs
	if st.StoredBytes > 0 {
		st.DedupRatio = float64(st.LogicalBytes) / float64(st.StoredBytes)
	}
	if st.Native, err = s.NativeStats(); err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	return st, nil
}
