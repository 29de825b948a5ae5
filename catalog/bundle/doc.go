// Package bundle makes and reads bundles, the zips n4ws makes of pipeline
// folders: library saves (library/trained/{filtered,pipeline,fullrun}),
// catalog archives and exports, read back by import and library show. It
// also writes the tar.gz archives of `n4ws runs archive` and lists the
// library. The code sees the store through catalog.Tree, so tests hand it
// a map.
//
// It may use backing, the catalog core (Tree, names) and catalog/nirs4all;
// not importer, report or demo.
package bundle
