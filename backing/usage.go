package backing

import (
	"context"
	"fmt"
	"syscall"
)

// Usage is what a subtree holds, for `n4ws runs list`.
type Usage struct {
	Files int64 `json:"files"` // regular files below (a hard-linked file counts once)
	// LogicalBytes is the sum of the files' sizes, as du --apparent-size.
	LogicalBytes int64 `json:"logical_bytes"`
	// ExclusiveBytes is what deleting the subtree would free: the sizes of
	// the blobs that only its nodes reference (no file elsewhere, no
	// catalog row, no archive).
	ExclusiveBytes int64 `json:"exclusive_bytes"`
}

// Usage measures the subtree rooted at ino in one read snapshot.
func (s *Store) Usage(ctx context.Context, ino uint64) (Usage, error) {
	var u Usage
	// UNION (not UNION ALL) counts a node hard-linked twice inside once.
	err := s.rdb.QueryRowContext(ctx, `WITH RECURSIVE sub(ino) AS (
			SELECT CAST(? AS BIGINT) UNION SELECT e.child FROM entries e JOIN sub ON e.parent = sub.ino),
		files AS (SELECT n.ino, n.size, n.blob, n.nlink,
				(SELECT count(*) FROM entries e JOIN sub s2 ON s2.ino = e.parent WHERE e.child = n.ino) AS inside
			FROM sub JOIN nodes n ON n.ino = sub.ino WHERE n.mode & ? = ?),
		freed AS (SELECT b.size FROM files f JOIN blobs b ON b.hash = f.blob
			WHERE f.inside >= f.nlink GROUP BY b.hash HAVING count(*) >= CASE WHEN b.refcount > 1 THEN b.refcount ELSE 1 END)
		SELECT (SELECT count(*) FROM files), (SELECT coalesce(sum(size), 0) FROM files),
			(SELECT coalesce(sum(size), 0) FROM freed)`,
		ino, syscall.S_IFMT, syscall.S_IFREG).Scan(&u.Files, &u.LogicalBytes, &u.ExclusiveBytes)
	if err != nil {
		return u, fmt.Errorf("usage of %d: %w", ino, err)
	}
	return u, nil
}
