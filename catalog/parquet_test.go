package catalog

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

func f64(v float64) *float64 { return &v }
func i32(v int32) *int32     { return &v }
func ts(s string) *time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// Rows with every nullable field both set and unset, and a non-UTC
// timestamp, so a round trip exercises NULLs and the UTC conversion.
func sampleMeta() []MetaRow {
	return []MetaRow{
		{PredictionID: "wheat/0001_pls_a1b2c3/test", Dataset: "wheat", RunDate: "2026-03-01",
			PipelineID: "0001_pls_a1b2c3", PipelineNumber: 1, ConfigName: "pls", ConfigHash: "a1b2c3",
			ModelName: "PLSRegression", ModelClass: "sklearn.cross_decomposition._pls.PLSRegression",
			TaskType: TaskRegression, Partition: "test", TrainScore: f64(0.21), ValScore: f64(0.3),
			TestScore: f64(0.35), Metric: "rmse", TrainRMSE: f64(0.21), ValRMSE: f64(0.3),
			TestRMSE: f64(0.35), TestR2: f64(0.91), TestMAE: f64(0.27), NSamples: 40, NFeatures: i32(700),
			CreatedAt: ts("2026-03-01T10:15:30.123456+02:00"), Status: "completed"},
		{PredictionID: "wheat/0001_pls_a1b2c3/val", Dataset: "wheat", RunDate: "2026-03-01",
			PipelineID: "0001_pls_a1b2c3", PipelineNumber: 1, ConfigName: "pls", ConfigHash: "a1b2c3",
			ModelName: "PLSRegression", TaskType: TaskRegression, Partition: "val", TestScore: f64(0.35),
			Metric: "rmse", NSamples: 0, RunDeleted: true, Status: "completed"},
		{PredictionID: "soil/0002_x9y8z7/test", Dataset: "soil", RunDate: "2026-03-02",
			PipelineID: "0002_x9y8z7", PipelineNumber: 2, ConfigHash: "x9y8z7", ModelName: "SVC",
			TaskType: TaskBinary, Partition: "test", TestScore: f64(0.8), Metric: "balanced_accuracy",
			TestAccuracy: f64(0.85), TestBalancedAccuracy: f64(0.8), NSamples: 12,
			CreatedAt: ts("2026-03-02T00:00:00Z"), Status: "failed"},
	}
}

func sampleData() []DataRow {
	return []DataRow{
		{PredictionID: "wheat/0001_pls_a1b2c3/test", Dataset: "wheat", PipelineID: "0001_pls_a1b2c3",
			Partition: "test", YTrue: []float64{12.5, 14.2, 13}, YPred: []float64{12.4, 14.5, 12.9},
			SampleIndices: []int64{0, 1, 2}, Weights: []float64{1, 0.5, 1}, SampleIDs: []string{"s1", "s2", "s3"}},
		// No weights nor sample ids: empty lists, not NULL.
		{PredictionID: "wheat/0001_pls_a1b2c3/val", Dataset: "wheat", PipelineID: "0001_pls_a1b2c3",
			Partition: "val", YTrue: []float64{11, math.Inf(1)}, YPred: []float64{11.5, 10},
			SampleIndices: []int64{3, 4}},
		{PredictionID: "empty", Dataset: "soil", PipelineID: "0002_x9y8z7", Partition: "train"},
	}
}

func sampleFlat() []FlatRow {
	return []FlatRow{
		{Dataset: "wheat", Session: "2026-03-01_wheat", Pipeline: "0001_pls_a1b2c3",
			Date: DateDays(*ts("2026-03-01T00:00:00Z")), RMSE: f64(0.35), R2: f64(0.91), MAE: f64(0.27),
			NSamples: 40, DurationSec: f64(12.5), Model: "PLSRegression", Status: "ok",
			TaskType: TaskRegression, Metric: "rmse", Partition: "test", Score: 0.35},
		{Dataset: "soil", Session: "2026-03-02_soil", Pipeline: "0002_x9y8z7", Date: DateDays(*ts("2026-03-02T23:59:00Z")),
			Accuracy: f64(0.85), BalancedAccuracy: f64(0.8), NSamples: 12, Model: "SVC", Status: "ok",
			RunDeleted: true, TaskType: TaskBinary, Metric: "balanced_accuracy", Partition: "val", Score: 0.8},
	}
}

