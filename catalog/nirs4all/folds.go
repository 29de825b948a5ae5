package nirs4all

// folds_*.csv (FORMATS.md §3.4): column fold_i lists the train indices of
// fold i, one per row, and shorter columns are padded with empty cells.

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ParseFolds reads a folds CSV named name (the file name, kept in Folds and
// in errors). The header must be fold_0 .. fold_<k-1>, in any order; empty
// cells are padding. Indices are non-negative integers; "4.0" is taken too,
// as pandas writes padded integer columns as floats. The error is a
// *ParseError for bad CSV, a bad header or cell, or a file with no index.
func ParseFolds(name string, data []byte) (Folds, error) {
	train, err := parseFolds(data)
	if err != nil {
		return Folds{}, &ParseError{File: name, Reason: err.Error()}
	}
	return Folds{Name: name, Train: train}, nil
}

func parseFolds(data []byte) ([][]int64, error) {
	r := newCSVReader(data)
	header, err := r.Read()
	if err == io.EOF {
		return nil, errors.New("empty file")
	}
	if err != nil {
		return nil, csvError(err)
	}
	order, err := foldColumns(header)
	if err != nil {
		return nil, err
	}
	train := make([][]int64, len(order))
	for i := range train {
		train[i] = []int64{}
	}
	total := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) > len(order) {
			return nil, fmt.Errorf("line %d: %d fields, header has %d", line, len(rec), len(order))
		}
		for col, cell := range rec {
			cell = strings.TrimSpace(cell)
			if cell == "" {
				continue
			}
			idx, ok := foldIndex(cell)
			if !ok {
				return nil, fmt.Errorf("line %d, fold_%d: %s is not a sample index", line, order[col], quoteCell(cell))
			}
			train[order[col]] = append(train[order[col]], idx)
			total++
		}
	}
	if total == 0 {
		return nil, errors.New("no fold indices")
	}
	return train, nil
}

// foldColumns maps header column → fold number, checking that the header
// names each of fold_0 .. fold_<k-1> exactly once.
func foldColumns(header []string) ([]int, error) {
	order := make([]int, len(header))
	seen := make([]bool, len(header))
	for col, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		n, err := strconv.Atoi(strings.TrimPrefix(name, "fold_"))
		if !strings.HasPrefix(name, "fold_") || err != nil || n < 0 || n >= len(header) || seen[n] {
			return nil, fmt.Errorf("header column %d is %s, want fold_0 to fold_%d, each once",
				col+1, quoteCell(h), len(header)-1)
		}
		seen[n], order[col] = true, n
	}
	return order, nil
}

func foldIndex(cell string) (int64, bool) {
	if n, err := strconv.ParseInt(cell, 10, 64); err == nil {
		return n, n >= 0
	}
	f, err := strconv.ParseFloat(cell, 64)
	if err != nil || f < 0 || f != math.Trunc(f) || f > 1<<53 {
		return 0, false
	}
	return int64(f), true
}
