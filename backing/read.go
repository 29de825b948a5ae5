package backing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// GetAttr returns the attributes of node ino.
func (s *Store) GetAttr(ctx context.Context, ino uint64) (Attr, error) {
	a, err := scanAttr(s.stmts.getAttr.QueryRowContext(ctx, ino))
	if s.known != nil {
		if err == nil {
			s.known.putAttr(a)
		} else if k, ok := s.known.attr(ino); ok && outage(err) {
			return k, nil
		}
	}
	if err != nil {
		return a, fmt.Errorf("getattr %d: %w", ino, err)
	}
	return a, nil
}

// Lookup returns the attributes of the entry name in directory parent.
func (s *Store) Lookup(ctx context.Context, parent uint64, name string) (Attr, error) {
	a, err := scanAttr(s.stmts.lookup.QueryRowContext(ctx, parent, []byte(name)))
	if s.known != nil {
		if err == nil {
			s.known.putLookup(parent, name, a)
		} else if k, ok := s.known.lookup(parent, name); ok && outage(err) {
			return k, nil
		}
	}
	if err != nil {
		return a, fmt.Errorf("lookup %q in %d: %w", name, parent, err)
	}
	return a, nil
}

// DirEntry is one name in a directory listing.
type DirEntry struct {
	Name string
	Ino  uint64
	Mode uint32
}

// ReadDir lists directory ino in byte order of the names.
func (s *Store) ReadDir(ctx context.Context, ino uint64) ([]DirEntry, error) {
	rows, err := s.rdb.QueryContext(ctx,
		`SELECT e.name, n.ino, n.mode FROM entries e JOIN nodes n ON n.ino = e.child
		 WHERE e.parent = ? ORDER BY e.name`, ino)
	if err != nil {
		return nil, fmt.Errorf("readdir %d: %w", ino, err)
	}
	defer rows.Close()
	var out []DirEntry
	for rows.Next() {
		var name []byte
		var e DirEntry
		if err := rows.Scan(&name, &e.Ino, &e.Mode); err != nil {
			return nil, fmt.Errorf("readdir %d: %w", ino, err)
		}
		e.Name = string(name)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("readdir %d: %w", ino, err)
	}
	return out, nil
}

// ReadDirPlus lists directory ino with every child's attributes, in one
// query (on a shared index, the last listing seen during an outage).
func (s *Store) ReadDirPlus(ctx context.Context, ino uint64) ([]string, []Attr, error) {
	names, attrs, err := s.readDirPlus(ctx, ino)
	if s.known != nil {
		if err == nil {
			s.known.putDir(ino, names, attrs)
		} else if l, ok := s.known.dir(ino); ok && outage(err) {
			return l.names, l.attrs, nil
		}
	}
	return names, attrs, err
}

func (s *Store) readDirPlus(ctx context.Context, ino uint64) ([]string, []Attr, error) {
	return s.queryDirPlus(ctx, ino, "", ino)
}

// queryDirPlus lists the children of ino that match the extra condition
// where (with its args after ino's), names and attributes in name order.
func (s *Store) queryDirPlus(ctx context.Context, ino uint64, where string, args ...any) ([]string, []Attr, error) {
	rows, err := s.rdb.QueryContext(ctx,
		`SELECT e.name, `+prefixed("n.", nodeColumns)+` FROM entries e JOIN nodes n ON n.ino = e.child
		 WHERE e.parent = ?`+where+` ORDER BY e.name`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("readdir %d: %w", ino, err)
	}
	defer rows.Close()
	var names []string
	var attrs []Attr
	for rows.Next() {
		var name []byte
		a, err := scanAttr(rows, &name)
		if err != nil {
			return nil, nil, fmt.Errorf("readdir %d: %w", ino, err)
		}
		names = append(names, string(name))
		attrs = append(attrs, a)
		if len(names)%1024 == 0 && ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("readdir %d: %w", ino, err)
	}
	return names, attrs, nil
}

