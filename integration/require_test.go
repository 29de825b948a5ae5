//go:build linux

package integration

import (
	"os"
	"os/exec"
	"testing"
)

// underCI reports whether the run is CI's, where everything a test needs
// must be there: a missing tool is a broken runner, not a reason to skip.
func underCI() bool { return os.Getenv("CI") == "true" }

// requireTool skips the test when a tool is missing, and fails it under CI.
func requireTool(t testing.TB, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if underCI() {
			t.Fatalf("%s missing under CI=true (.ci/run must install package %s)", name, pkg)
		}
		t.Skipf("%s not in PATH (apt-get install %s)", name, pkg)
	}
}

// requireRoot skips the test when not run as root, and fails it under CI
// (which runs as root).
func requireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if underCI() {
			t.Fatalf("CI=true runs as root, yet euid is %d: %s", os.Geteuid(), why)
		}
		t.Skip(why)
	}
}
