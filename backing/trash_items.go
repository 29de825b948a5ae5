package backing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"
)

// TrashItem is one item of the trash, for `n4ws trash list`.
type TrashItem struct {
	ID   uint64 `json:"id"`
	Path string `json:"path"` // where it was
	// Whole is set when the folder (or file) at Path itself is in the item;
	// otherwise the item holds some of its content and the folder stayed.
	Whole   bool      `json:"whole"`
	Deleted time.Time `json:"deleted"` // first removal
	Last    time.Time `json:"last"`    // latest removal: the retention counts from here
	Root    uint64    `json:"-"`
	Usage
}

// Trash moves the folder at p (runs/<dataset> or a folder in it), or a
// file directly in runs/<dataset>/, to the trash as one whole item, in one
// transaction, and returns the item.
func (s *Store) Trash(ctx context.Context, p string) (TrashItem, error) {
	dir, name := splitParent(p)
	parent, err := s.ResolvePath(ctx, dir)
	if err != nil {
		return TrashItem{}, fmt.Errorf("trash %q: %w", p, err)
	}
	var id uint64
	err = s.update(ctx, func(tx *txn) error {
		if _, err := tx.writableDir(parent.Ino); err != nil {
			return err
		}
		a, err := tx.lookup(parent.Ino, name)
		if err != nil {
			return err
		}
		if a.Flags&FlagPinned != 0 {
			return ErrPermission
		}
		pl, ok, err := tx.placeBelowRuns(parent.Ino, name, a.Ino)
		if err != nil {
			return err
		}
		depth := pl.unitDepth(a.IsDir())
		if !ok || len(pl.names) != depth {
			return errNotTrashUnit
		}
		id, err = tx.moveToTrash(pl, depth, parent.Ino, name, a)
		return err
	})
	if err != nil {
		return TrashItem{}, fmt.Errorf("trash %q: %w", p, err)
	}
	return s.trashItem(ctx, id)
}

// moveToTrash moves the entry (dir, name) of node a, a unit, into the
// trash root as a new whole item.
func (tx *txn) moveToTrash(pl place, depth int, dir uint64, name string, a Attr) (uint64, error) {
	tr, err := tx.trashRoot(true)
	if err != nil {
		return 0, err
	}
	now := nowNs()
	id, err := tx.insertID("id", `INSERT INTO trash (root, path, unit, parent, whole, deleted_ns, last_ns) VALUES (?, ?, ?, ?, 1, ?, ?)`,
		a.Ino, pl.unitPath(depth), a.Ino, dir, now, now)
	if err != nil {
		return 0, err
	}
	if _, err := tx.exec(`UPDATE entries SET parent = ?, name = ? WHERE parent = ? AND name = ?`,
		tr, []byte(strconv.FormatInt(id, 10)), dir, []byte(name)); err != nil {
		return 0, err
	}
	tx.noteEntry(dir, name)
	delta := 0
	if a.IsDir() {
		delta = 1
		if _, err := tx.exec(`UPDATE nodes SET nlink = nlink + 1 WHERE ino = ?`, tr); err != nil {
			return 0, err
		}
	}
	return uint64(id), tx.touchDir(dir, now, -delta)
}

// TrashItems lists the trash, oldest first, with what each item holds.
func (s *Store) TrashItems(ctx context.Context) ([]TrashItem, error) {
	var out []TrashItem
	err := queryEach(ctx, s.rdb, `SELECT id, root, path, whole, deleted_ns, last_ns FROM trash ORDER BY id`, nil,
		func(r rowScanner) error {
			it, err := scanTrashItem(r)
			out = append(out, it)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("list trash: %w", err)
	}
	for i := range out {
		if out[i].Usage, err = s.Usage(ctx, out[i].Root); err != nil {
			return nil, fmt.Errorf("list trash: %w", err)
		}
	}
	return out, nil
}

func (s *Store) trashItem(ctx context.Context, id uint64) (TrashItem, error) {
	it, err := scanTrashItem(s.rdb.QueryRowContext(ctx,
		`SELECT id, root, path, whole, deleted_ns, last_ns FROM trash WHERE id = ?`, id))
	if err != nil {
		return it, fmt.Errorf("trash item %d: %w", id, err)
	}
	if it.Usage, err = s.Usage(ctx, it.Root); err != nil {
		return it, fmt.Errorf("trash item %d: %w", id, err)
	}
	return it, nil
}

func scanTrashItem(r rowScanner) (TrashItem, error) {
	var it TrashItem
	var first, last int64
	err := r.Scan(&it.ID, &it.Root, &it.Path, &it.Whole, &first, &last)
	if isNoRows(err) {
		return it, ErrNotFound
	}
	it.Deleted, it.Last = time.Unix(0, first), time.Unix(0, last)
	return it, err
}

// TrashStats is what the trash holds, for `n4ws stats`.
type TrashStats struct {
	Items        int64 `json:"trash_items"`
	Files        int64 `json:"trash_files"`
	LogicalBytes int64 `json:"trash_bytes"`
	Dirs         int64 `json:"-"` // directories below the trash root, itself included
}

// trashStats counts the trash's items, files, bytes and directories.
func trashStats(ctx context.Context, q querier) (TrashStats, error) {
	var st TrashStats
	err := q.QueryRowContext(ctx, `WITH RECURSIVE sub(ino) AS (
			SELECT CAST(value AS BIGINT) FROM meta WHERE key = ? UNION SELECT e.child FROM entries e JOIN sub ON e.parent = sub.ino)
		SELECT (SELECT count(*) FROM trash),
			coalesce(sum(CASE WHEN n.mode & ? = ? THEN 1 ELSE 0 END), 0), coalesce(sum(CASE WHEN n.mode & ? = ? THEN n.size END), 0),
			coalesce(sum(CASE WHEN n.mode & ? = ? THEN 1 ELSE 0 END), 0)
		FROM sub JOIN nodes n ON n.ino = sub.ino`, trashRootKey,
		syscall.S_IFMT, syscall.S_IFREG, syscall.S_IFMT, syscall.S_IFREG, syscall.S_IFMT, syscall.S_IFDIR).Scan(&st.Items, &st.Files, &st.LogicalBytes, &st.Dirs)
	if err != nil {
		return st, fmt.Errorf("count trash: %w", err)
	}
	return st, nil
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
