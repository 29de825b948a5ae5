package importer

// Reading nirs4all's own Parquet files (FORMATS.md §3.8) by column name,
// whatever physical type each column has: the writer added and changed
// columns over time, so a fixed Go struct would reject older files.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/parquet-go/parquet-go"
)

// pqRow is one row: top-level column name → its non-null leaf values (one
// for a scalar, any number for a list).
type pqRow map[string][]parquet.Value

// readParquetRows reads every row of a Parquet file, with only the
// top-level columns named in only (all when none). A corrupt file is an
// error, never a panic.
func readParquetRows(data []byte, only ...string) (rows []pqRow, err error) {
	defer func() {
		if r := recover(); r != nil {
			rows, err = nil, fmt.Errorf("invalid Parquet file: %v", r)
		}
	}()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("invalid Parquet file: %w", err)
	}
	schema := f.Schema()
	if len(only) > 0 {
		// Read only the columns asked for: the reader then decodes no
		// other column chunk.
		g := parquet.Group{}
		for _, field := range schema.Fields() {
			if slices.Contains(only, field.Name()) {
				g[field.Name()] = field
			}
		}
		schema = parquet.NewSchema(schema.Name(), g)
	}
	cols := schema.Columns()
	r := parquet.NewReader(f, schema)
	defer r.Close()
	buf := make([]parquet.Row, 128)
	for {
		n, rerr := r.ReadRows(buf)
		for _, row := range buf[:n] {
			rows = append(rows, pqRowOf(row, cols))
		}
		if errors.Is(rerr, io.EOF) {
			return rows, nil
		}
		if rerr != nil {
			return nil, fmt.Errorf("read Parquet rows: %w", rerr)
		}
		if n == 0 {
			return rows, nil
		}
	}
}

// pqRowOf gathers a row's non-null values by top-level column. A Row
// holds each column's values together, in column order: each run is
// copied into a slice of its exact size (appending value by value was
// most of the cost of reading a predictions file).
func pqRowOf(row parquet.Row, cols [][]string) pqRow {
	out := make(pqRow, len(cols))
	for i := 0; i < len(row); {
		c := row[i].Column()
		j, n := i, 0
		for ; j < len(row) && row[j].Column() == c; j++ {
			if !row[j].IsNull() {
				n++
			}
		}
		if c >= 0 && c < len(cols) && len(cols[c]) > 0 && n > 0 {
			vals := make([]parquet.Value, 0, n)
			for _, v := range row[i:j] {
				if !v.IsNull() {
					vals = append(vals, v.Clone())
				}
			}
			name := cols[c][0]
			out[name] = append(out[name], vals...)
		}
		i = j
	}
	return out
}

// str reads a column as text ("" when absent or null).
func (r pqRow) str(name string) string {
	vs := r[name]
	if len(vs) == 0 {
		return ""
	}
	return pqString(vs[0])
}

func pqString(v parquet.Value) string {
	switch v.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	case parquet.Boolean:
		return strconv.FormatBool(v.Boolean())
	}
	if f, ok := pqFloat(v); ok {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return v.String()
}

// pqFloat reads a numeric value.
func pqFloat(v parquet.Value) (float64, bool) {
	switch v.Kind() {
	case parquet.Int32:
		return float64(v.Int32()), true
	case parquet.Int64:
		return float64(v.Int64()), true
	case parquet.Float:
		return float64(v.Float()), true
	case parquet.Double:
		return v.Double(), true
	case parquet.ByteArray:
		f, err := strconv.ParseFloat(string(v.ByteArray()), 64)
		return f, err == nil
	}
	return 0, false
}

// num reads a scalar numeric column; ok is false when absent or null.
func (r pqRow) num(name string) (float64, bool) {
	vs := r[name]
	if len(vs) == 0 {
		return 0, false
	}
	return pqFloat(vs[0])
}

// floats reads a list column of numbers.
func (r pqRow) floats(name string) []float64 {
	vs := r[name]
	out := make([]float64, 0, len(vs))
	for _, v := range vs {
		if f, ok := pqFloat(v); ok {
			out = append(out, f)
		}
	}
	return out
}
