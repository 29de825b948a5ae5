package main

import (
	"log/slog"
	"os"
	"runtime/debug"
)

// defaultMemoryLimit is the mount's soft memory limit for the Go runtime
// when GOMEMLIMIT does not set one (GOMEMLIMIT=off removes it). The
// collector then works harder as the heap nears it instead of letting the
// heap grow to twice what is live. With the rendered files out of the heap
// (deflated pages, Parquet in spill files) what is live stays well under it
// even for 100 datasets x 10,000 pipelines, and the limit kept a cold find
// of a million files under 300 MB of RSS (docs/PERFORMANCE.md) at no
// measured cost to find or to the catalog's refresh. It is soft: a heap
// that must be larger grows past it, the collector taking at most about
// half the CPU meanwhile.
const defaultMemoryLimit = 200 << 20

// applyMemoryLimit sets defaultMemoryLimit unless GOMEMLIMIT is in the
// environment (the runtime has applied it already).
func applyMemoryLimit(log *slog.Logger) {
	if v, set := os.LookupEnv("GOMEMLIMIT"); set {
		log.Info("memory limit from GOMEMLIMIT", "GOMEMLIMIT", v)
		return
	}
	debug.SetMemoryLimit(defaultMemoryLimit)
}
