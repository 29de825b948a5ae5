//go:build linux

package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// cloneTables are the catalog tables that hold a dataset's pipelines, in
// the order they are copied.
var cloneTables = []string{"cat_pipelines", "cat_scores", "cat_predictions", "cat_datasets", "cat_best"}

// cloneDeletedDatasets grows the catalog of an unmounted store to want
// datasets by copying the rows of its large datasets under new names as
// deleted pipelines (no folder, deleted_ns set): a workspace whose old
// runs were removed from runs/ and kept by the catalog, as DESIGN promises.
// Issue 13 asks for the catalog of 100 datasets x 10,000 pipelines to
// refresh in under 1 s after one new pipeline; generating 9 million files
// for it would take an hour, and the catalog's refresh reads its own
// tables, not the folders of deleted runs. Idempotent: a store that
// already has want datasets is left alone.
func cloneDeletedDatasets(ctx context.Context, store string, want int) error {
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(store, "index.db")+"?_busy_timeout=10000&_journal_mode=WAL")
	if err != nil {
		return err
	}
	defer db.Close()
	sources, have, err := cloneSources(ctx, db)
	if err != nil || have >= want {
		return err
	}
	if len(sources) == 0 {
		return fmt.Errorf("clone datasets: no dataset of 1,000 pipelines or more to copy")
	}
	start := time.Now()
	for i := 0; have < want; i, have = i+1, have+1 {
		src := sources[i%len(sources)]
		name := fmt.Sprintf("%s_old%03d", src, i)
		if err := cloneDataset(ctx, db, src, name, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("clone %s as %s: %w", src, name, err)
		}
	}
	var pipelines int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM cat_pipelines`).Scan(&pipelines); err != nil {
		return err
	}
	fmt.Printf("scale: catalog grown to %d datasets, %d pipelines (deleted copies) in %.1f s\n",
		want, pipelines, time.Since(start).Seconds())
	return nil
}

// cloneSources lists the datasets worth copying (1,000 pipelines or more)
// and how many datasets the catalog has.
func cloneSources(ctx context.Context, db *sql.DB) ([]string, int, error) {
	rows, err := db.QueryContext(ctx, `SELECT dataset, count(*) FROM cat_pipelines GROUP BY dataset ORDER BY dataset`)
	if err != nil {
		return nil, 0, fmt.Errorf("clone datasets: %w", err)
	}
	defer rows.Close()
	var sources []string
	have := 0
	for rows.Next() {
		var ds string
		var n int
		if err := rows.Scan(&ds, &n); err != nil {
			return nil, 0, err
		}
		have++
		if n >= 1000 && !strings.Contains(ds, "_old") {
			sources = append(sources, ds)
		}
	}
	return sources, have, rows.Err()
}

// cloneDataset copies dataset src's catalog rows as dataset name, in one
// transaction, and stamps its generation as src's.
func cloneDataset(ctx context.Context, db *sql.DB, src, name string, now int64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, table := range cloneTables {
		cols, err := tableColumns(ctx, tx, table)
		if err != nil {
			return err
		}
		sel := make([]string, len(cols))
		for i, c := range cols {
			switch c {
			case "dataset":
				sel[i] = "?"
			case "dir_ino":
				sel[i] = "NULL"
			case "deleted_ns":
				sel[i] = fmt.Sprint(now)
			default:
				sel[i] = c
			}
		}
		q := fmt.Sprintf(`INSERT INTO %s (%s) SELECT %s FROM %s WHERE dataset = ?`,
			table, strings.Join(cols, ", "), strings.Join(sel, ", "), table)
		if _, err := tx.ExecContext(ctx, q, name, src); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO cat_state (key, value)
		SELECT 'generation.ds/' || ?, value FROM cat_state WHERE key = 'generation.ds/' || ?`, name, src)
	if err != nil {
		return fmt.Errorf("cat_state: %w", err)
	}
	return tx.Commit()
}

func tableColumns(ctx context.Context, tx *sql.Tx, table string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("columns of %s: no such table", table)
	}
	return cols, rows.Err()
}

// cloneCatalog applies BENCH_SCALE_CATALOG_DATASETS=N to a reused store.
func cloneCatalog(ctx context.Context, store string) error {
	want, err := envInt("BENCH_SCALE_CATALOG_DATASETS", 0)
	if err != nil || want == 0 {
		return err
	}
	return cloneDeletedDatasets(ctx, store, want)
}
