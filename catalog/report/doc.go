// Package report draws the computed HTML reports (session, global,
// dataset history) and the chart PNGs of the best pipelines, from the
// catalog's tables only. Views implements catalog.Reports; cmd passes it
// in catalog.Options so that the mount shows these files.
//
// It may use the catalog core (and through it catalog/nirs4all's records)
// and gonum/plot; only cmd and vfs may import it.
package report
