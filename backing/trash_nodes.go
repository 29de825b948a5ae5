package backing

import "fmt"

// Node helpers of the trash: copies of removed nodes, and entries inside
// the trash, which no mount or catalog looks at.

// copyNode makes a nameless copy of node a: attributes, extended
// attributes and a reference to its content. A directory copy is empty.
func (tx *txn) copyNode(a Attr) (uint64, error) {
	c := a
	c.Nlink, c.Flags = 1, 0
	if a.IsDir() {
		c.Nlink = 2
	}
	ino, err := tx.insertNode(c)
	if err != nil {
		return 0, err
	}
	if err := tx.refBlob(a.Blob, a.Size); err != nil {
		return 0, err
	}
	_, err = tx.exec(`INSERT INTO xattrs (ino, name, value) SELECT CAST(? AS BIGINT), name, value FROM xattrs WHERE ino = ?`, ino, a.Ino)
	return ino, err
}

// copyAttrs gives trash directory ino the owner, mode and extended
// attributes of a. Its times stay: they were copied when its first child
// was removed, before the removals changed them.
func (tx *txn) copyAttrs(ino uint64, a Attr) error {
	if _, err := tx.exec(`UPDATE nodes SET mode = ?, uid = ?, gid = ? WHERE ino = ?`, a.Mode, a.Uid, a.Gid, ino); err != nil {
		return err
	}
	if _, err := tx.exec(`DELETE FROM xattrs WHERE ino = ?`, ino); err != nil {
		return err
	}
	_, err := tx.exec(`INSERT INTO xattrs (ino, name, value) SELECT CAST(? AS BIGINT), name, value FROM xattrs WHERE ino = ?`, ino, a.Ino)
	return err
}

// linkQuiet adds an entry inside the trash, where no mount or catalog
// looks: no change log, no dirty mark.
func (tx *txn) linkQuiet(dir uint64, name string, child uint64, isDir bool) error {
	if _, err := tx.exec(`INSERT INTO entries (parent, name, child) VALUES (?, ?, ?)`, dir, []byte(name), child); err != nil {
		return err
	}
	if isDir {
		_, err := tx.exec(`UPDATE nodes SET nlink = nlink + 1 WHERE ino = ?`, dir)
		return err
	}
	return nil
}

// unlinkQuiet removes an entry inside the trash (the child keeps its links).
func (tx *txn) unlinkQuiet(dir uint64, name string, isDir bool) error {
	if _, err := tx.exec(`DELETE FROM entries WHERE parent = ? AND name = ?`, dir, []byte(name)); err != nil {
		return err
	}
	if isDir {
		_, err := tx.exec(`UPDATE nodes SET nlink = nlink - 1 WHERE ino = ?`, dir)
		return err
	}
	return nil
}

// dropTrashNode deletes a copy that lost its only entry in the trash.
func (tx *txn) dropTrashNode(ino uint64) error {
	if _, err := tx.exec(`UPDATE nodes SET nlink = 0 WHERE ino = ?`, ino); err != nil {
		return err
	}
	return tx.purge(ino)
}

// errNotTrashUnit: Trash was asked for a place that is not a unit.
var errNotTrashUnit = fmt.Errorf("only runs/<dataset> and the folders in it go to the trash: %w", ErrInvalid)
