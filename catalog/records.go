package catalog

import "github.com/n4ws/n4ws/catalog/nirs4all"

// The records the core stores and renders are what package nirs4all parses
// from a pipeline folder; these aliases give them the names the core, its
// tests and its callers have always used.
type (
	Metrics      = nirs4all.Metrics
	Prediction   = nirs4all.Prediction
	PipelineInfo = nirs4all.PipelineInfo
	Artifact     = nirs4all.Artifact
	Folds        = nirs4all.Folds
	ParseError   = nirs4all.ParseError
)

// Task types, as metrics.json and nirs4all name them.
const (
	TaskRegression = nirs4all.TaskRegression
	TaskBinary     = nirs4all.TaskBinary
	TaskMulticlass = nirs4all.TaskMulticlass
)

// Partitions of a prediction, in the order files list them.
var Partitions = nirs4all.Partitions
