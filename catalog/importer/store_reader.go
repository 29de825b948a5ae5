package importer

// Reading store.sqlite's rows: once (an import), or snapshot after
// snapshot (the live projection), where only the rows that changed since
// the last snapshot are read again. A long nirs4all run holds thousands
// of pipelines and tens of thousands of prediction rows; reading them all
// into Go at every pass made each pass cost in proportion to the run so
// far (docs/PERFORMANCE.md, "A long run"). SQLite compares the new
// snapshot with the last one itself (ATTACH, a join on rowid comparing
// every column), so a pass reads in Go only what nirs4all wrote since.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// storeTables are the tables a projection reads, pipelines first (a
// database without it is not a nirs4all store).
var storeTables = []string{"pipelines", "runs", "chains", "predictions", "artifacts"}

// rowDigestKey holds, in a dbRow read by a rowCache, the digest of the
// row's columns (rowHasher.digest): a fingerprint hashes it instead of the
// columns. SQLite column names cannot hold a NUL byte, so it never
// collides with a column; rowMap and the row hasher skip it.
const rowDigestKey = "\x00digest"

// rowCache holds the rows of storeTables as last read, by rowid.
type rowCache struct {
	tables map[string]*tableRows
}

type tableRows struct {
	cols  []column        // the columns the rows were read with
	rows  map[int64]dbRow // rowid →
	order []int64         // rowids ascending; nil when to be sorted again
	exact bool            // rows are keyed by real rowids (false: a table without rowid, read whole every time)

	scanned int // rows read at the last reading
}

// read brings the cache in step with db's main database. With diff, db
// also has the database the cache was last read from attached as "old",
// and a table whose columns did not change is read only where its rows
// differ from old's. It returns the store's user_version.
func (c *rowCache) read(ctx context.Context, db *sql.Conn, diff bool) (int64, error) {
	var version int64
	if err := db.QueryRowContext(ctx, "PRAGMA main.user_version").Scan(&version); err != nil {
		return 0, fmt.Errorf("%w: not an SQLite database (%v)", ErrNotWorkspace, err)
	}
	if c.tables == nil {
		c.tables = map[string]*tableRows{}
	}
	for _, name := range storeTables {
		cols, err := tableColumns(ctx, db, "main", name)
		if err != nil {
			return 0, err
		}
		if len(cols) == 0 {
			if name == "pipelines" {
				return 0, fmt.Errorf("%w: no pipelines table: not a nirs4all store (schema v5)", ErrNotWorkspace)
			}
			c.tables[name] = &tableRows{rows: map[int64]dbRow{}, exact: true}
			continue
		}
		// The cache holds what was read from old (StoreReader.Load forgets
		// it on any failure), so old's columns are t.cols: a table whose
		// columns are main's can be compared row by row.
		t := c.tables[name]
		incremental := diff && t != nil && t.exact && slices.Equal(t.cols, cols)
		if !incremental {
			t = &tableRows{cols: cols, rows: map[int64]dbRow{}, exact: true}
			c.tables[name] = t
		}
		if err := t.readRows(ctx, db, name, incremental); err != nil {
			return 0, fmt.Errorf("table %s: %w", name, err)
		}
	}
	return version, nil
}

// column is a table's column: its name and declared type.
type column struct{ name, decl string }

// tableColumns lists a table's columns in order (none: no such table).
func tableColumns(ctx context.Context, db *sql.Conn, schema, table string) ([]column, error) {
	rows, err := db.QueryContext(ctx, "SELECT name, type FROM pragma_table_info(?, ?)", table, schema)
	if err != nil {
		return nil, fmt.Errorf("columns of %s.%s: %w", schema, table, err)
	}
	defer rows.Close()
	var cols []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.decl); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// readRows reads the table's rows: all of them, or, incremental, those
// that are new or differ from old's row of the same rowid in a column,
// and drops the rows old had and main has not.
func (t *tableRows) readRows(ctx context.Context, db *sql.Conn, name string, incremental bool) error {
	t.scanned = 0
	q := quoteIdent(name)
	query := "SELECT rowid, * FROM main." + q
	if incremental {
		same := make([]string, len(t.cols))
		for i, c := range t.cols {
			same[i] = c.sameIn("o", "n")
		}
		query = "SELECT n.rowid, n.* FROM main." + q + " AS n LEFT JOIN old." + q + " AS o ON o.rowid = n.rowid" +
			" WHERE o.rowid IS NULL OR NOT (" + strings.Join(same, " AND ") + ")"
	}
	err := t.scan(ctx, db, query, name)
	if err != nil && !incremental && strings.Contains(err.Error(), "no such column: rowid") {
		// A WITHOUT ROWID table: read whole, every time, in its own order.
		t.exact = false
		return t.scan(ctx, db, "SELECT 0, * FROM main."+q, name)
	}
	if err != nil || !incremental {
		return err
	}
	gone, err := db.QueryContext(ctx, "SELECT o.rowid FROM old."+q+" AS o WHERE NOT EXISTS (SELECT 1 FROM main."+q+" AS n WHERE n.rowid = o.rowid)")
	if err != nil {
		return err
	}
	defer gone.Close()
	for gone.Next() {
		var id int64
		if err := gone.Scan(&id); err != nil {
			return err
		}
		delete(t.rows, id)
		t.order = nil
	}
	return gone.Err()
}

