package catalog

// The three Parquet files of catalog/ (DESIGN.md, FORMATS.md §3.11):
// predictions_meta.parquet (one row per prediction), predictions_data.parquet
// (the arrays of each prediction) and predictions.parquet (one flat row per
// pipeline). They are computed files, cached as blobs by catalog
// generation, so the same rows must always give the same bytes: a cache
// hit and a fresh render must be indistinguishable, and `stat` sizes must
// not change between renders.
//
// Column names follow nirs4all's catalog files where they overlap
// (prediction_id, model_name, task_type, metric, n_samples, n_features,
// train/val/test_score, y_true, y_pred, sample_indices, weights,
// partition) so notebooks written against nirs4all keep working.

import (
	"fmt"
	"io"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Tag conventions used below:
//   - "optional" on pointers: a missing score is NULL, never 0 or NaN,
//     so SQL aggregates and ORDER BY skip it instead of ranking it.
//   - "timestamp(microsecond:utc)": DuckDB reads TIMESTAMP WITH TIME ZONE,
//     polars Datetime(us, UTC); an int64 column would read as a number.
//   - "list": the standard 3-level LIST layout every reader understands;
//     a bare repeated column is read differently by different tools.
//   - "dict": low-cardinality strings repeat on every row.

// MetaRow is one row of predictions_meta.parquet: one prediction, i.e.
// one partition of one pipeline.
type MetaRow struct {
	PredictionID   string `parquet:"prediction_id"`
	Dataset        string `parquet:"dataset,dict"`
	RunDate        string `parquet:"run_date,dict"`    // YYYY-MM-DD
	PipelineID     string `parquet:"pipeline_id,dict"` // folder name NNNN_[name_]hash
	PipelineNumber int32  `parquet:"pipeline_number"`
	ConfigName     string `parquet:"config_name,dict"`
	ConfigHash     string `parquet:"config_hash,dict"`
	ModelName      string `parquet:"model_name,dict"`  // short class: PLSRegression
	ModelClass     string `parquet:"model_class,dict"` // full class path
	TaskType       string `parquet:"task_type,dict"`
	Partition      string `parquet:"partition,dict"`

	// The pipeline's primary metric on each partition (the same triple on
	// every partition row of a pipeline, as nirs4all stores it).
	TrainScore *float64 `parquet:"train_score,optional"`
	ValScore   *float64 `parquet:"val_score,optional"`
	TestScore  *float64 `parquet:"test_score,optional"`
	Metric     string   `parquet:"metric,dict"`

	TrainRMSE            *float64 `parquet:"train_rmse,optional"`
	ValRMSE              *float64 `parquet:"val_rmse,optional"`
	TestRMSE             *float64 `parquet:"test_rmse,optional"`
	TestR2               *float64 `parquet:"test_r2,optional"`
	TestMAE              *float64 `parquet:"test_mae,optional"`
	TestAccuracy         *float64 `parquet:"test_accuracy,optional"`
	TestBalancedAccuracy *float64 `parquet:"test_balanced_accuracy,optional"`

	NSamples   int32      `parquet:"n_samples"` // rows of this partition
	NFeatures  *int32     `parquet:"n_features,optional"`
	CreatedAt  *time.Time `parquet:"created_at,optional,timestamp(microsecond:utc)"`
	RunDeleted bool       `parquet:"run_deleted"` // run folder removed; row kept (catalog is permanent)
	Status     string     `parquet:"status,dict"`
}

// DataRow is one row of predictions_data.parquet: the arrays of one
// prediction. Absent arrays are written as empty lists, not NULL, so
// len(), list_avg() and unnest work on every row without a COALESCE.
type DataRow struct {
	PredictionID  string    `parquet:"prediction_id"`
	Dataset       string    `parquet:"dataset,dict"`
	PipelineID    string    `parquet:"pipeline_id,dict"`
	Partition     string    `parquet:"partition,dict"`
	YTrue         []float64 `parquet:"y_true,list"`
	YPred         []float64 `parquet:"y_pred,list"`
	SampleIndices []int64   `parquet:"sample_indices,list"`
	Weights       []float64 `parquet:"weights,list"`
	SampleIDs     []string  `parquet:"sample_ids,list"`
}

// FlatRow is one row of predictions.parquet: one pipeline that completed
// and has a score under its dataset's ranking, flattened for the one-line
// queries of the seed document (`ORDER BY rmse LIMIT 1`): dataset,
// session, pipeline, date, rmse, r2, mae, n_samples, duration_sec, then
// columns of n4ws's own. Failed, incomplete and unscored pipelines are
// only in predictions_meta.parquet, so no NULL score and no failed run
// ever sorts first.
type FlatRow struct {
	Dataset          string   `parquet:"dataset,dict"`
	Session          string   `parquet:"session,dict"`  // <YYYY-MM-DD>_<dataset>: the session date
	Pipeline         string   `parquet:"pipeline"`      // folder name
	Date             int32    `parquet:"date,date"`     // the session date, a DATE: days since 1970-01-01
	RMSE             *float64 `parquet:"rmse,optional"` // on the ranking's partition
	R2               *float64 `parquet:"r2,optional"`
	MAE              *float64 `parquet:"mae,optional"`
	Accuracy         *float64 `parquet:"accuracy,optional"`
	BalancedAccuracy *float64 `parquet:"balanced_accuracy,optional"`
	NSamples         int64    `parquet:"n_samples"` // rows of the ranking's partition
	DurationSec      *float64 `parquet:"duration_sec,optional"`
	Model            string   `parquet:"model,dict"`
	Status           string   `parquet:"status,dict"` // always ok here; kept for old queries
	RunDeleted       bool     `parquet:"run_deleted"`
	TaskType         string   `parquet:"task_type,dict"` // the dataset's task
	Metric           string   `parquet:"metric,dict"`    // the dataset's ranking metric
	Partition        string   `parquet:"partition,dict"` // and partition
	Score            float64  `parquet:"score"`          // the pipeline's value of that metric there
}

// DateDays is a day as the flat file's date column stores it (a Parquet
// DATE: days since 1970-01-01). parquet-go can write a time.Time there
// but reads it back wrong, so the column holds the number itself.
func DateDays(t time.Time) int32 {
	y, m, d := t.Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// parquetCreatedBy replaces parquet-go's default "created_by", which it
// takes from the binary's build info: that would differ between a test
// binary, a `go run` and a release build (and between parquet-go
// versions), changing the bytes of files whose rows did not change.
const parquetCreatedBy = "n4ws"

// parquetCodec is zstd at its default level with one goroutine. zstd is
// what nirs4all's own Parquet files use (FORMATS.md §3.8); EncodeAll with
// concurrency 1 is a pure function of its input, so pages compress to the
// same bytes every time (checked by TestParquetDeterministic).
var parquetCodec = &zstd.Codec{Level: zstd.SpeedDefault, Concurrency: 1}

// writerOptions are the options shared by the three files. Nothing in
// them depends on time, randomness or map order: parquet-go writes no
// timestamp or file id of its own, and sorts key/value metadata (we set
// none). Everything lands in one row group, so the layout does not
// depend on buffer flush points either.
func writerOptions() []parquet.WriterOption {
	return []parquet.WriterOption{
		&parquet.WriterConfig{CreatedBy: parquetCreatedBy},
		parquet.Compression(parquetCodec),
	}
}

// WriteMeta writes predictions_meta.parquet with rows in the given order.
func WriteMeta(w io.Writer, rows []MetaRow) error {
	return writeParquet(w, "predictions_meta", rows)
}

// WriteData writes predictions_data.parquet with rows in the given order.
func WriteData(w io.Writer, rows []DataRow) error {
	return writeParquet(w, "predictions_data", rows)
}

// WriteFlat writes predictions.parquet with rows in the given order.
func WriteFlat(w io.Writer, rows []FlatRow) error {
	return writeParquet(w, "predictions", rows)
}

// writeParquet writes one complete file. An empty slice still yields a
// valid file carrying the schema (zero row groups), so a catalog with no
// pipelines yet can be queried and shows its columns.
func writeParquet[T any](w io.Writer, name string, rows []T) error {
	pw := parquet.NewGenericWriter[T](w, writerOptions()...)
	if len(rows) > 0 {
		if _, err := pw.Write(rows); err != nil {
			return fmt.Errorf("catalog: write %s.parquet: %w", name, err)
		}
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("catalog: write %s.parquet: %w", name, err)
	}
	return nil
}
