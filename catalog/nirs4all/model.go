package nirs4all

// The records the catalog derives from a pipeline folder. Parsers fill
// them from the files of FORMATS.md §00; the catalog stores them in its
// tables; the renderers (CSV, JSON, Parquet) read them back.

// Partitions of a prediction, in the order files list them.
var Partitions = []string{"train", "val", "test"}

// Task types, as metrics.json and nirs4all name them.
const (
	TaskRegression = "regression"
	TaskBinary     = "binary_classification"
	TaskMulticlass = "multiclass_classification"
)

// Metrics is what metrics.json says: per partition, metric name → value
// (lowercase names: rmse, mae, r2, mse, accuracy, balanced_accuracy, f1,
// ...), plus the sample count of each partition when given.
type Metrics struct {
	TaskType string                        // task_type, else inferred from the metric names
	TaskSaid bool                          // task_type was in the file (TaskType is not inferred)
	Scores   map[string]map[string]float64 // partition → metric → value; only finite numbers
	Samples  map[string]int                // partition → "samples"
	CVFolds  int                           // cross_validation.folds, 0 if absent
}

// Prediction is one partition's rows of predictions.csv.
type Prediction struct {
	Partition     string    // train | val | test (rows without one count as test)
	YTrue         []float64 // as read; classes as their numeric codes
	YPred         []float64
	SampleIDs     []string  // sample_id column, nil if absent
	SampleIndices []int64   // row positions in the file (0-based), always filled
	Folds         []string  // fold column, nil if absent
	Weights       []float64 // weight(s) column, nil if absent
}

// PipelineInfo is what pipeline.json and manifest.yaml say about a
// pipeline. Either file may be missing: fields stay zero.
type PipelineInfo struct {
	ID            string   // pipeline.json "id" or manifest "pipeline_id"
	Hash          string   // pipeline.json "hash"
	Name          string   // manifest "name" (config name)
	Dataset       string   // manifest "dataset"
	CreatedAt     string   // RFC 3339 when known
	DurationSec   float64  // pipeline.json "duration_seconds", 0 if absent
	Status        string   // pipeline.json "status" when present
	ModelClass    string   // full class path of the model step, "" if none found
	Model         string   // short class name of the model: PLSRegression
	Preprocessing []string // short class names of the steps before the model
	Artifacts     []Artifact
}

// Artifact is a fitted binary a pipeline references.
type Artifact struct {
	Name string // MinMaxScaler_3, PLSRegression_7.pkl
	Path string // as written: file name in _binaries/, or ../_binaries/X.pkl
	Hash string // "sha256:<hex>" or bare hex, as written
	Step int
}

// Folds is a folds_*.csv file: for each fold, the train indices.
type Folds struct {
	Name  string    // file name
	Train [][]int64 // fold i → its train indices
}

// ParseError says which file of a pipeline could not be used and why.
type ParseError struct {
	File   string
	Reason string
}

func (e *ParseError) Error() string { return e.File + ": " + e.Reason }
