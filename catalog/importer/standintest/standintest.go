// Package standintest runs the nirs4all stand-in
// (integration/testdata/nirs4all_standin/standin.py) from Go tests: it
// writes a workspace the way nirs4all 0.11 does, so that importer and
// projection tests read a store as nirs4all really leaves it.
package standintest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	parquetw  string
	buildDir  string // parquetw's temporary folder, removed by Main
	buildErr  error
)

// Dir is the stand-in's folder in the repository.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "integration", "testdata", "nirs4all_standin")
}

// Parquetw builds the stand-in's Parquet writer once per test binary and
// returns its path. The package's TestMain calls Main, which removes it.
func Parquetw(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "n4ws-parquetw-")
		if err != nil {
			buildErr = err
			return
		}
		buildDir = dir
		parquetw = filepath.Join(dir, "parquetw")
		cmd := exec.Command("go", "build", "-o", parquetw, ".")
		cmd.Dir = filepath.Join(Dir(), "parquetw")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("build parquetw: %v", buildErr)
	}
	return parquetw
}

// Main runs the package's tests, then removes the Parquet writer built for
// them: call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// Run runs `standin.py <mode> --workspace ws args...` and fails the test
// if it fails. python3 is required (under CI=true as everywhere else).
func Run(t testing.TB, mode, ws string, args ...string) {
	t.Helper()
	cmd := Command(t, mode, ws, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("standin.py %s %v: %v\n%s", mode, args, err, out)
	}
}

// Command is the stand-in's command, to start it in the background.
func Command(t testing.TB, mode, ws string, args ...string) *exec.Cmd {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("the nirs4all stand-in needs python3: %v", err)
	}
	full := append([]string{filepath.Join(Dir(), "standin.py"), mode, "--workspace", ws, "--parquetw", Parquetw(t)}, args...)
	return exec.Command(py, full...)
}
