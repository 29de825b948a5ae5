// Command parquetw is the Parquet half of the nirs4all stand-in: Python
// here has no pyarrow, so standin.py calls it to do what nirs4all's
// ArrayStore.save_batch does with pyarrow (array_store.py at 16c8f070):
// read the whole arrays/<ds>.parquet, append the new records, and write
// the result (zstd) to the path it is given, <ds>.parquet.tmp. The caller
// holds the flock on arrays/.lock and does the os.replace.
//
//	parquetw -in arrays/ds.parquet -out arrays/ds.parquet.tmp [-drop id,id] < records.json
//
// records.json is a JSON array of objects with the columns below; a
// missing -in file is an empty table.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// arraysRow is nirs4all's _PARQUET_SCHEMA, column for column (nullable
// columns are optional; lists are Arrow's 3-level LIST).
type arraysRow struct {
	PredictionID   string    `parquet:"prediction_id,optional" json:"prediction_id"`
	DatasetName    string    `parquet:"dataset_name,optional" json:"dataset_name"`
	ModelName      string    `parquet:"model_name,optional" json:"model_name"`
	FoldID         string    `parquet:"fold_id,optional" json:"fold_id"`
	Partition      string    `parquet:"partition,optional" json:"partition"`
	Metric         string    `parquet:"metric,optional" json:"metric"`
	ValScore       *float64  `parquet:"val_score,optional" json:"val_score"`
	TaskType       string    `parquet:"task_type,optional" json:"task_type"`
	YTrue          []float64 `parquet:"y_true,list,optional" json:"y_true"`
	YPred          []float64 `parquet:"y_pred,list,optional" json:"y_pred"`
	YProba         []float64 `parquet:"y_proba,list,optional" json:"y_proba"`
	YProbaShape    []int32   `parquet:"y_proba_shape,list,optional" json:"y_proba_shape"`
	X              []float64 `parquet:"X,list,optional" json:"X"`
	XShape         []int32   `parquet:"X_shape,list,optional" json:"X_shape"`
	Spectra        []float64 `parquet:"spectra,list,optional" json:"spectra"`
	SpectraShape   []int32   `parquet:"spectra_shape,list,optional" json:"spectra_shape"`
	SampleIndices  []int32   `parquet:"sample_indices,list,optional" json:"sample_indices"`
	Weights        []float64 `parquet:"weights,list,optional" json:"weights"`
	SampleMetadata *string   `parquet:"sample_metadata,optional" json:"sample_metadata"`
	ResultMetadata *string   `parquet:"result_metadata,optional" json:"result_metadata"`
}

func main() {
	in := flag.String("in", "", "existing Parquet file (may be missing)")
	out := flag.String("out", "", "file to write")
	drop := flag.String("drop", "", "comma-separated prediction_ids to leave out (compaction)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "parquetw: -out is required")
		os.Exit(2)
	}
	if err := run(*in, *out, *drop, os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "parquetw:", err)
		os.Exit(1)
	}
}

func run(in, out, drop string, records io.Reader) error {
	var rows []arraysRow
	if in != "" {
		old, err := readRows(in)
		if err != nil {
			return err
		}
		rows = old
	}
	if drop != "" {
		gone := map[string]bool{}
		for _, id := range strings.Split(drop, ",") {
			gone[id] = true
		}
		kept := rows[:0]
		for _, r := range rows {
			if !gone[r.PredictionID] {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	var add []arraysRow
	if err := json.NewDecoder(records).Decode(&add); err != nil {
		return fmt.Errorf("decode records: %w", err)
	}
	rows = append(rows, add...)
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	w := parquet.NewGenericWriter[arraysRow](f, parquet.Compression(&parquet.Zstd))
	if _, err := w.Write(rows); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := w.Close(); err != nil {
		f.Close()
		return fmt.Errorf("close writer %s: %w", out, err)
	}
	return f.Close()
}

// readRows reads the whole existing file, as pyarrow's read_table does.
func readRows(name string) ([]arraysRow, error) {
	f, err := os.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	r := parquet.NewGenericReader[arraysRow](pf)
	defer r.Close()
	rows := make([]arraysRow, pf.NumRows())
	n, err := r.Read(rows)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return rows[:n], nil
}