// readAll reads a file back with parquet-go's generic reader.
func readAll[T any](t *testing.T, data []byte) []T {
	t.Helper()
	r := parquet.NewGenericReader[T](bytes.NewReader(data))
	defer r.Close()
	out := make([]T, r.NumRows())
	n, err := r.Read(out)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("read: %v", err)
	}
	if n != len(out) {
		t.Fatalf("read %d rows, want %d", n, len(out))
	}
	return out
}

// normalize maps what a reader cannot tell apart (nil vs empty slice, a
// time's location) to one form, so reflect.DeepEqual compares values.
func normalize(v any) any {
	rv := reflect.ValueOf(v)
	out := reflect.New(rv.Type()).Elem()
	out.Set(rv)
	for i := 0; i < out.NumField(); i++ {
		f := out.Field(i)
		switch {
		case f.Kind() == reflect.Slice && f.Len() == 0:
			f.Set(reflect.Zero(f.Type()))
		case f.Type() == reflect.TypeFor[*time.Time]() && !f.IsNil():
			u := f.Interface().(*time.Time).UTC()
			f.Set(reflect.ValueOf(&u))
		}
	}
	return out.Interface()
}

func roundTrip[T any](t *testing.T, write func(io.Writer, []T) error, rows []T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	got := readAll[T](t, buf.Bytes())
	if len(got) != len(rows) {
		t.Fatalf("got %d rows, want %d", len(got), len(rows))
	}
	for i := range rows {
		want, have := normalize(rows[i]), normalize(got[i])
		if !reflect.DeepEqual(want, have) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, have, want)
		}
	}
	return buf.Bytes()
}

func TestParquetRoundTrip(t *testing.T) {
	roundTrip(t, WriteMeta, sampleMeta())
	roundTrip(t, WriteData, sampleData())
	roundTrip(t, WriteFlat, sampleFlat())
}

// Timestamps are stored in microseconds: a nanosecond part is dropped,
// and the instant (not the wall clock of the zone) is kept.
func TestParquetTimestampUTC(t *testing.T) {
	in := sampleMeta()[:1]
	in[0].CreatedAt = ts("2026-03-01T10:15:30.123456789+02:00")
	var buf bytes.Buffer
	if err := WriteMeta(&buf, in); err != nil {
		t.Fatal(err)
	}
	got := readAll[MetaRow](t, buf.Bytes())[0].CreatedAt
	want := time.Date(2026, 3, 1, 8, 15, 30, 123456000, time.UTC)
	if got == nil || !got.Equal(want) {
		t.Fatalf("created_at = %v, want %v", got, want)
	}
}

// The flat file's date is a DATE (the seed's polars Date): a day, and the
// column's logical type says so.
func TestParquetFlatDate(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFlat(&buf, sampleFlat()); err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	col, ok := f.Schema().Lookup("date")
	if !ok || col.Node.Type().LogicalType() == nil || col.Node.Type().LogicalType().String() != "DATE" {
		t.Fatalf("date column: logical type %v, want DATE", col.Node.Type().LogicalType())
	}
	n, ok := f.Schema().Lookup("n_samples")
	if !ok || n.Node.Type().Kind() != parquet.Int64 {
		t.Fatalf("n_samples column: %v, want INT64", n.Node.Type())
	}
	got := readAll[FlatRow](t, buf.Bytes())[1].Date
	if want := int32(20514); got != want { // 2026-03-02: date -d 2026-03-02Z +%s / 86400
		t.Fatalf("date = %v, want %v", got, want)
	}
}

func TestParquetDeterministic(t *testing.T) {
	render := func() [3][]byte {
		var out [3][]byte
		var b bytes.Buffer
		for i, write := range []func(io.Writer) error{
			func(w io.Writer) error { return WriteMeta(w, sampleMeta()) },
			func(w io.Writer) error { return WriteData(w, sampleData()) },
			func(w io.Writer) error { return WriteFlat(w, sampleFlat()) },
		} {
			b.Reset()
			if err := write(&b); err != nil {
				t.Fatal(err)
			}
			out[i] = bytes.Clone(b.Bytes())
		}
		return out
	}
	first := render()
	// Something else in between, so pooled compressors and buffers are
	// reused with other state before the second render.
	if err := WriteData(io.Discard, bigData(500)); err != nil {
		t.Fatal(err)
	}
	second := render()
	for i := range first {
		if !bytes.Equal(first[i], second[i]) {
			t.Errorf("file %d: two writes of the same rows differ (%d vs %d bytes)",
				i, len(first[i]), len(second[i]))
		}
	}
	// A large file spans several pages; it too must be stable.
	var a, b bytes.Buffer
	if err := WriteData(&a, bigData(2000)); err != nil {
		t.Fatal(err)
	}
	if err := WriteData(&b, bigData(2000)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("large data file differs between two writes")
	}
}

