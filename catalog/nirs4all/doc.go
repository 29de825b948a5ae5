// Package nirs4all reads the files nirs4all writes in a pipeline folder:
// metrics.json, manifest.yaml, pipeline.json, predictions.csv, folds_*.csv,
// pipeline folder names (ids), and the Python reprs older versions stored in
// their results. It holds the records these files describe (Metrics,
// Prediction, PipelineInfo, ...), which the catalog stores.
//
// Pure functions from bytes to records: no store, no I/O, and it imports
// no other package of n4ws, so any of them may use it.
package nirs4all
