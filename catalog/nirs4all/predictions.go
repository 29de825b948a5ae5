package nirs4all

// predictions.csv (FORMATS.md §00): the design's y_true,y_pred,partition,
// sample_id file, and the real nirs4all best CSVs (y_pred,y_true, no
// partition, §3.6), whose rows count as test. Everything the catalog later
// renders comes from these numbers, so a row that is not two finite numbers
// fails the file rather than being dropped silently.

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

const PredictionsFile = "predictions.csv"

// predColumns holds the column index of each recognised header name, -1
// when the header lacks it.
type predColumns struct {
	yTrue, yPred, partition, sampleID, fold, weight int
}

// ParsePredictions reads predictions.csv into one Prediction per partition
// present, in the order train, val, test. The header needs y_true and
// y_pred (any order and case); partition, sample_id, fold and weight (or
// weights) are optional and other columns are ignored. A row with an empty
// or missing partition is test. maxRows bounds the data rows (0 or less:
// no bound), so that a huge file cannot exhaust memory. Errors are
// *ParseError and name the row (1-based, header excluded) and file line.
func ParsePredictions(data []byte, maxRows int) ([]Prediction, error) {
	preds, err := parsePredictions(data, maxRows)
	if err != nil {
		return nil, &ParseError{File: PredictionsFile, Reason: err.Error()}
	}
	return preds, nil
}

func parsePredictions(data []byte, maxRows int) ([]Prediction, error) {
	r := newCSVReader(data)
	header, err := r.Read()
	if err == io.EOF {
		return nil, errors.New("no prediction rows")
	}
	if err != nil {
		return nil, csvError(err)
	}
	cols, err := predictionColumns(header)
	if err != nil {
		return nil, err
	}
	byPart := map[string]*Prediction{}
	for row := 0; ; row++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		if maxRows > 0 && row >= maxRows {
			return nil, fmt.Errorf("more than %d rows", maxRows)
		}
		if err := addPredictionRow(byPart, cols, rec, row); err != nil {
			line, _ := r.FieldPos(0)
			return nil, fmt.Errorf("row %d (line %d): %w", row+1, line, err)
		}
	}
	if len(byPart) == 0 {
		return nil, errors.New("no prediction rows")
	}
	out := make([]Prediction, 0, len(byPart))
	for _, part := range Partitions {
		if p := byPart[part]; p != nil {
			out = append(out, *p)
		}
	}
	return out, nil
}

// predictionColumns finds the recognised columns of the header. A name
// given twice is an error: either copy could be the one the writer meant.
func predictionColumns(header []string) (predColumns, error) {
	c := predColumns{-1, -1, -1, -1, -1, -1}
	slots := map[string]*int{"y_true": &c.yTrue, "y_pred": &c.yPred, "partition": &c.partition,
		"sample_id": &c.sampleID, "fold": &c.fold, "weight": &c.weight, "weights": &c.weight}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		slot := slots[name]
		if slot == nil {
			continue
		}
		if *slot >= 0 {
			return c, fmt.Errorf("header: column %q appears twice", name)
		}
		*slot = i
	}
	for _, need := range []struct {
		name string
		idx  int
	}{{"y_true", c.yTrue}, {"y_pred", c.yPred}} {
		if need.idx < 0 {
			return c, fmt.Errorf("header has no %s column (header: %s)", need.name,
				quoteCell(strings.Join(header, ",")))
		}
	}
	return c, nil
}

// addPredictionRow appends one data row (0-based index row) to its
// partition's Prediction. Optional slices stay nil when their column is
// absent, as the Prediction doc promises.
func addPredictionRow(byPart map[string]*Prediction, c predColumns, rec []string, row int) error {
	if need := max(c.yTrue, c.yPred) + 1; len(rec) < need {
		return fmt.Errorf("%d fields, y_true and y_pred need %d", len(rec), need)
	}
	yTrue, err := finiteCell(rec, c.yTrue, "y_true")
	if err != nil {
		return err
	}
	yPred, err := finiteCell(rec, c.yPred, "y_pred")
	if err != nil {
		return err
	}
	part, err := partitionCell(cellAt(rec, c.partition))
	if err != nil {
		return err
	}
	var weight float64
	if c.weight >= 0 {
		if weight, err = finiteCell(rec, c.weight, "weight"); err != nil {
			return err
		}
	}
	p := byPart[part]
	if p == nil {
		p = &Prediction{Partition: part}
		byPart[part] = p
	}
	p.YTrue = append(p.YTrue, yTrue)
	p.YPred = append(p.YPred, yPred)
	p.SampleIndices = append(p.SampleIndices, int64(row))
	if c.sampleID >= 0 {
		p.SampleIDs = append(p.SampleIDs, cellAt(rec, c.sampleID))
	}
	if c.fold >= 0 {
		p.Folds = append(p.Folds, cellAt(rec, c.fold))
	}
	if c.weight >= 0 {
		p.Weights = append(p.Weights, weight)
	}
	return nil
}

// partitionCell normalises a partition cell. Unknown values are errors, not
// test rows: a typo must not move training rows into the scored partition.
func partitionCell(s string) (string, error) {
	switch p := strings.ToLower(s); p {
	case "":
		return "test", nil
	case "train", "val", "test":
		return p, nil
	default:
		return "", fmt.Errorf("partition %s is not train, val or test", quoteCell(s))
	}
}

// finiteCell parses column idx of rec as a finite float.
func finiteCell(rec []string, idx int, name string) (float64, error) {
	s := cellAt(rec, idx)
	if s == "" {
		return 0, fmt.Errorf("%s is empty", name)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%s %s is not a number", name, quoteCell(s))
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s %s is not finite", name, quoteCell(s))
	}
	return f, nil
}

// cellAt is the trimmed cell idx of rec, "" when the column is absent or
// the row is short (spreadsheets drop trailing empty cells).
func cellAt(rec []string, idx int) string {
	if idx < 0 || idx >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[idx])
}

// quoteCell quotes a cell for an error message, cut short so that a huge
// malformed cell does not end up whole in logs and status output.
func quoteCell(s string) string {
	const maxLen = 60
	if len(s) > maxLen {
		return strconv.Quote(strings.ToValidUTF8(s[:maxLen], "")) + "…"
	}
	return strconv.Quote(s)
}

// newCSVReader reads RFC 4180 CSV strictly (LazyQuotes off, so a stray
// quote is an error rather than a silently merged row) while letting rows
// differ in length; encoding/csv already folds CRLF into LF.
func newCSVReader(data []byte) *csv.Reader {
	r := csv.NewReader(bytes.NewReader(stripBOM(data)))
	r.FieldsPerRecord = -1
	r.LazyQuotes = false
	r.ReuseRecord = true
	return r
}

func csvError(err error) error {
	return fmt.Errorf("invalid CSV: %v", err)
}
