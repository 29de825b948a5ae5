package backing

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Copying a whole store into another (n4ws migrate: local to team and
// back). The copy is row for row, inode numbers and every extension's
// tables included, so that the copy is the same store: the same tree, the
// same catalog, the same trash. The destination must be new (only its
// workspace tree); its rows are replaced in one write transaction, after
// the blobs are in its blob store.

// storeTables are the store's own tables in an order that inserts no row
// before the rows it references. The change log is not copied: it is for
// the mounts of the source.
var storeTables = []string{"blobs", "nodes", "entries", "xattrs", "meta", "dirty", "trash"}

// CopyReport says what CopyTo copied.
type CopyReport struct {
	Blobs     int64 // blob objects copied (inline blobs travel with their rows)
	BlobBytes int64
	Rows      int64 // index rows
	Tables    []string
}

// CopyTo copies the store into dst, a new store. progress, if set, is
// called after each blob with the numbers done and to do.
func (s *Store) CopyTo(ctx context.Context, dst *Store, progress func(done, total int64)) (CopyReport, error) {
	var rep CopyReport
	if err := dst.checkNew(ctx); err != nil {
		return rep, fmt.Errorf("copy store: %w", err)
	}
	tables, err := s.copyTables(ctx, dst)
	if err != nil {
		return rep, fmt.Errorf("copy store: %w", err)
	}
	if err := s.copyBlobs(ctx, dst, progress, &rep); err != nil {
		return rep, fmt.Errorf("copy store: %w", err)
	}
	err = dst.update(ctx, func(tx *txn) error {
		for _, t := range slices.Backward(tables) {
			if _, err := tx.exec(`DELETE FROM ` + t); err != nil {
				return fmt.Errorf("empty %s: %w", t, err)
			}
		}
		if _, err := tx.exec(`DELETE FROM changes`); err != nil {
			return err
		}
		for _, t := range tables {
			n, err := s.copyRows(ctx, tx, t)
			if err != nil {
				return fmt.Errorf("copy %s: %w", t, err)
			}
			rep.Rows += n
		}
		return dst.resetSequences(tx)
	})
	rep.Tables = tables
	if err != nil {
		return rep, fmt.Errorf("copy store: %w", err)
	}
	return rep, nil
}

// checkNew refuses a destination that holds more than its workspace tree.
func (s *Store) checkNew(ctx context.Context) error {
	var entries, blobs, trash int
	err := s.rdb.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM entries), (SELECT count(*) FROM blobs),
		(SELECT count(*) FROM trash)`).Scan(&entries, &blobs, &trash)
	if err != nil {
		return fmt.Errorf("check destination: %w", err)
	}
	if entries > len(skeleton) || blobs > 0 || trash > 0 {
		return fmt.Errorf("the destination %s is not a new store (%d entries, %d blobs): %w", s.dir, entries, blobs, ErrNotEmpty)
	}
	return nil
}

// copyTables returns the tables to copy: the store's, then every
// extension table of the source, which the destination must have too
// (its extension opened it once) unless the source's is empty.
func (s *Store) copyTables(ctx context.Context, dst *Store) ([]string, error) {
	have, err := s.tableNames(ctx)
	if err != nil {
		return nil, err
	}
	theirs, err := dst.tableNames(ctx)
	if err != nil {
		return nil, err
	}
	tables := slices.Clone(storeTables)
	for _, t := range have {
		if slices.Contains(storeTables, t) || t == "changes" || t == "n4ws_schema" {
			continue
		}
		if !slices.Contains(theirs, t) {
			var n int
			if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil || n > 0 {
				return nil, fmt.Errorf("table %s (%d rows) is not in the destination (open its catalog once): %v", t, n, err)
			}
			continue
		}
		tables = append(tables, t)
	}
	return tables, nil
}

// tableNames lists the index's tables.
func (s *Store) tableNames(ctx context.Context) ([]string, error) {
	q := `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	if s.idx.Name() == "sqlite" {
		q = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	}
	var out []string
	err := queryEach(ctx, s.rdb, q, nil, func(r rowScanner) error {
		var name string
		err := r.Scan(&name)
		out = append(out, name)
		return err
	})
	slices.Sort(out)
	return out, err
}

// copyRows inserts every row of table t of s into the destination's
// transaction, column by column by name.
func (s *Store) copyRows(ctx context.Context, tx *txn, t string) (int64, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT * FROM `+t)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	ins := `INSERT INTO ` + t + ` (` + strings.Join(cols, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) + `)`
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		if t == "meta" { // text in PostgreSQL; SQLite may hold integers
			if v, ok := vals[1].(int64); ok {
				vals[1] = strconv.FormatInt(v, 10)
			}
		}
		if _, err := tx.exec(ins, vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// copyBlobs puts every blob object of s (not the inline ones) into dst's
// blob store. A blob already there is skipped by the engine.
func (s *Store) copyBlobs(ctx context.Context, dst *Store, progress func(done, total int64), rep *CopyReport) error {
	type blob struct {
		d    Digest
		size int64
	}
	var bs []blob
	err := queryEach(ctx, s.rdb, `SELECT hash, size FROM blobs WHERE data IS NULL`, nil, func(r rowScanner) error {
		var h []byte
		var b blob
		err := r.Scan(&h, &b.size)
		b.d = digestFromBytes(h)
		bs = append(bs, b)
		return err
	})
	if err != nil {
		return fmt.Errorf("list blobs: %w", err)
	}
	for i, b := range bs {
		if err := copyBlob(ctx, s.blobs, dst.blobs, b.d, b.size); err != nil {
			return err
		}
		rep.Blobs++
		rep.BlobBytes += b.size
		if progress != nil {
			progress(int64(i+1), int64(len(bs)))
		}
	}
	return nil
}

func copyBlob(ctx context.Context, from, to BlobStore, d Digest, size int64) error {
	f, err := from.Open(ctx, d)
	if err != nil {
		return fmt.Errorf("copy blob %s: %w", d, err)
	}
	defer f.Close()
	if err := to.Put(ctx, d, size, f); err != nil {
		return fmt.Errorf("copy blob %s: %w", d, err)
	}
	return nil
}

// resetSequences moves PostgreSQL's identity sequences past the copied
// keys (SQLite's AUTOINCREMENT follows explicit keys by itself).
func (s *Store) resetSequences(tx *txn) error {
	if s.idx.Name() == "sqlite" {
		return nil
	}
	for _, k := range [][2]string{{"nodes", "ino"}, {"trash", "id"}, {"changes", "seq"}} {
		_, err := tx.exec(`SELECT setval(pg_get_serial_sequence('` + k[0] + `', '` + k[1] + `'),
			(SELECT coalesce(max(` + k[1] + `), 0) + 1 FROM ` + k[0] + `), false)`)
		if err != nil {
			return fmt.Errorf("reset %s.%s: %w", k[0], k[1], err)
		}
	}
	return nil
}