// scan stores the rows of query (rowid, then the table's columns), each
// with its digest; the pipelines table's rows also carry their rowid as
// n4ws_rowid (creation order breaks created_at's ties with it).
func (t *tableRows) scan(ctx context.Context, db *sql.Conn, query, table string) error {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	if len(cols) != len(t.cols)+1 {
		return fmt.Errorf("read %d columns, want %d", len(cols)-1, len(t.cols))
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	h := newRowHasher()
	var n int64
	for rows.Next() {
		clear(vals)
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		rowid, _ := vals[0].(int64)
		if !t.exact {
			n++
			rowid = n
		}
		r := make(dbRow, len(t.cols)+2)
		for i, c := range t.cols {
			v := vals[i+1]
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			r[c.name] = v
		}
		if table == "pipelines" {
			r["n4ws_rowid"] = rowid
		}
		r[rowDigestKey] = h.digest(table, r)
		t.scanned++
		if _, had := t.rows[rowid]; !had {
			t.order = nil
		}
		t.rows[rowid] = r
	}
	return rows.Err()
}

// inOrder lists the table's rows by ascending rowid.
func (t *tableRows) inOrder() []dbRow {
	if t.order == nil {
		t.order = make([]int64, 0, len(t.rows))
		for id := range t.rows {
			t.order = append(t.order, id)
		}
		slices.Sort(t.order)
	}
	out := make([]dbRow, len(t.order))
	for i, id := range t.order {
		out[i] = t.rows[id]
	}
	return out
}

// data gives the rows in the shape the projection reads them.
func (c *rowCache) data(version int64) *storeData {
	d := &storeData{Version: version, Runs: map[string]dbRow{}, Chains: map[string][]dbRow{}, Preds: map[string][]dbRow{}, Artifacts: map[string]dbRow{}}
	pipes := c.tables["pipelines"].inOrder()
	// created_at has one-second resolution: insertion order (rowid, the
	// order inOrder gives) breaks ties.
	sort.SliceStable(pipes, func(i, j int) bool { return pipes[i].str("created_at") < pipes[j].str("created_at") })
	d.Pipelines = pipes
	for _, tb := range []struct {
		name, key string
		add       func(k string, r dbRow)
	}{
		{"runs", "run_id", func(k string, r dbRow) { d.Runs[k] = r }},
		{"chains", "pipeline_id", func(k string, r dbRow) { d.Chains[k] = append(d.Chains[k], r) }},
		{"predictions", "pipeline_id", func(k string, r dbRow) { d.Preds[k] = append(d.Preds[k], r) }},
		{"artifacts", "artifact_id", func(k string, r dbRow) { d.Artifacts[k] = r }},
	} {
		for _, r := range c.tables[tb.name].inOrder() {
			tb.add(r.str(tb.key), r)
		}
	}
	return d
}

// openConn opens one connection (ATTACH holds for one): SQLite reads the
// file's header there, so a file that is no database fails here.
func openConn(ctx context.Context, db *sql.DB) (*sql.Conn, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: not an SQLite database (%v)", ErrNotWorkspace, err)
	}
	return conn, nil
}

// sameIn is the SQL condition that column c holds the same value in rows
// a and b: bytewise for text (whatever the column's collation) and, in a
// column without affinity, of the same type (1 and 1.0 compare equal in
// SQL but decode apart). A column with a type converts what it stores
// (INTEGER, NUMERIC: 1.0 to 1; REAL: 1 to 1.0; TEXT: numbers to text), so
// equal values there are of one type, and checking it would triple the
// comparison's cost. (0.0 and -0.0 compare equal: such a change goes
// unseen until the row changes otherwise.)
func (c column) sameIn(a, b string) string {
	n := quoteIdent(c.name)
	cond := fmt.Sprintf("%s.%s IS %s.%s COLLATE BINARY", a, n, b, n)
	if c.affinity() == "BLOB" {
		cond += fmt.Sprintf(" AND typeof(%s.%s) = typeof(%s.%s)", a, n, b, n)
	}
	return cond
}

