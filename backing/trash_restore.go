package backing

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
)

// RestoreOptions choose where a trash item goes back.
type RestoreOptions struct {
	// To is a path to restore to instead of the item's own place.
	To string
	// UniquePrefix, when set, makes the restore fail with ErrExists if an
	// entry of the target folder starts with it (pipeline numbers: "0042_").
	UniquePrefix string
}

// RestoreTrash puts trash item id back where it was (or at opts.To) and
// returns that path. A whole item needs a free place. An item that holds
// part of a folder's content goes back into the folder when it still
// exists, provided none of its names is taken there.
func (s *Store) RestoreTrash(ctx context.Context, id uint64, opts RestoreOptions) (string, error) {
	it, err := s.trashItem(ctx, id)
	if err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	target := path.Clean("/" + it.Path)[1:]
	if opts.To != "" {
		target = path.Clean("/" + opts.To)[1:]
	}
	dir, name := splitParent(target)
	if err := checkName(name); err != nil {
		return "", fmt.Errorf("restore item %d to %q: %w", id, target, err)
	}
	parent, err := s.MkdirAll(ctx, dir, 0o755)
	if err != nil {
		return "", fmt.Errorf("restore item %d to %q: %w", id, target, err)
	}
	err = s.update(ctx, func(tx *txn) error {
		return tx.restore(id, parent.Ino, name, opts, target)
	})
	if err != nil {
		return "", fmt.Errorf("restore item %d to %q: %w", id, target, err)
	}
	return target, nil
}

func (tx *txn) restore(id, parent uint64, name string, opts RestoreOptions, target string) error {
	var root uint64
	var whole bool
	if err := tx.queryRow(`SELECT root, whole FROM trash WHERE id = ?`, id).Scan(&root, &whole); err != nil {
		if isNoRows(err) {
			return ErrNotFound
		}
		return err
	}
	tr, err := tx.trashRoot(false)
	if err != nil {
		return err
	}
	if _, err := tx.writableDir(parent); err != nil {
		return err
	}
	a, err := tx.getAttr(root)
	if err != nil {
		return err
	}
	now, itemName := nowNs(), strconv.FormatUint(id, 10)
	old, err := tx.lookup(parent, name)
	switch {
	case err == nil && !whole && opts.To == "" && old.IsDir() && a.IsDir():
		if rel, err := tx.mergeConflict(root, old.Ino, ""); err != nil {
			return err
		} else if rel != "" {
			return fmt.Errorf("%s%s exists: %w", target, rel, ErrExists)
		}
		if err := tx.unlinkQuiet(tr, itemName, true); err != nil {
			return err
		}
		if err := tx.mergeInto(root, old.Ino, now); err != nil {
			return err
		}
	case err == nil:
		return fmt.Errorf("%s exists (restore to another place with --to): %w", target, ErrExists)
	case !errors.Is(err, ErrNotFound):
		return err
	default:
		if err := tx.checkUniquePrefix(parent, opts.UniquePrefix); err != nil {
			return fmt.Errorf("a folder numbered %s is in %s already (restore to another place with --to): %w",
				opts.UniquePrefix, path.Dir(target), err)
		}
		if err := tx.unlinkQuiet(tr, itemName, a.IsDir()); err != nil {
			return err
		}
		if err := tx.addEntry(parent, name, root); err != nil {
			return err
		}
		delta := 0
		if a.IsDir() {
			delta = 1
		}
		if err := tx.touchDir(parent, now, delta); err != nil {
			return err
		}
	}
	_, err = tx.exec(`DELETE FROM trash WHERE id = ?`, id)
	return err
}

// checkUniquePrefix fails with ErrExists when an entry of dir starts with p.
func (tx *txn) checkUniquePrefix(dir uint64, p string) error {
	if p == "" {
		return nil
	}
	var taken int
	err := tx.queryRow(`SELECT count(*) FROM (SELECT 1 FROM entries WHERE parent = ? AND name >= ? AND name < ? LIMIT 1) AS one`,
		dir, []byte(p), append([]byte(p), 0xff)).Scan(&taken)
	if err != nil {
		return err
	}
	if taken > 0 {
		return ErrExists
	}
	return nil
}

// childEntry is one entry of a directory.
type childEntry struct {
	name string
	a    Attr
}

func (tx *txn) children(dir uint64) ([]childEntry, error) {
	var out []childEntry
	err := queryEach(tx.ctx, tx, `SELECT e.name, `+prefixed("n.", nodeColumns)+` FROM entries e
		JOIN nodes n ON n.ino = e.child WHERE e.parent = ? ORDER BY e.name`, []any{dir}, func(r rowScanner) error {
		var name []byte
		a, err := scanAttr(r, &name)
		out = append(out, childEntry{string(name), a})
		return err
	})
	return out, err
}

// mergeConflict returns the first path below src (as "/a/b") whose name
// is taken in dst by something a merge cannot go into, or "".
func (tx *txn) mergeConflict(src, dst uint64, rel string) (string, error) {
	kids, err := tx.children(src)
	if err != nil {
		return "", err
	}
	for _, k := range kids {
		old, err := tx.lookup(dst, k.name)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return "", err
		}
		if !old.IsDir() || !k.a.IsDir() {
			return rel + "/" + k.name, nil
		}
		if c, err := tx.mergeConflict(k.a.Ino, old.Ino, rel+"/"+k.name); err != nil || c != "" {
			return c, err
		}
	}
	return "", nil
}

// mergeInto moves the content of trash directory src into live directory
// dst (mergeConflict found nothing in the way), then drops src.
func (tx *txn) mergeInto(src, dst uint64, now int64) error {
	kids, err := tx.children(src)
	if err != nil {
		return err
	}
	for _, k := range kids {
		old, err := tx.lookup(dst, k.name)
		if err == nil {
			if err := tx.unlinkQuiet(src, k.name, true); err != nil {
				return err
			}
			if err := tx.mergeInto(k.a.Ino, old.Ino, now); err != nil {
				return err
			}
			continue
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.unlinkQuiet(src, k.name, k.a.IsDir()); err != nil {
			return err
		}
		if err := tx.addEntry(dst, k.name, k.a.Ino); err != nil {
			return err
		}
		delta := 0
		if k.a.IsDir() {
			delta = 1
		}
		if err := tx.touchDir(dst, now, delta); err != nil {
			return err
		}
	}
	if _, err := tx.exec(`DELETE FROM xattrs WHERE ino = ?`, src); err != nil {
		return err
	}
	_, err = tx.exec(`DELETE FROM nodes WHERE ino = ?`, src)
	return err
}
