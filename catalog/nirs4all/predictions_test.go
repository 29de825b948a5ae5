package nirs4all

import (
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParsePredictions(t *testing.T) {
	real, err := os.ReadFile("testdata/best_real.csv")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want []Prediction
	}{
		{"design file, partitions reordered train, val, test",
			"y_true,y_pred,partition,sample_id\n1,1.1,test,S2\n2,2.2,train,S0\n3,3.3,val,S1\n4,4.4,train,S3\n",
			[]Prediction{
				{Partition: "train", YTrue: []float64{2, 4}, YPred: []float64{2.2, 4.4}, SampleIDs: []string{"S0", "S3"}, SampleIndices: []int64{1, 3}},
				{Partition: "val", YTrue: []float64{3}, YPred: []float64{3.3}, SampleIDs: []string{"S1"}, SampleIndices: []int64{2}},
				{Partition: "test", YTrue: []float64{1}, YPred: []float64{1.1}, SampleIDs: []string{"S2"}, SampleIndices: []int64{0}},
			}},
		{"real nirs4all best CSV: y_pred first, CRLF, all test", string(real),
			[]Prediction{{Partition: "test", YTrue: []float64{12.5, 14.2, 10.1}, YPred: []float64{12.4031, 14.0102, 9.87},
				SampleIndices: []int64{0, 1, 2}}}},
		{"BOM, header case and spaces, cell spaces, quotes",
			"\xef\xbb\xbf Y_Pred , Y_TRUE ,\"Partition\"\r\n\" 1.5 \",2,TRAIN\r\n3, 4 ,\r\n",
			[]Prediction{
				{Partition: "train", YTrue: []float64{2}, YPred: []float64{1.5}, SampleIndices: []int64{0}},
				{Partition: "test", YTrue: []float64{4}, YPred: []float64{3}, SampleIndices: []int64{1}},
			}},
		{"fold and weights columns, extra columns ignored",
			"id,y_true,y_pred,fold,weights,partition,comment\n7,1,2,0,0.5,val,\"a, b\"\n8,3,4,avg,1.5,val,\n",
			[]Prediction{{Partition: "val", YTrue: []float64{1, 3}, YPred: []float64{2, 4}, Folds: []string{"0", "avg"},
				Weights: []float64{0.5, 1.5}, SampleIndices: []int64{0, 1}}}},
		{"short row drops trailing optional cells", "y_true,y_pred,sample_id,partition\n1,2\n3,4,S1,train\n",
			[]Prediction{
				{Partition: "train", YTrue: []float64{3}, YPred: []float64{4}, SampleIDs: []string{"S1"}, SampleIndices: []int64{1}},
				{Partition: "test", YTrue: []float64{1}, YPred: []float64{2}, SampleIDs: []string{""}, SampleIndices: []int64{0}},
			}},
		{"classes as numeric codes, blank lines skipped, exponent", "y_true,y_pred\n\n0,1\n2,2e0\n\n",
			[]Prediction{{Partition: "test", YTrue: []float64{0, 2}, YPred: []float64{1, 2}, SampleIndices: []int64{0, 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePredictions([]byte(tt.in), 100)
			if err != nil {
				t.Fatalf("ParsePredictions: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParsePredictionsErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "no prediction rows"},
		{"header only", "y_true,y_pred\n", "no prediction rows"},
		{"header only CRLF, blank lines", "y_true,y_pred\r\n\r\n\r\n", "no prediction rows"},
		{"no y_true", "y_pred\n1\n", "header has no y_true column"},
		{"no y_pred", "y_true,pred\n1,2\n", "header has no y_pred column"},
		{"duplicate column", "y_true,y_pred,Y_TRUE\n1,2,3\n", `column "y_true" appears twice`},
		{"weight and weights", "y_true,y_pred,weight,weights\n1,2,3,4\n", `column "weights" appears twice`},
		{"text value", "y_true,y_pred\n1,2\nabc,2\n", `row 2 (line 3): y_true "abc" is not a number`},
		{"empty value", "y_true,y_pred\n1,\n", "row 1 (line 2): y_pred is empty"},
		{"NaN", "y_true,y_pred\n1,2\n3,4\nNaN,1\n", `row 3 (line 4): y_true "NaN" is not finite`},
		{"Inf", "y_true,y_pred\n1,-Inf\n", `y_pred "-Inf" is not finite`},
		{"overflow", "y_true,y_pred\n1e999,1\n", `y_true "1e999" is not finite`},
		{"bad partition names the row", "y_true,y_pred,partition\n1,2,train\n1,2,validation\n",
			`row 2 (line 3): partition "validation" is not train, val or test`},
		{"short row", "y_pred,y_true\n1\n", "row 1 (line 2): 1 fields, y_true and y_pred need 2"},
		{"bad weight", "y_true,y_pred,weight\n1,2,heavy\n", `weight "heavy" is not a number`},
		{"bare quote", "y_true,y_pred\n1,2\"3\n", "invalid CSV"},
		{"unterminated quote", "y_true,y_pred\n\"1,2\n", "invalid CSV"},
		{"long cell is cut in the message", "y_true,y_pred\n" + strings.Repeat("x", 500) + ",1\n", `xxx"…`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePredictions([]byte(tt.in), 100)
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "predictions.csv" {
				t.Fatalf("got %+v, err = %v, want a *ParseError for predictions.csv", got, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to mention %q", err, tt.want)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error message of %d bytes", len(err.Error()))
			}
		})
	}
}

func TestParsePredictionsMaxRows(t *testing.T) {
	var b strings.Builder
	b.WriteString("y_true,y_pred,partition\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "%d,%d.5,%s\n", i, i, Partitions[i%3])
	}
	data := []byte(b.String())
	tests := []struct {
		maxRows int
		wantErr bool
	}{{1000, false}, {0, false}, {-1, false}, {999, true}, {1, true}}
	for _, tt := range tests {
		preds, err := ParsePredictions(data, tt.maxRows)
		if tt.wantErr {
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d rows", tt.maxRows)) {
				t.Errorf("maxRows %d: err = %v, want more than %d rows", tt.maxRows, err, tt.maxRows)
			}
			continue
		}
		if err != nil {
			t.Fatalf("maxRows %d: %v", tt.maxRows, err)
		}
		n := 0
		for _, p := range preds {
			n += len(p.YTrue)
		}
		if n != 1000 || len(preds) != 3 {
			t.Errorf("maxRows %d: %d rows in %d partitions, want 1000 in 3", tt.maxRows, n, len(preds))
		}
	}
}

// FuzzParsePredictions checks that no input panics and that a success holds
// only what the Prediction doc promises. Run: go test -fuzz=FuzzParsePredictions.
func FuzzParsePredictions(f *testing.F) {
	for _, seed := range []string{
		"y_true,y_pred,partition,sample_id\n1,1.1,train,S0\n2,2.2,val,S1\n3,3.3,test,S2\n",
		"y_pred,y_true\r\n12.4,12.5\r\n",
		"\xef\xbb\xbfY_TRUE,y_pred,fold,weight\n1,2,0,0.5\n",
		"y_true,y_pred\nNaN,1\n",
		"y_true,y_pred,partition\n1,2,bogus\n",
		"y_true,y_pred\n\"1\n",
		"", "y_true,y_pred\n",
	} {
		f.Add([]byte(seed))
	}
	const maxRows = 50
	f.Fuzz(func(t *testing.T, data []byte) {
		preds, err := ParsePredictions(data, maxRows)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		if len(preds) == 0 {
			t.Fatal("success without predictions")
		}
		rows, last := 0, -1
		for _, p := range preds {
			order, ok := map[string]int{"train": 0, "val": 1, "test": 2}[p.Partition]
			if !ok || order <= last {
				t.Fatalf("partition %q out of order", p.Partition)
			}
			last = order
			n := len(p.YTrue)
			if n == 0 || len(p.YPred) != n || len(p.SampleIndices) != n ||
				(p.SampleIDs != nil && len(p.SampleIDs) != n) || (p.Folds != nil && len(p.Folds) != n) ||
				(p.Weights != nil && len(p.Weights) != n) {
				t.Fatalf("ragged prediction %+v", p)
			}
			for i := range n {
				for _, v := range []float64{p.YTrue[i], p.YPred[i]} {
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("non-finite value in %+v", p)
					}
				}
			}
			rows += n
		}
		if rows > maxRows {
			t.Fatalf("%d rows over maxRows %d", rows, maxRows)
		}
	})
}