// affinity is the column's type affinity, by SQLite's rules
// (https://sqlite.org/datatype3.html, 3.1).
func (c column) affinity() string {
	d := strings.ToUpper(c.decl)
	switch {
	case strings.Contains(d, "INT"):
		return "INTEGER"
	case strings.Contains(d, "CHAR"), strings.Contains(d, "CLOB"), strings.Contains(d, "TEXT"):
		return "TEXT"
	case d == "", strings.Contains(d, "BLOB"):
		return "BLOB"
	case strings.Contains(d, "REAL"), strings.Contains(d, "FLOA"), strings.Contains(d, "DOUB"):
		return "REAL"
	}
	return "NUMERIC"
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// loadStore reads every row of db (a one-off reading: an import).
func loadStore(db *sql.DB) (*storeData, error) {
	ctx := context.Background()
	conn, err := openConn(ctx, db)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var c rowCache
	v, err := c.read(ctx, conn, false)
	if err != nil {
		return nil, err
	}
	return c.data(v), nil
}

// StoreReader reads successive snapshots of one store.sqlite, reading
// again only the rows that changed since the snapshot before (see the
// top of this file). It keeps the last snapshot, to compare the next
// with, in a private folder. Not safe for concurrent use.
type StoreReader struct {
	dir   string
	cache rowCache
	have  bool // last.sqlite holds what cache was read from
	// chains memoizes Snapshot.chainStrings by chain row digest across
	// snapshots (JSON decoding of every chain at every pass otherwise).
	chains map[[sha256.Size]byte][]string
}

// NewStoreReader makes a reader and its folder (in the temp dir).
func NewStoreReader() (*StoreReader, error) {
	dir, err := os.MkdirTemp("", "n4ws-store-reader-")
	if err != nil {
		return nil, err
	}
	return &StoreReader{dir: dir}, nil
}

// NextPath is where the next snapshot is to be written (a file that does
// not exist) before Load reads it.
func (r *StoreReader) NextPath() (string, error) {
	p := filepath.Join(r.dir, "next.sqlite")
	for _, suf := range []string{"", "-journal"} {
		if err := os.Remove(p + suf); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return p, nil
}

// Load reads the snapshot written at NextPath (arrays/ and artifacts/
// from src), and keeps it to compare the next one with. On an error the
// reader forgets what it held: the next Load reads everything.
func (r *StoreReader) Load(ctx context.Context, src fs.FS) (*Snapshot, error) {
	next := filepath.Join(r.dir, "next.sqlite")
	last := filepath.Join(r.dir, "last.sqlite")
	d, err := r.read(ctx, next, last)
	if err == nil {
		err = os.Rename(next, last)
	}
	if err != nil {
		r.cache, r.have = rowCache{}, false
		os.Remove(last)
		return nil, fmt.Errorf("store.sqlite: %w", err)
	}
	r.have = true
	s := newSnapshot(d, src)
	s.chainStrs = r.chainMemo()
	return s, nil
}

func (r *StoreReader) read(ctx context.Context, next, last string) (*storeData, error) {
	db, err := sql.Open("sqlite3", "file:"+next+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	conn, err := openConn(ctx, db)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if r.have {
		if _, err := conn.ExecContext(ctx, "ATTACH DATABASE ? AS old", "file:"+last+"?mode=ro"); err != nil {
			return nil, fmt.Errorf("attach the last snapshot: %w", err)
		}
	}
	v, err := r.cache.read(ctx, conn, r.have)
	if err != nil {
		return nil, err
	}
	return r.cache.data(v), nil
}

// chainMemo hands the snapshot the memo of chain strings, keeping only
// the chains that are still in the store.
func (r *StoreReader) chainMemo() map[[sha256.Size]byte][]string {
	kept := map[[sha256.Size]byte][]string{}
	for _, ch := range r.cache.tables["chains"].rows {
		if d, ok := ch[rowDigestKey].([sha256.Size]byte); ok {
			if strs, ok := r.chains[d]; ok {
				kept[d] = strs
			}
		}
	}
	r.chains = kept
	return kept
}

// RowsRead is how many rows the last Load read into Go: all of them the
// first time, then only those new or changed since the snapshot before.
func (r *StoreReader) RowsRead() int {
	n := 0
	for _, t := range r.cache.tables {
		n += t.scanned
	}
	return n
}

// Close removes the reader's folder.
func (r *StoreReader) Close() error { return os.RemoveAll(r.dir) }
