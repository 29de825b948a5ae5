package importer

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// readerFixture is a live store.sqlite that a test changes as nirs4all
// would, and a StoreReader that reads snapshots of it.
type readerFixture struct {
	t         *testing.T
	dir, live string
	db        *sql.DB
	r         *StoreReader
}

func newReaderFixture(t *testing.T) *readerFixture {
	f := &readerFixture{t: t, dir: t.TempDir()}
	f.live = filepath.Join(f.dir, "store.sqlite")
	var err error
	if f.db, err = sql.Open("sqlite3", "file:"+f.live); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	if f.r, err = NewStoreReader(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.r.Close() })
	return f
}

// exec changes the live store.
func (f *readerFixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.Exec(q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

// load takes a snapshot of the live store and has the reader load it.
func (f *readerFixture) load() (*Snapshot, error) {
	f.t.Helper()
	next, err := f.r.NextPath()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := BackupStore(context.Background(), f.live, next); err != nil {
		f.t.Fatal(err)
	}
	return f.r.Load(context.Background(), os.DirFS(f.dir))
}

// TestStoreReaderReadsOnlyChanges: snapshot after snapshot of a store
// that changes in every way SQLite allows (rows added; updated, also to a
// value SQL calls equal but of another type, or of another case in a
// column that ignores case; deleted; a column added; a table dropped and
// made again; VACUUM), a StoreReader gives exactly what a full reading of
// the same snapshot gives, while reading again only the rows that changed.
func TestStoreReaderReadsOnlyChanges(t *testing.T) {
	f := newReaderFixture(t)
	exec := f.exec
	exec(`PRAGMA user_version = 5`)
	exec(`CREATE TABLE runs (run_id TEXT PRIMARY KEY, name TEXT COLLATE NOCASE, status TEXT)`)
	exec(`CREATE TABLE pipelines (pipeline_id TEXT PRIMARY KEY, run_id TEXT, name TEXT, dataset_name TEXT, status TEXT, created_at TEXT, best_val)`)
	exec(`CREATE TABLE chains (chain_id TEXT PRIMARY KEY, pipeline_id TEXT, steps TEXT)`)
	exec(`CREATE TABLE predictions (prediction_id TEXT PRIMARY KEY, pipeline_id TEXT, fold_id TEXT, val_score REAL)`)
	exec(`CREATE TABLE artifacts (artifact_id TEXT PRIMARY KEY, artifact_path TEXT, ref_count INTEGER)`)
	exec(`INSERT INTO runs VALUES ('r1', 'run', 'running')`)
	for i, id := range []string{"p1", "p2", "p3"} {
		exec(`INSERT INTO pipelines VALUES (?, 'r1', ?, 'wheat', 'completed', '2026-11-29 10:00:00', 1)`, id, "cfg_"+id)
		exec(`INSERT INTO chains VALUES (?, ?, '[{"artifact_ids": ["a1"]}]')`, "c"+id, id)
		for fold := range 3 {
			exec(`INSERT INTO predictions VALUES (?, ?, ?, ?)`, id+"-"+string(rune('0'+fold)), id, string(rune('0'+fold)), float64(i)+0.5)
		}
	}
	exec(`INSERT INTO artifacts VALUES ('a1', 'ab/x.joblib', 1)`)

	r := f.r
	// step takes a snapshot, loads it, and checks it against a full reading
	// of the same file and the rows read per table.
	step := func(name string, wantRead map[string]int) {
		t.Helper()
		snap, err := f.load()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		full, err := ReadStoreFile(filepath.Join(r.dir, "last.sqlite"))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(snap.d, full) {
			t.Errorf("%s: incremental reading\n%v\ndiffers from a full reading\n%v", name, snap.d, full)
		}
		for table, n := range wantRead {
			if got := r.cache.tables[table].scanned; got != n {
				t.Errorf("%s: %d rows of %s read again, want %d", name, got, table, n)
			}
		}
	}
	step("first", map[string]int{"pipelines": 3, "predictions": 9, "chains": 3, "artifacts": 1, "runs": 1})
	step("unchanged", map[string]int{"pipelines": 0, "predictions": 0, "chains": 0, "artifacts": 0, "runs": 0})

	exec(`INSERT INTO pipelines VALUES ('p4', 'r1', 'cfg_p4', 'wheat', 'running', '2026-11-29 10:00:00', NULL)`)
	exec(`INSERT INTO predictions VALUES ('p4-0', 'p4', '0', 0.25)`)
	exec(`UPDATE artifacts SET ref_count = 2`)
	step("added", map[string]int{"pipelines": 1, "predictions": 1, "chains": 0, "artifacts": 1, "runs": 0})

	exec(`UPDATE pipelines SET best_val = 1.0 WHERE pipeline_id = 'p1'`) // 1 IS 1.0 in SQL, another type in Go
	exec(`UPDATE runs SET status = 'completed'`)
	exec(`DELETE FROM predictions WHERE pipeline_id = 'p2'`)
	step("updated and deleted", map[string]int{"pipelines": 1, "predictions": 0, "runs": 1})
	if v := r.cache.tables["pipelines"].rows[1]["best_val"]; v != 1.0 {
		t.Errorf("p1's best_val read %#v, want the float 1", v)
	}

	exec(`UPDATE runs SET name = 'RUN'`) // equal to 'run' in its column's collation
	step("case changed", map[string]int{"runs": 1, "pipelines": 0})

	exec(`ALTER TABLE predictions ADD COLUMN partition TEXT`)
	step("column added", map[string]int{"predictions": 7, "pipelines": 0})

	exec(`DROP TABLE artifacts`)
	step("table dropped", map[string]int{"artifacts": 0})
	exec(`CREATE TABLE artifacts (artifact_id TEXT PRIMARY KEY, artifact_path TEXT, ref_count INTEGER)`)
	exec(`INSERT INTO artifacts VALUES ('a1', 'ab/y.joblib', 1)`)
	step("table made again", map[string]int{"artifacts": 1})

	exec(`DELETE FROM pipelines WHERE pipeline_id = 'p2'`)
	exec(`VACUUM`) // renumbers the rowids of tables without an INTEGER PRIMARY KEY
	step("vacuumed", nil)
	step("unchanged after vacuum", map[string]int{"pipelines": 0, "predictions": 0, "chains": 0})
}

// TestStoreReaderStartsOverAfterAFailure: a snapshot that cannot be read
// leaves the reader reading the next one whole, not against a stale copy.
func TestStoreReaderStartsOverAfterAFailure(t *testing.T) {
	f := newReaderFixture(t)
	f.exec(`CREATE TABLE pipelines (pipeline_id TEXT PRIMARY KEY, name TEXT, created_at TEXT)`)
	f.exec(`INSERT INTO pipelines VALUES ('p1', 'a', '1')`)
	if _, err := f.load(); err != nil {
		t.Fatal(err)
	}
	next, _ := f.r.NextPath()
	if err := os.WriteFile(next, []byte("not a database, not even its header"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := f.r.Load(context.Background(), os.DirFS(f.dir)); err == nil {
		t.Fatal("a file that is no database loaded")
	}
	f.exec(`INSERT INTO pipelines VALUES ('p2', 'b', '2')`)
	snap, err := f.load()
	if err != nil {
		t.Fatal(err)
	}
	if got, read := len(snap.Pipelines()), f.r.cache.tables["pipelines"].scanned; got != 2 || read != 2 {
		t.Errorf("after a failure: %d pipelines, %d rows read; want 2 and 2 (read whole)", got, read)
	}
}
