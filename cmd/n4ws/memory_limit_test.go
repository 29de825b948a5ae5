package main

import (
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"testing"
)

func TestMemoryLimitDefaultAndEnv(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("GOMEMLIMIT", "") // set, even empty: the user's choice
	debug.SetMemoryLimit(math.MaxInt64)
	applyMemoryLimit(slog.Default())
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT in the environment the limit became %d; want it left alone", got)
	}
	t.Setenv("GOMEMLIMIT", "x") // restored after the test
	os.Unsetenv("GOMEMLIMIT")
	applyMemoryLimit(slog.Default())
	if got := debug.SetMemoryLimit(-1); got != defaultMemoryLimit {
		t.Errorf("without GOMEMLIMIT the limit is %d, want %d", got, int64(defaultMemoryLimit))
	}
}
