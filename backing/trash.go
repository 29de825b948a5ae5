package backing

import (
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The trash keeps what is removed below runs/ for a while, so that an
// `rm -rf` of the wrong folder can be undone.
//
// `rm -rf` reaches the store as one unlink or rmdir per node, children
// first. Each one stays exactly what POSIX says (the entry goes, nlink
// drops, an open file lives on until its last close); in the same
// transaction the trash gets the node, placed in the trash item of its
// folder at the same relative path. A file that no handle has open and no
// other name reaches goes there itself: nothing can reach it any more but
// the trash, so the trash entry becomes its one link (no copy to write, no
// purge after the kernel forgets it). Any other node goes as a copy: a new
// node with the same attributes, extended attributes and content (one more
// reference to the same blob, no byte copied); the original lives on as
// POSIX says. A file moved there was not open (an open that raced its
// unlink is the exception, as are the files of a folder `runs delete`
// moves): dropping an item while a mount runs leaves such nodes to the
// mount, which purges them once unused (trash_expire.go).
//
// Items group removals by folder ("unit"): runs/<ds>/<folder> for anything
// inside a dataset's folder, runs/<ds> for the dataset folder itself and
// the files directly in it. When the unit folder itself goes, the item is
// whole. When a dataset folder goes, the items of its folders removed in
// the same burst (no pause of trashSession or more) join its item, so that
// `rm -rf runs/<ds>` gives one item.
//
// The trash root is a directory that no entry names (meta 'trash_root'):
// the mount cannot reach it, catalog paths never start there, and fsck
// counts it as a root.

// trashSession is the longest pause between two removals of one burst.
const trashSession = time.Minute

// trashRootKey is the meta key holding the trash root's inode.
const trashRootKey = "trash_root"

// trashRoot returns the trash root, creating it when create is set (0
// when it does not exist and create is not set).
func (tx *txn) trashRoot(create bool) (uint64, error) {
	var ino uint64
	err := tx.queryRow(`SELECT value FROM meta WHERE key = ?`, trashRootKey).Scan(&ino)
	if err == nil || !errors.Is(err, sql.ErrNoRows) || !create {
		if errors.Is(err, sql.ErrNoRows) {
			err = nil
		}
		return ino, err
	}
	now := time.Unix(0, nowNs())
	ino, err = tx.insertNode(Attr{Mode: syscall.S_IFDIR | 0o700, Nlink: 2, Flags: FlagPinned | FlagReadOnly,
		Atime: now, Mtime: now, Ctime: now})
	if err != nil {
		return 0, err
	}
	// meta values are text (PostgreSQL's column is); readers CAST them.
	_, err = tx.exec(`INSERT INTO meta (key, value) VALUES (?, ?)`, trashRootKey, strconv.FormatUint(ino, 10))
	return ino, err
}

// place is where a node sits below runs/: the names from runs/ down to it
// and the live node of each.
type place struct {
	runs  uint64
	names []string
	inos  []uint64
}

// trashMaxDepth bounds the walk up from a removed node: a node deeper
// than this below runs/ is not kept (no workspace nests that deep; a
// hostile 1,000-level tree would otherwise cost a walk of its whole depth,
// twice, per removal), nor is anything this deep below another folder.
const trashMaxDepth = 64

// placeBelowRuns finds the place of name in directory dir; ok is false
// when dir is not runs/ or below it, or deeper than trashMaxDepth.
func (tx *txn) placeBelowRuns(dir uint64, name string, ino uint64) (place, bool, error) {
	runs, err := tx.runsIno()
	if errors.Is(err, ErrNotFound) {
		return place{}, false, nil
	} else if err != nil {
		return place{}, false, err
	}
	p := place{runs: runs, names: []string{name}, inos: []uint64{ino}}
	for cur := dir; cur != runs; {
		if cur == RootIno || len(p.names) > trashMaxDepth {
			return p, false, nil
		}
		var parent uint64
		var n []byte
		err := tx.prepared(tx.s.wstmts.parentOf).QueryRowContext(tx.ctx, cur).Scan(&parent, &n)
		if errors.Is(err, sql.ErrNoRows) {
			return p, false, nil // below the trash root, or unlinked
		} else if err != nil {
			return p, false, err
		}
		p.names = append([]string{string(n)}, p.names...)
		p.inos = append([]uint64{cur}, p.inos...)
		cur = parent
	}
	return p, true, nil
}

// runsIno returns the inode of runs/, a pinned skeleton folder that
// never moves: looked up once per store.
func (tx *txn) runsIno() (uint64, error) {
	if ino := tx.s.runsIno.Load(); ino != 0 {
		return ino, nil
	}
	a, err := tx.lookup(RootIno, "runs")
	if err != nil {
		return 0, err
	}
	tx.s.runsIno.Store(a.Ino)
	return a.Ino, nil
}

// unitDepth is how many names of p make its trash unit: 2 (a folder of a
// dataset) for anything inside one, else 1 (the dataset folder, or a file
// directly in runs/<ds>/ or runs/).
func (p place) unitDepth(isDir bool) int {
	if len(p.names) >= 3 || len(p.names) == 2 && isDir {
		return 2
	}
	return 1
}

func (p place) unitPath(depth int) string { return "runs/" + strings.Join(p.names[:depth], "/") }

func (p place) unitParent(depth int) uint64 {
	if depth == 1 {
		return p.runs
	}
	return p.inos[depth-2]
}

// trashItemRow is one row of the trash table.
type trashItemRow struct {
	id, root      uint64
	path          string
	whole         bool
	first, latest int64
}

// keepInTrash puts node a, whose entry name in dir is about to go, in the
// trash when the place is below runs/: the node itself when move is set
// and a is a file no other name reaches (moved reports it; the caller then
// keeps its link), else a copy. Call before the entry goes; rmdir calls it
// for an empty directory. move promises that no handle has a open.
func (tx *txn) keepInTrash(dir uint64, name string, a Attr, now int64, move bool) (moved bool, err error) {
	p, ok, err := tx.placeBelowRuns(dir, name, a.Ino)
	if err != nil || !ok {
		return false, err
	}
	move = move && isType(a.Mode, syscall.S_IFREG) && a.Nlink == 1 && a.Flags == 0
	depth := p.unitDepth(a.IsDir())
	if len(p.names) == depth {
		return move, tx.trashUnit(p, depth, a, now, move)
	}
	for attempt := 0; ; attempt++ {
		it, err := tx.partialItem(p, depth, now, attempt > 0)
		if err != nil {
			return false, err
		}
		dir, err := tx.mirrorDir(it.root, p, depth)
		if err == nil {
			err = tx.placeCopy(dir, name, a, now, move)
		}
		if !errors.Is(err, errTrashConflict) || attempt > 0 {
			return move && err == nil, err
		}
		// The item holds another kind of node at that place (a file where
		// a folder of the same name goes now): start a new item.
	}
}

// trashNode is the node that stands for a in the trash: a itself when
// move is set, else a new copy.
func (tx *txn) trashNode(a Attr, move bool) (uint64, error) {
	if move {
		return a.Ino, nil
	}
	return tx.copyNode(a)
}

// errTrashConflict: the trash item holds a node of another type at the place.
var errTrashConflict = errors.New("trash item holds another node there")

// partialItem returns the item collecting removals inside the unit of p
// during the current burst, creating one (or a new one when fresh).
func (tx *txn) partialItem(p place, depth int, now int64, fresh bool) (trashItemRow, error) {
	unit := p.inos[depth-1]
	it, err := tx.openItem(unit, now)
	if err == nil && !fresh {
		// The retention counts from the last removal; a second more or
		// less is not worth a row write on every unlink of an rm -rf.
		if now-it.latest > int64(time.Second) || it.path != p.unitPath(depth) {
			_, err = tx.exec(`UPDATE trash SET last_ns = ?, path = ? WHERE id = ?`, now, p.unitPath(depth), it.id)
		}
		return it, err
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return it, err
	}
	ua, err := tx.getAttr(unit)
	if err != nil {
		return it, err
	}
	root, err := tx.copyNode(ua)
	if err != nil {
		return it, err
	}
	return tx.newItem(root, true, p.unitPath(depth), unit, p.unitParent(depth), false, now)
}

// openItem finds the partial item of unit last added to within trashSession.
func (tx *txn) openItem(unit uint64, now int64) (trashItemRow, error) {
	var it trashItemRow
	err := tx.queryRow(`SELECT id, root, path, deleted_ns, last_ns FROM trash WHERE unit = ? AND whole = 0 AND last_ns >= ?
		ORDER BY id DESC LIMIT 1`, unit, now-int64(trashSession)).Scan(&it.id, &it.root, &it.path, &it.first, &it.latest)
	if errors.Is(err, sql.ErrNoRows) {
		return it, ErrNotFound
	}
	return it, err
}

// newItem records an item whose node root (a directory when isDir) now
// hangs in the trash root.
func (tx *txn) newItem(root uint64, isDir bool, path string, unit, parent uint64, whole bool, now int64) (trashItemRow, error) {
	tr, err := tx.trashRoot(true)
	if err != nil {
		return trashItemRow{}, err
	}
	wholeInt := 0 // an integer column: PostgreSQL takes no Go bool for it
	if whole {
		wholeInt = 1
	}
	id, err := tx.insertID("id", `INSERT INTO trash (root, path, unit, parent, whole, deleted_ns, last_ns) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		root, path, unit, parent, wholeInt, now, now)
	if err != nil {
		return trashItemRow{}, err
	}
	if err := tx.linkQuiet(tr, strconv.FormatInt(id, 10), root, isDir); err != nil {
		return trashItemRow{}, err
	}
	return trashItemRow{id: uint64(id), root: root, whole: whole, first: now, latest: now}, nil
}

// trashUnit keeps the unit itself (the last name of p): it completes the
// burst's partial item, or makes a whole item of a copy.
func (tx *txn) trashUnit(p place, depth int, a Attr, now int64, move bool) error {
	path := p.unitPath(depth)
	var it trashItemRow
	var err error
	if a.IsDir() {
		it, err = tx.openItem(a.Ino, now)
	} else {
		err = ErrNotFound
	}
	switch {
	case err == nil:
		if err := tx.copyAttrs(it.root, a); err != nil {
			return err
		}
		_, err = tx.exec(`UPDATE trash SET whole = 1, last_ns = ?, path = ? WHERE id = ?`, now, path, it.id)
	case errors.Is(err, ErrNotFound):
		var root uint64
		if root, err = tx.trashNode(a, move); err != nil {
			return err
		}
		it, err = tx.newItem(root, a.IsDir(), path, a.Ino, p.unitParent(depth), true, now)
	}
	if err != nil || depth != 1 || !a.IsDir() {
		return err
	}
	return tx.joinBurst(it, a.Ino, now)
}

// joinBurst moves the items of the dataset folder's own folders removed in
// the same burst into the dataset's item it.
func (tx *txn) joinBurst(it trashItemRow, dataset uint64, now int64) error {
	var cands []trashItemRow
	err := queryEach(tx.ctx, tx, `SELECT id, root, deleted_ns, last_ns FROM trash WHERE parent = ? AND id != ?
		ORDER BY last_ns DESC`, []any{dataset, it.id}, func(r rowScanner) error {
		var c trashItemRow
		if err := r.Scan(&c.id, &c.root, &c.first, &c.latest); err != nil {
			return err
		}
		cands = append(cands, c)
		return nil
	})
	if err != nil {
		return err
	}
	tr, err := tx.trashRoot(false)
	if err != nil {
		return err
	}
	first, cutoff := it.first, now-int64(trashSession)
	for _, c := range cands {
		if c.latest < cutoff {
			break
		}
		cutoff = min(cutoff, c.first-int64(trashSession))
		joined, err := tx.joinItem(tr, c, it.root)
		if err != nil {
			return err
		}
		if joined {
			first = min(first, c.first)
		}
	}
	_, err = tx.exec(`UPDATE trash SET deleted_ns = ? WHERE id = ?`, first, it.id)
	return err
}

// joinItem moves item c's node into directory dst under its own name,
// unless that name is taken there.
func (tx *txn) joinItem(tr uint64, c trashItemRow, dst uint64) (bool, error) {
	var path string
	if err := tx.queryRow(`SELECT path FROM trash WHERE id = ?`, c.id).Scan(&path); err != nil {
		return false, err
	}
	name := path[strings.LastIndexByte(path, '/')+1:]
	if _, err := tx.lookup(dst, name); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	a, err := tx.getAttr(c.root)
	if err != nil {
		return false, err
	}
	if err := tx.unlinkQuiet(tr, strconv.FormatUint(c.id, 10), a.IsDir()); err != nil {
		return false, err
	}
	if err := tx.linkQuiet(dst, name, c.root, a.IsDir()); err != nil {
		return false, err
	}
	_, err = tx.exec(`DELETE FROM trash WHERE id = ?`, c.id)
	return true, err
}

// mirrorDir returns the directory of the item that stands for the parent
// of p's node, creating the missing ones as copies of the live folders.
func (tx *txn) mirrorDir(root uint64, p place, depth int) (uint64, error) {
	dir := root
	for i := depth; i < len(p.names)-1; i++ {
		next, err := tx.lookup(dir, p.names[i])
		switch {
		case err == nil && !next.IsDir():
			return 0, errTrashConflict
		case err == nil:
			dir = next.Ino
			continue
		case !errors.Is(err, ErrNotFound):
			return 0, err
		}
		live, err := tx.getAttr(p.inos[i])
		if err != nil {
			return 0, err
		}
		ino, err := tx.copyNode(live)
		if err != nil {
			return 0, err
		}
		if err := tx.linkQuiet(dir, p.names[i], ino, true); err != nil {
			return 0, err
		}
		dir = ino
	}
	return dir, nil
}

// placeCopy puts a copy of a (a itself when move is set) as name in trash
// directory dir. A directory that is there already (made for its
// children) takes a's attributes; a non-directory there is an older node
// from the same burst and is replaced.
func (tx *txn) placeCopy(dir uint64, name string, a Attr, now int64, move bool) error {
	if !a.IsDir() {
		// The usual case, a file whose name is free in the item: no lookup
		// first. A taken name leaves the copy unused, and the long way.
		placed, err := tx.placeNew(dir, name, a, move)
		if placed || err != nil {
			return err
		}
	}
	old, err := tx.lookup(dir, name)
	switch {
	case err == nil && old.IsDir() != a.IsDir():
		return errTrashConflict
	case err == nil && a.IsDir():
		return tx.copyAttrs(old.Ino, a)
	case err == nil:
		if err := tx.unlinkQuiet(dir, name, false); err != nil {
			return err
		}
		if err := tx.dropTrashNode(old.Ino); err != nil {
			return err
		}
	case !errors.Is(err, ErrNotFound):
		return err
	}
	ino, err := tx.trashNode(a, move)
	if err != nil {
		return err
	}
	return tx.linkQuiet(dir, name, ino, a.IsDir())
}

// placeNew puts a copy of file a (a itself when move is set) as name in
// trash directory dir if the name is free there; placed is false (and no
// copy left) when it is not.
func (tx *txn) placeNew(dir uint64, name string, a Attr, move bool) (placed bool, err error) {
	ino, err := tx.trashNode(a, move)
	if err != nil {
		return false, err
	}
	res, err := tx.exec(`INSERT INTO entries (parent, name, child) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, dir, []byte(name), ino)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 || move {
		return n == 1, err
	}
	return false, tx.dropTrashNode(ino)
}