func bigData(n int) []DataRow {
	rows := make([]DataRow, n)
	for i := range rows {
		y := make([]float64, 50)
		idx := make([]int64, 50)
		for j := range y {
			y[j] = float64(i*j%97) / 7
			idx[j] = int64(j)
		}
		rows[i] = DataRow{PredictionID: "p" + string(rune('a'+i%26)), Dataset: "ds",
			PipelineID: "0001_x", Partition: Partitions[i%3], YTrue: y, YPred: y, SampleIndices: idx}
	}
	return rows
}

func TestParquetEmpty(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(io.Writer) error
		want  []string
	}{
		{"meta", func(w io.Writer) error { return WriteMeta(w, nil) }, metaColumns},
		{"data", func(w io.Writer) error { return WriteData(w, []DataRow{}) }, dataColumns},
		{"flat", func(w io.Writer) error { return WriteFlat(w, nil) }, flatColumns},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf); err != nil {
				t.Fatal(err)
			}
			f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatalf("empty file does not open: %v", err)
			}
			if f.NumRows() != 0 {
				t.Errorf("rows = %d", f.NumRows())
			}
			if got := topColumns(f.Schema()); !slices.Equal(got, tc.want) {
				t.Errorf("columns = %v\nwant %v", got, tc.want)
			}
		})
	}
}

// The column names are the contract with users' SQL and notebooks.
var (
	metaColumns = []string{"prediction_id", "dataset", "run_date", "pipeline_id", "pipeline_number",
		"config_name", "config_hash", "model_name", "model_class", "task_type", "partition",
		"train_score", "val_score", "test_score", "metric", "train_rmse", "val_rmse", "test_rmse",
		"test_r2", "test_mae", "test_accuracy", "test_balanced_accuracy", "n_samples", "n_features",
		"created_at", "run_deleted", "status"}
	dataColumns = []string{"prediction_id", "dataset", "pipeline_id", "partition", "y_true", "y_pred",
		"sample_indices", "weights", "sample_ids"}
	flatColumns = []string{"dataset", "session", "pipeline", "date", "rmse", "r2", "mae", "accuracy",
		"balanced_accuracy", "n_samples", "duration_sec", "model", "status", "run_deleted",
		"task_type", "metric", "partition", "score"}
)

func topColumns(s *parquet.Schema) []string {
	var names []string
	for _, f := range s.Fields() {
		names = append(names, f.Name())
	}
	return names
}

// Physical schema: nullable fields OPTIONAL, timestamps with the
// TIMESTAMP logical type, arrays as LIST, zstd everywhere, and the
// created_by we set rather than one read from build info.
func TestParquetSchema(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMeta(&buf, sampleMeta()); err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if cb := f.Metadata().CreatedBy; cb != parquetCreatedBy {
		t.Errorf("created_by = %q", cb)
	}
	fields := map[string]parquet.Field{}
	for _, fd := range f.Schema().Fields() {
		fields[fd.Name()] = fd
	}
	for _, name := range []string{"train_score", "test_rmse", "n_features", "created_at"} {
		if !fields[name].Optional() {
			t.Errorf("%s is not OPTIONAL", name)
		}
	}
	for _, name := range []string{"prediction_id", "n_samples", "run_deleted"} {
		if fields[name].Optional() {
			t.Errorf("%s should be REQUIRED", name)
		}
	}
	if lt := fields["created_at"].Type().LogicalType(); lt.String() != "TIMESTAMP(isAdjustedToUTC=true,unit=MICROS)" {
		t.Errorf("created_at logical type = %v", lt)
	}
	for _, rg := range f.Metadata().RowGroups {
		for _, cc := range rg.Columns {
			if cc.MetaData.Codec != format.Zstd {
				t.Errorf("column %v codec %v", cc.MetaData.PathInSchema, cc.MetaData.Codec)
			}
		}
	}

	buf.Reset()
	if err := WriteData(&buf, sampleData()); err != nil {
		t.Fatal(err)
	}
	f, err = parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range f.Schema().Fields() {
		if fd.Leaf() {
			continue
		}
		if _, ok := fd.Type().LogicalType().Value.(*format.ListType); !ok {
			t.Errorf("%s is not a LIST", fd.Name())
		}
	}
}
