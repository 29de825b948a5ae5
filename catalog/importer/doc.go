// Package importer imports existing nirs4all workspaces into a store: the
// result layouts of eras 0, A, B and C and the current store.sqlite with its
// arrays and artifacts, converted into pipeline folders under runs/ that the
// catalog then ingests like any other.
//
// It may use backing, the catalog core (Tree, dataset names, scores) and
// catalog/nirs4all; not report, bundle or demo.
package importer
