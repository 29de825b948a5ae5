// Package catalog holds the nirs4all semantics of n4ws: what the files of a
// pipeline folder mean, which pipeline is best, and the computed views built
// from them. It reads and writes through backing and knows nothing of FUSE.
package catalog
