package backing

import (
	"context"
	"strings"
)

// ReadDirPicked lists only the children of directory ino named exactly
// one of names or starting with one of prefixes, with their attributes,
// in byte order of the names. It reads through the entries' primary key
// (parent, name), so its cost follows the names picked, not the folder:
// the catalog re-reads a pipeline folder on every change in it, and a
// folder of 10,000 files must not cost 10,000 rows each time.
func (s *Store) ReadDirPicked(ctx context.Context, ino uint64, names, prefixes []string) ([]string, []Attr, error) {
	if len(names) == 0 && len(prefixes) == 0 {
		return nil, nil, nil
	}
	var where []string
	args := []any{ino}
	if len(names) > 0 {
		where = append(where, "e.name IN (?"+strings.Repeat(", ?", len(names)-1)+")")
		for _, n := range names {
			args = append(args, []byte(n))
		}
	}
	for _, p := range prefixes {
		if hi, ok := prefixEnd(p); ok {
			where = append(where, "(e.name >= ? AND e.name < ?)")
			args = append(args, []byte(p), hi)
		} else { // "" or all 0xff bytes: every name from p on
			where = append(where, "e.name >= ?")
			args = append(args, []byte(p))
		}
	}
	return s.queryDirPlus(ctx, ino, " AND ("+strings.Join(where, " OR ")+")", args...)
}

// prefixEnd is the smallest byte string greater than every string that
// starts with p (names compare byte by byte on every engine), or false
// when there is none (p empty or all 0xff bytes).
func prefixEnd(p string) ([]byte, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return b[:i+1], true
		}
	}
	return nil, false
}
