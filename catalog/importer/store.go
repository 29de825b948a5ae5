package importer

// Import of a current nirs4all store (FORMATS.md §6): <ws>/store.sqlite
// (schema v5), <ws>/arrays/<ds>.parquet and <ws>/artifacts/<aa>/<sha>.<ext>,
// mapped to the tree of the folder eras: runs/<ds>/NNNN_<name>/ numbered by
// created_at, pipeline.json = expanded_config, a manifest.yaml built from
// the pipelines, chains and artifacts tables, metrics.json and
// predictions.csv from predictions ⋈ arrays, binaries in runs/<ds>/_binaries/.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"github.com/n4ws/n4ws/catalog"
)

// dbRow is one table row: column → value (text for TEXT and BLOB).
type dbRow map[string]any

// str reads a column as text ("" when absent or NULL).
func (r dbRow) str(k string) string {
	switch v := r[k].(type) {
	case nil:
		return ""
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// storeData is what the import reads from store.sqlite.
type storeData struct {
	Version   int64
	Runs      map[string]dbRow // run_id →
	Pipelines []dbRow          // sorted by created_at, then rowid
	Chains    map[string][]dbRow
	Preds     map[string][]dbRow // pipeline_id →
	Artifacts map[string]dbRow   // artifact_id →
}

// planOtherLayout routes the layouts that are not folder workspaces: a
// nirs4all store (store.sqlite, even beside a runs/ folder, as at the root
// of an n4ws mount; store.duckdb is refused) and era 0 (results/). ok is
// false for a folder workspace with runs/, left to scanWorkspace.
func planOtherLayout(ctx context.Context, src fs.FS, t catalog.Tree, only string) (*Plan, bool, error) {
	if isFile(src, "store.sqlite") {
		p, err := planStoreImport(ctx, src, t, only)
		return p, true, err
	}
	if isDir(src, "runs") {
		return nil, false, nil
	}
	switch {
	case isFile(src, "store.duckdb"):
		return nil, true, fmt.Errorf("%w that n4ws can read: store.duckdb is the DuckDB store of nirs4all 0.7–0.10 (FORMATS §0 era D), which n4ws does not read; open the workspace once with nirs4all ≥ 0.11 (it migrates store.duckdb to store.sqlite), then import it", ErrNotWorkspace)
	case isDir(src, "results"):
		p, err := planEra0Import(ctx, src, t, only)
		return p, true, err
	}
	return nil, false, nil
}

func isDir(src fs.FS, name string) bool {
	st, err := fs.Stat(src, name)
	return err == nil && st.IsDir()
}

func isFile(src fs.FS, name string) bool {
	st, err := fs.Stat(src, name)
	return err == nil && st.Mode().IsRegular()
}

// readStore reads a consistent snapshot of store.sqlite (SnapshotStore)
// when the workspace is a folder of this machine (OSDir); any other fs.FS
// (tests) is copied out, -wal included, which is safe only when nothing
// writes it. The workspace itself is never opened for writing.
func readStore(ctx context.Context, src fs.FS) (*storeData, error) {
	if d, ok := src.(OSDirFS); ok {
		snap, cleanup, err := SnapshotStore(ctx, filepath.Join(d.Root, "store.sqlite"))
		if err != nil {
			return nil, err
		}
		defer cleanup()
		return ReadStoreFile(snap)
	}
	tmp, err := os.MkdirTemp("", "n4ws-import-store-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	db0 := filepath.Join(tmp, "store.sqlite")
	for _, suf := range []string{"", "-wal"} {
		err := copyOut(src, "store.sqlite"+suf, db0+suf)
		if errors.Is(err, fs.ErrNotExist) && suf != "" {
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	db, err := sql.Open("sqlite3", "file:"+db0)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return loadStore(db)
}

// OSDirFS is a workspace folder of this machine: os.DirFS(Root), whose
// store.sqlite can be opened by path with SQLite's own locking.
type OSDirFS struct {
	fs.FS
	Root string
}

// OSDir returns the workspace folder root as an fs.FS that readStore can
// snapshot with SQLite's backup API.
func OSDir(root string) OSDirFS { return OSDirFS{FS: os.DirFS(root), Root: root} }

// copyOut streams the workspace file name to the local file dst.
func copyOut(src fs.FS, name, dst string) error {
	in, err := src.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
