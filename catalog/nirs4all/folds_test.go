package nirs4all

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseFolds(t *testing.T) {
	example, err := os.ReadFile("testdata/folds_KFold_seed42.csv")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in string
		want     [][]int64
	}{
		{"FORMATS example", string(example), [][]int64{{0, 2, 4}, {1, 3}}},
		{"header out of order, BOM, CRLF, spaces", "\xef\xbb\xbfFOLD_1, fold_0\r\n5, 6\r\n,7\r\n", [][]int64{{6, 7}, {5}}},
		{"pandas floats and short rows", "fold_0,fold_1,fold_2\n0.0,1.0,2.0\n3.0\n", [][]int64{{0, 3}, {1}, {2}}},
		{"padding in the middle is skipped", "fold_0,fold_1\n,1\n2,\n", [][]int64{{2}, {1}}},
		{"a fold with no index stays empty", "fold_0,fold_1\n1,\n", [][]int64{{1}, {}}},
		{"single fold", "fold_0\n9\n", [][]int64{{9}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFolds("folds_KFold_seed42.csv", []byte(tt.in))
			if err != nil {
				t.Fatalf("ParseFolds: %v", err)
			}
			want := Folds{Name: "folds_KFold_seed42.csv", Train: tt.want}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseFoldsErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty file"},
		{"header only", "fold_0,fold_1\n", "no fold indices"},
		{"only padding", "fold_0,fold_1\n,\n", "no fold indices"},
		{"numbering starts at 1", "fold_1,fold_2\n1,2\n", `header column 2 is "fold_2", want fold_0 to fold_1`},
		{"duplicate fold", "fold_0,fold_0\n1,2\n", `header column 2 is "fold_0"`},
		{"not a folds header", "y_true,y_pred\n1,2\n", `header column 1 is "y_true"`},
		{"empty header cell", "fold_0,\n1,2\n", `header column 2 is ""`},
		{"negative index", "fold_0\n1\n-2\n", `line 3, fold_0: "-2" is not a sample index`},
		{"fractional index", "fold_0,fold_1\n1,2.5\n", `line 2, fold_1: "2.5" is not a sample index`},
		{"text index", "fold_0\nS001\n", `"S001" is not a sample index`},
		{"NaN index", "fold_0\nNaN\n", `"NaN" is not a sample index`},
		{"too many fields", "fold_0,fold_1\n1,2,3\n", "line 2: 3 fields, header has 2"},
		{"bad quote", "fold_0\n1\"2\n", "invalid CSV"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFolds("folds_x.csv", []byte(tt.in))
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "folds_x.csv" {
				t.Fatalf("err = %v, want a *ParseError for folds_x.csv", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to mention %q", err, tt.want)
			}
		})
	}
}
