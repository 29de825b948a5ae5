package backing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"syscall"
)

// The index checks of Fsck. Each returns findings whose fix, run in the
// write transaction right after the check, makes the check pass.

// isDirSQL is an SQL test that table alias a is a directory.
func isDirSQL(a string) string {
	return fmt.Sprintf("(%s.mode & %d) = %d", a, syscall.S_IFMT, syscall.S_IFDIR)
}

func isRegSQL(a string) string {
	return fmt.Sprintf("(%s.mode & %d) = %d", a, syscall.S_IFMT, syscall.S_IFREG)
}

// checkRoot: without a root directory nothing is reachable. Not repairable
// by fsck: it would have to guess the whole skeleton.
func checkRoot(ctx context.Context, q querier) ([]finding, error) {
	var mode uint32
	err := q.QueryRowContext(ctx, `SELECT mode FROM nodes WHERE ino = ?`, RootIno).Scan(&mode)
	if err == nil && isType(mode, syscall.S_IFDIR) {
		return nil, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("check root: %w", err)
	}
	return []finding{{Problem: Problem{Kind: ProblemNoRoot, Ino: RootIno, Detail: "root directory missing or not a directory"}}}, nil
}

// checkDangling finds entries whose parent or child node is missing, or
// whose parent is not a directory. Repair removes them; a child left
// without a name is then reattached by checkOrphans.
func checkDangling(ctx context.Context, q querier) ([]finding, error) {
	var out []finding
	err := queryEach(ctx, q, `SELECT e.parent, e.name, e.child, p.ino IS NULL, c.ino IS NULL
		FROM entries e LEFT JOIN nodes p ON p.ino = e.parent LEFT JOIN nodes c ON c.ino = e.child
		WHERE p.ino IS NULL OR c.ino IS NULL OR NOT `+isDirSQL("p"), nil, func(r rowScanner) error {
		var parent, child uint64
		var name []byte
		var noParent, noChild bool
		if err := r.Scan(&parent, &name, &child, &noParent, &noChild); err != nil {
			return err
		}
		why := "parent is not a directory"
		if noParent {
			why = "parent node missing"
		} else if noChild {
			why = "child node missing"
		}
		out = append(out, finding{
			Problem: Problem{Kind: ProblemDanglingEntry, Detail: fmt.Sprintf("entry %q in %d names %d: %s", name, parent, child, why)},
			fix:     func(tx *txn, _ *repairState) error { return tx.removeEntry(parent, string(name)) },
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check entries: %w", err)
	}
	return out, nil
}

// checkOrphans finds linked nodes (nlink > 0) that no entry names. Repair
// gives each a name in runs/lost+found, as fsck.ext4 does.
func checkOrphans(ctx context.Context, q querier) ([]finding, error) {
	var out []finding
	// The trash root (trash.go) is nameless on purpose.
	err := queryEach(ctx, q, `SELECT n.ino, n.mode FROM nodes n WHERE n.nlink > 0 AND n.ino != ?
		AND n.ino NOT IN (SELECT CAST(value AS BIGINT) FROM meta WHERE key = ?)
		AND NOT EXISTS (SELECT 1 FROM entries e JOIN nodes p ON p.ino = e.parent WHERE e.child = n.ino AND `+isDirSQL("p")+`)`,
		[]any{RootIno, trashRootKey}, func(r rowScanner) error {
			var ino uint64
			var mode uint32
			if err := r.Scan(&ino, &mode); err != nil {
				return err
			}
			out = append(out, finding{
				Problem: Problem{Kind: ProblemOrphanNode, Ino: ino, Detail: "no directory entry names it"},
				fix:     func(tx *txn, st *repairState) error { return st.reattach(tx, ino, mode) },
			})
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("check orphans: %w", err)
	}
	return out, nil
}

// checkFileNlink compares a non-directory's nlink with its entries.
func checkFileNlink(ctx context.Context, q querier) ([]finding, error) {
	return checkNlink(ctx, q, `SELECT n.ino, n.nlink, count(*) FROM entries e
		JOIN nodes p ON p.ino = e.parent JOIN nodes n ON n.ino = e.child
		WHERE `+isDirSQL("p")+` AND NOT `+isDirSQL("n")+` GROUP BY n.ino HAVING n.nlink != count(*)`)
}

// checkDirNlink: a directory has 2 links ("." and its entry) plus one per
// subdirectory (their ".."). Unlinked directories are left to purge.
func checkDirNlink(ctx context.Context, q querier) ([]finding, error) {
	return checkNlink(ctx, q, `SELECT ino, nlink, want FROM (SELECT d.ino, d.nlink, 2 + (SELECT count(*)
		FROM entries e JOIN nodes c ON c.ino = e.child WHERE e.parent = d.ino AND `+isDirSQL("c")+`) AS want
		FROM nodes d WHERE `+isDirSQL("d")+` AND d.nlink > 0) AS dirs WHERE nlink != want`)
}

// checkNlink runs an (ino, nlink, want) query; repair sets nlink to want.
func checkNlink(ctx context.Context, q querier, query string) ([]finding, error) {
	var out []finding
	err := queryEach(ctx, q, query, nil, func(r rowScanner) error {
		var ino uint64
		var have, want int64
		if err := r.Scan(&ino, &have, &want); err != nil {
			return err
		}
		out = append(out, finding{
			Problem: Problem{Kind: ProblemNlink, Ino: ino, Detail: fmt.Sprintf("nlink is %d, should be %d", have, want)},
			fix: func(tx *txn, _ *repairState) error {
				_, err := tx.exec(`UPDATE nodes SET nlink = ? WHERE ino = ?`, want, ino)
				tx.noteIno(ino)
				return err
			},
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check link counts: %w", err)
	}
	return out, nil
}

// checkSizes: a regular file's size is its blob's, or 0 without a blob.
// Blobs without a row were reported (and, repairing, fixed) before.
func checkSizes(ctx context.Context, q querier) ([]finding, error) {
	var out []finding
	err := queryEach(ctx, q, `SELECT n.ino, n.size, coalesce(b.size, 0) FROM nodes n LEFT JOIN blobs b ON b.hash = n.blob
		WHERE `+isRegSQL("n")+` AND (n.blob IS NULL OR b.hash IS NOT NULL) AND n.size != coalesce(b.size, 0)`,
		nil, func(r rowScanner) error {
			var ino uint64
			var have, want int64
			if err := r.Scan(&ino, &have, &want); err != nil {
				return err
			}
			out = append(out, finding{
				Problem: Problem{Kind: ProblemFileSize, Ino: ino, Detail: fmt.Sprintf("size is %d, content has %d bytes", have, want)},
				fix: func(tx *txn, _ *repairState) error {
					_, err := tx.exec(`UPDATE nodes SET size = ? WHERE ino = ?`, want, ino)
					tx.noteIno(ino)
					return err
				},
			})
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("check sizes: %w", err)
	}
	return out, nil
}

// checkRefcounts: a blob's refcount is the number of nodes naming it,
// unlinked nodes included (they keep their content until purged).
func checkRefcounts(ctx context.Context, q querier) ([]finding, error) {
	var out []finding
	err := queryEach(ctx, q, `SELECT b.hash, b.refcount, coalesce(r.n, 0) FROM blobs b
		LEFT JOIN (SELECT blob, count(*) AS n FROM nodes WHERE blob IS NOT NULL GROUP BY blob) r ON r.blob = b.hash
		WHERE b.refcount != coalesce(r.n, 0)`, nil, func(r rowScanner) error {
		var h []byte
		var have, want int64
		if err := r.Scan(&h, &have, &want); err != nil {
			return err
		}
		d := digestFromBytes(h)
		out = append(out, finding{
			Problem: Problem{Kind: ProblemRefcount, Detail: fmt.Sprintf("blob %s: refcount is %d, %d node(s) name it", d, have, want)},
			fix: func(tx *txn, _ *repairState) error {
				_, err := tx.exec(`UPDATE blobs SET refcount = ? WHERE hash = ?`, want, h)
				return err
			},
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check refcounts: %w", err)
	}
	return out, nil
}

// repairState carries what repairs share within one transaction.
type repairState struct {
	lostFound uint64 // runs/lost+found, once found or made
}

// reattach names orphan ino runs/lost+found/<ino>.
func (st *repairState) reattach(tx *txn, ino uint64, mode uint32) error {
	lf, err := st.lostFoundDir(tx)
	if err != nil {
		return err
	}
	name := strconv.FormatUint(ino, 10)
	for i := 1; ; i++ { // inode numbers are never reused, but a user may have taken the name
		if _, err := tx.lookup(lf, name); errors.Is(err, ErrNotFound) {
			break
		} else if err != nil {
			return err
		}
		name = fmt.Sprintf("%d.%d", ino, i)
	}
	if err := tx.addEntry(lf, name, ino); err != nil {
		return err
	}
	delta := 0
	if isType(mode, syscall.S_IFDIR) {
		delta = 1
	}
	return tx.touchDir(lf, nowNs(), delta)
}

// lostFoundDir finds runs/lost+found, making it if needed.
func (st *repairState) lostFoundDir(tx *txn) (uint64, error) {
	if st.lostFound != 0 {
		return st.lostFound, nil
	}
	runs, err := tx.lookup(RootIno, "runs")
	if err != nil {
		return 0, fmt.Errorf("find runs/: %w", err)
	}
	a, err := tx.lookup(runs.Ino, "lost+found")
	if errors.Is(err, ErrNotFound) {
		// Private like fsck.ext4's: it may hold anyone's files.
		a, err = tx.mknod(runs.Ino, "lost+found", NewNode{Mode: syscall.S_IFDIR | 0o700, Uid: runs.Uid, Gid: runs.Gid}, 0)
	}
	if err != nil {
		return 0, fmt.Errorf("make runs/lost+found: %w", err)
	}
	if !a.IsDir() {
		return 0, fmt.Errorf("runs/lost+found: %w", ErrNotDir)
	}
	st.lostFound = a.Ino
	return a.Ino, nil
}
