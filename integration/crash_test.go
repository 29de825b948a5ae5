//go:build linux

package integration

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// closedFile is one line of the crash writer: a file it closed successfully.
type closedFile struct{ sum, path string }

// TestCrash kills the daemon with SIGKILL while a writer is busy, three
// times on one store. Every file the writer had closed must come back with
// its exact content after a remount on the same (stale) mount point, and
// fsck must find the store clean.
func TestCrash(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	var closed []closedFile
	for round, delay := range []time.Duration{1500 * time.Millisecond, 700 * time.Millisecond, 2500 * time.Millisecond} {
		pid := mountAt(t, store, mnt)
		checkClosed(t, closed)
		dir := filepath.Join(mnt, "runs/crash", fmt.Sprintf("round%d", round))
		got := crashRound(t, dir, pid, delay, uint64(round+1))
		if len(got) == 0 {
			t.Errorf("round %d: the writer closed no file in %v", round, delay)
		}
		for _, c := range got {
			closed = append(closed, closedFile{c.sum, filepath.Join(dir, c.path)})
		}
		t.Logf("round %d: killed the daemon after %v, %d files closed", round, delay, len(got))
	}
	mountAt(t, store, mnt)
	checkClosed(t, closed)
	n4ws(t, store, "fsck")
}

// crashRound starts the writer in dir, SIGKILLs the daemon after delay and
// returns the files the writer reported closed.
func crashRound(t *testing.T, dir string, daemon int, delay time.Duration, seed uint64) []closedFile {
	t.Helper()
	mkdirAll(t, dir)
	cmd := exec.Command(crashWriterBin, dir, fmt.Sprint(seed))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan closedFile)
	go readClosed(out, lines)

	var got []closedFile
	killed := false
	killDaemon := func() {
		killed = true
		if err := signalDaemon(daemon, syscall.SIGKILL); err != nil {
			t.Errorf("kill -9 daemon %d: %v", daemon, err)
		}
	}
	kill := time.After(delay)
	giveUp := time.After(delay + 20*time.Second)
	for lines != nil {
		select {
		case c, ok := <-lines:
			if !ok {
				lines = nil
				break
			}
			got = append(got, c)
		case <-kill:
			killDaemon()
		case <-giveUp:
			t.Errorf("writer still running 20 s after the daemon was killed")
			cmd.Process.Kill() // our own child
			giveUp = nil
		}
	}
	err = cmd.Wait()
	msg := strings.TrimSpace(stderr.String())
	if !killed {
		// The mount was still healthy: any error the writer saw is a bug.
		t.Errorf("writer failed before the daemon was killed (after %d files): %v: %s", len(got), err, msg)
		killDaemon()
	} else if err == nil {
		t.Errorf("writer exited 0; it should have failed when the mount died")
	}
	t.Logf("writer: %v: %s", err, msg)
	if !waitGone(daemon, 5*time.Second) {
		t.Fatalf("daemon %d survived SIGKILL", daemon)
	}
	return got
}

// readClosed parses "<sha256> <path>" lines; a line cut short by a crash
// of the writer itself is dropped.
func readClosed(out io.Reader, lines chan<- closedFile) {
	defer close(lines)
	r := bufio.NewReader(out)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		sum, path, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		if ok && len(sum) == 64 {
			lines <- closedFile{sum, path}
		}
	}
}

// checkClosed fails for every closed file that is missing or changed.
func checkClosed(t *testing.T, files []closedFile) {
	t.Helper()
	bad := 0
	for _, f := range files {
		b, err := os.ReadFile(f.path)
		switch {
		case err != nil:
			bad++
			if bad <= 10 {
				t.Errorf("closed before the crash, now: %v", err)
			}
		case sha(b) != f.sum:
			bad++
			if bad <= 10 {
				t.Errorf("%s: %d bytes with sha256 %s, want %s", f.path, len(b), sha(b), f.sum)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d closed files lost or changed", bad, len(files))
	}
}
