// Package bundle plans and writes the library's zip bundles (pipeline
// templates, trained pipelines, full runs, exports), the tar.gz archives,
// and the import of a bundle back into a store; it also lists the library.
//
// It may use backing, the catalog core (Tree, names) and catalog/nirs4all;
// not importer, report or demo.
package bundle
