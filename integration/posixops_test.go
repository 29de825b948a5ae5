//go:build linux

package integration

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// minPythonOps is the number of checks posix_ops.py has today.
const minPythonOps = 16

// TestPythonOps runs each check of testdata/posix_ops.py (a script outside
// the mount) as a python3 process on its own folder below runs/.
func TestPythonOps(t *testing.T) {
	requireTool(t, "python3", "python3")
	t.Parallel()
	script, err := filepath.Abs("testdata/posix_ops.py")
	if err != nil {
		t.Fatal(err)
	}
	store := newStore(t)
	mnt := mountStore(t, store)
	// The script lists its checks; an empty or cut list must not pass.
	names := strings.Fields(run(t, "", "python3", script, "--list"))
	if len(names) < minPythonOps {
		t.Fatalf("posix_ops.py --list gave %d checks, want at least %d: %v", len(names), minPythonOps, names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(mnt, "runs/py", name)
			mkdirAll(t, dir)
			run(t, "", "python3", script, dir, name)
		})
	}
}

// TestRenameat2 checks RENAME_NOREPLACE and RENAME_EXCHANGE, which mv
// --exchange and many atomic-write libraries use.
func TestRenameat2(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	d := filepath.Join(mnt, "runs/ds/0001_rename2")
	at := func(p string) string { return filepath.Join(d, p) }
	writeFile(t, at("a"), []byte("A"))
	writeFile(t, at("b"), []byte("B"))
	writeFile(t, at("sub/c"), []byte("C"))
	rename2 := func(from, to string, flags uint) error {
		return unix.Renameat2(unix.AT_FDCWD, at(from), unix.AT_FDCWD, at(to), flags)
	}

	if err := rename2("a", "b", unix.RENAME_NOREPLACE); !errors.Is(err, unix.EEXIST) {
		t.Errorf("RENAME_NOREPLACE onto an existing file: %v, want EEXIST", err)
	}
	wantContent(t, at("a"), "A")
	wantContent(t, at("b"), "B")
	if err := rename2("a", "new", unix.RENAME_NOREPLACE); err != nil {
		t.Errorf("RENAME_NOREPLACE to a free name: %v", err)
	}
	wantContent(t, at("new"), "A")
	wantGone(t, at("a"))

	if err := rename2("new", "b", unix.RENAME_EXCHANGE); err != nil {
		t.Fatalf("RENAME_EXCHANGE of two files: %v", err)
	}
	wantContent(t, at("new"), "B")
	wantContent(t, at("b"), "A")
	// A file and a folder swap places.
	if err := rename2("b", "sub", unix.RENAME_EXCHANGE); err != nil {
		t.Fatalf("RENAME_EXCHANGE of a file and a folder: %v", err)
	}
	wantContent(t, at("sub"), "A")
	wantContent(t, at("b/c"), "C")
	// Two files in different folders swap places.
	if err := rename2("new", "b/c", unix.RENAME_EXCHANGE); err != nil {
		t.Fatalf("RENAME_EXCHANGE across folders: %v", err)
	}
	wantContent(t, at("new"), "C")
	wantContent(t, at("b/c"), "B")
	if err := rename2("new", "missing", unix.RENAME_EXCHANGE); !errors.Is(err, unix.ENOENT) {
		t.Errorf("RENAME_EXCHANGE with a missing target: %v, want ENOENT", err)
	}
	wantContent(t, at("new"), "C")
}

// TestSignalsDoNotFailIO: a program whose SA_RESTART signal handler fires
// often (timers, SIGCHLD, Go's preemption) must not see open() or close()
// fail with EINTR, and every closed file must hold its bytes. The same
// script first runs on a local folder to show it passes there.
func TestSignalsDoNotFailIO(t *testing.T) {
	requireTool(t, "python3", "python3")
	t.Parallel()
	script, err := filepath.Abs("testdata/signal_io.py")
	if err != nil {
		t.Fatal(err)
	}
	run(t, "", "python3", script, t.TempDir())
	store := newStore(t)
	mnt := mountStore(t, store)
	dir := filepath.Join(mnt, "runs/ds/0001_signals")
	mkdirAll(t, dir)
	run(t, "", "python3", script, dir)
}
