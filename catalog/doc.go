// Package catalog is the core of the nirs4all semantics of n4ws: it ingests
// the pipeline folders written under runs/ into its own tables (schema.go,
// ingest.go, apply.go, refresh.go), picks each dataset's best pipeline
// (best.go, scores.go), and renders the computed files the mount shows
// (views.go, view_*.go, parquet*.go, summary.go), plus status, config,
// extended attributes and the lists of `n4ws catalog`.
//
// It may use backing (the store) and catalog/nirs4all (what the files of a
// pipeline folder say); it knows nothing of FUSE. The HTML reports and
// charts are drawn by catalog/report through the Reports interface, so the
// core does not import it; catalog/importer, catalog/bundle and
// catalog/demo build on the core, never the other way round.
package catalog
