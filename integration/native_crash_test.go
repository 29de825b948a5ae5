//go:build linux

package integration

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNativeCrashSQLite kills the daemon with SIGKILL while a process
// commits to store.sqlite at the mount root (nirs4all's settings: WAL,
// synchronous=FULL), three times. After each remount the database passes
// integrity_check and holds every transaction whose COMMIT had returned.
func TestNativeCrashSQLite(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := filepath.Join(t.TempDir(), "mnt")
	var committed []string
	for round, delay := range []time.Duration{1200 * time.Millisecond, 600 * time.Millisecond, 2000 * time.Millisecond} {
		pid := mountAt(t, store, mnt)
		got := sqliteCrashRound(t, filepath.Join(mnt, "store.sqlite"), pid, delay, string(rune('a'+round)))
		if len(got) == 0 {
			t.Errorf("round %d: no commit returned in %v", round, delay)
		}
		committed = append(committed, got...)
		t.Logf("round %d: killed the daemon after %v, %d commits returned", round, delay, len(got))
	}
	mountAt(t, store, mnt)
	db := filepath.Join(mnt, "store.sqlite")
	check := py(t, sqliteCheckPy, db)
	if !strings.HasPrefix(check, "ok ") {
		t.Fatalf("integrity_check after the crashes: %q", check)
	}
	have := map[string]bool{}
	for _, id := range strings.Fields(py(t, sqliteIDsPy, db)) {
		have[id] = true
	}
	lost := 0
	for _, id := range committed {
		if !have[id] {
			lost++
			if lost <= 10 {
				t.Errorf("transaction %s committed before a crash is missing", id)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d committed transactions lost", lost, len(committed))
	}
	n4ws(t, store, "fsck")
}

// sqliteCrashRound runs the SQLite writer on db, SIGKILLs the daemon after
// delay after its first commit and returns the ids whose COMMIT had
// returned.
func sqliteCrashRound(t *testing.T, db string, daemon int, delay time.Duration, tag string) []string {
	t.Helper()
	cmd := exec.Command("python3", "-c", sqliteWriterPy, db, tag, "1000000")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ids := make(chan string)
	go func() {
		defer close(ids)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			ids <- sc.Text()
		}
	}()
	var got []string
	killed := false
	// The clock starts at the first commit: on a loaded machine Python and
	// the WAL recovery of the previous round can take longer than delay.
	var kill <-chan time.Time
	giveUp := time.After(delay + 60*time.Second)
	for ids != nil {
		select {
		case id, ok := <-ids:
			if !ok {
				ids = nil
				break
			}
			if got = append(got, id); len(got) == 1 {
				kill = time.After(delay)
			}
		case <-kill:
			killed = true
			if err := signalDaemon(daemon, syscall.SIGKILL); err != nil {
				t.Errorf("kill -9 daemon %d: %v", daemon, err)
			}
		case <-giveUp:
			// Writes may go on through passthrough after the daemon died;
			// the writer is our own child.
			cmd.Process.Kill()
			giveUp = nil
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Errorf("writer ended before the daemon was killed (after %d commits): %v: %s", len(got), err, stderr.String())
		signalDaemon(daemon, syscall.SIGKILL)
	}
	if !waitGone(daemon, 5*time.Second) {
		t.Fatalf("daemon %d survived SIGKILL", daemon)
	}
	t.Logf("writer: %v: %s", err, lastLine(stderr.String()))
	return got
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