// Path returns the slash-separated path of node ino from the root, for
// messages and the CLI; a hard-linked file gives one of its paths.
func (s *Store) Path(ctx context.Context, ino uint64) (string, error) {
	p := ""
	for ino != RootIno {
		var name []byte
		var parent uint64
		err := s.rdb.QueryRowContext(ctx, `SELECT parent, name FROM entries WHERE child = ? LIMIT 1`, ino).Scan(&parent, &name)
		if errors.Is(err, sql.ErrNoRows) {
			err = ErrNotFound // unlinked or unknown node
		}
		if err != nil {
			return "", fmt.Errorf("path of %d: %w", ino, err)
		}
		p = "/" + string(name) + p
		ino = parent
	}
	if p == "" {
		p = "/"
	}
	return p, nil
}

// prefixed qualifies a comma-separated column list with a table alias.
func prefixed(alias, cols string) string {
	out := alias
	for i := 0; i < len(cols); i++ {
		out += string(cols[i])
		if cols[i] == ' ' && i > 0 && cols[i-1] == ',' {
			out += alias
		}
	}
	return out
}

// stmts are the hot read queries, prepared once per connection instead of
// parsed on every call.
type stmts struct {
	getAttr  *sql.Stmt
	lookup   *sql.Stmt
	blobData *sql.Stmt
	openFile *sql.Stmt
	openData *sql.Stmt // openFile with an inline blob's bytes
	parentOf *sql.Stmt // on the writer only
}

func (s *Store) prepare(ctx context.Context) error {
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = s.rdb.PrepareContext(ctx, q)
		return st
	}
	s.stmts.getAttr = prep(`SELECT ` + nodeColumns + ` FROM nodes WHERE ino = ?`)
	s.stmts.lookup = prep(`SELECT ` + prefixed("n.", nodeColumns) + ` FROM entries e JOIN nodes n ON n.ino = e.child
		WHERE e.parent = ? AND e.name = ?`)
	s.stmts.blobData = prep(`SELECT data FROM blobs WHERE hash = ?`)
	s.stmts.openFile = prep(`SELECT b.data IS NOT NULL, ` + prefixed("n.", nodeColumns) + `
		FROM nodes n LEFT JOIN blobs b ON b.hash = n.blob WHERE n.ino = ?`)
	s.stmts.openData = prep(`SELECT b.data, ` + prefixed("n.", nodeColumns) + `
		FROM nodes n LEFT JOIN blobs b ON b.hash = n.blob WHERE n.ino = ?`)
	if err != nil {
		return fmt.Errorf("prepare queries: %w", err)
	}
	// The writer's hot lookups, prepared once on its connection: inside a
	// transaction (txn.prepared) they run without being parsed again.
	for _, w := range []struct {
		dst **sql.Stmt
		q   string
	}{{&s.wstmts.getAttr, `SELECT ` + nodeColumns + ` FROM nodes WHERE ino = ?`}, {&s.wstmts.lookup, lookupQuery},
		{&s.wstmts.parentOf, `SELECT parent, name FROM entries WHERE child = ? LIMIT 1`}} {
		if *w.dst, err = s.wdb.PrepareContext(ctx, w.q); err != nil {
			return fmt.Errorf("prepare queries: %w", err)
		}
	}
	return nil
}

// ParentOf returns the directory that names node ino, and the name (one of
// them, for a hard-linked file).
func (s *Store) ParentOf(ctx context.Context, ino uint64) (uint64, string, error) {
	var parent uint64
	var name []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT parent, name FROM entries WHERE child = ? LIMIT 1`, ino).Scan(&parent, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", fmt.Errorf("parent of %d: %w", ino, ErrNotFound)
	}
	if err != nil {
		return 0, "", fmt.Errorf("parent of %d: %w", ino, err)
	}
	return parent, string(name), nil
}

// HasMoreEntries reports whether folder dir has more than n entries,
// reading at most n+1 of them.
func (s *Store) HasMoreEntries(ctx context.Context, dir uint64, n int) (bool, error) {
	var count int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM entries WHERE parent = ? LIMIT ?) AS some`,
		dir, n+1).Scan(&count)
	if err != nil {
		return false, fmt.Errorf("count entries of %d: %w", dir, err)
	}
	return count > n, nil
}
