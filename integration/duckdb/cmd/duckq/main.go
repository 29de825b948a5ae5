// Command duckq runs one SQL query with DuckDB and prints how long it took,
// for the catalog benchmark of `make bench` (integration/bench): DuckDB is
// large and cgo, so it lives in this module and n4ws never links it.
//
//	duckq [-dir DIR] [-n RUNS] SQL
//
// Relative file names in SQL resolve in DIR (DuckDB's file_search_path), as
// for a user who typed the query in that folder. The query runs once to
// warm up, then RUNS timed times; each run reads every result row. duckq
// prints one JSON line: {"rows", "first_ms", "best_ms", "median_ms",
// "runs", "result"} where result holds the first rows as text.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" driver
)

// report is what duckq prints; integration/bench decodes the same names.
type report struct {
	Rows     int        `json:"rows"`
	FirstMs  float64    `json:"first_ms"`  // the warm-up run: file metadata not yet read
	BestMs   float64    `json:"best_ms"`   // fastest timed run
	MedianMs float64    `json:"median_ms"` // median timed run
	Runs     int        `json:"runs"`
	Result   [][]string `json:"result"` // at most maxResultRows rows
}

const maxResultRows = 100

func main() {
	dir := flag.String("dir", "", "folder that relative file names in the query resolve in")
	runs := flag.Int("n", 5, "timed runs after the warm-up run")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: duckq [-dir DIR] [-n RUNS] SQL")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *runs < 1 {
		flag.Usage()
		os.Exit(2)
	}
	r, err := run(context.Background(), *dir, flag.Arg(0), *runs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "duckq:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "duckq:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir, query string, runs int) (report, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return report{}, err
	}
	defer db.Close()
	// One connection: file_search_path is a per-connection setting.
	db.SetMaxOpenConns(1)
	if dir != "" {
		if _, err := db.ExecContext(ctx, "SET file_search_path = '"+strings.ReplaceAll(dir, "'", "''")+"'"); err != nil {
			return report{}, fmt.Errorf("set file_search_path: %w", err)
		}
	}
	var r report
	var times []float64
	for i := 0; i <= runs; i++ {
		start := time.Now()
		rows, err := queryAll(ctx, db, query)
		ms := time.Since(start).Seconds() * 1000
		if err != nil {
			return report{}, err
		}
		if i == 0 {
			r.FirstMs, r.Rows = ms, len(rows)
			r.Result = rows[:min(len(rows), maxResultRows)]
			continue
		}
		if len(rows) != r.Rows {
			return report{}, fmt.Errorf("run %d returned %d rows, the first %d", i, len(rows), r.Rows)
		}
		times = append(times, ms)
	}
	slices.Sort(times)
	r.BestMs, r.MedianMs, r.Runs = times[0], times[len(times)/2], len(times)
	return r, nil
}

// queryAll runs query and returns every row, each value as text ("NULL"
// for NULL).
func queryAll(ctx context.Context, db *sql.DB, query string) ([][]string, error) {
	rs, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]string
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			if v == nil {
				row[i] = "NULL"
			} else {
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	return out, rs.Err()
}
