//go:build linux

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Team stores under failure: a server down, a mount killed.

func TestTeamMountRecoversFromPostgresOutage(t *testing.T) {
	stores, pg, _ := teamStoreOn(t, 1)
	mnt := mountStore(t, stores[0])
	runs := filepath.Join(mnt, "runs")
	run(t, "", "sh", "-c", "echo before > "+filepath.Join(runs, "before.txt"))

	// Files this machine has seen keep reading during the outage, even
	// once the kernel's caches have expired: a large one (its blob in the
	// local cache) and a small one (kept in the index).
	lib := filepath.Join(mnt, "library", "templates")
	big := filepath.Join(t.TempDir(), "big.bin")
	run(t, "", "dd", "if=/dev/urandom", "of="+big, "bs=64k", "count=4", "status=none")
	run(t, "", "cp", big, filepath.Join(lib, "big.bin"))
	run(t, "", "sh", "-c", "echo small > "+filepath.Join(lib, "small.txt"))
	run(t, "", "cmp", big, filepath.Join(lib, "big.bin"))
	run(t, "", "cat", filepath.Join(lib, "small.txt"))
	run(t, "", "ls", lib)

	pg.Stop(t)
	time.Sleep(11 * time.Second) // past the kernel's entry and attribute timeouts (10 s)
	run(t, "", "cmp", big, filepath.Join(lib, "big.bin"))
	if got := run(t, "", "cat", filepath.Join(lib, "small.txt")); got != "small\n" {
		t.Fatalf("small.txt during the outage: %q", got)
	}
	if got := strings.Fields(run(t, "", "ls", lib)); !slices.Equal(got, []string{"big.bin", "small.txt"}) {
		t.Fatalf("ls during the outage: %v", got)
	}
	out, err := exe("", "sh", "-c", "echo during > "+filepath.Join(runs, "during.txt"))
	if err == nil || !strings.Contains(out, "Input/output error") {
		t.Fatalf("a write with PostgreSQL down: %v %q, want EIO", err, out)
	}
	log, _ := os.ReadFile(filepath.Join(stores[0], "mount.log"))
	if !strings.Contains(string(log), "store server unavailable") {
		t.Fatalf("the mount log does not give the cause:\n%s", log)
	}
	if out, _ := n4wsFail(t, stores[0], "status"); !strings.Contains(out, "store server unavailable") {
		t.Fatalf("n4ws status with PostgreSQL down does not say why: %s", out)
	}

	pg.Restart(t)
	seenWithin(t, 15*time.Second, "a write once PostgreSQL is back", func() bool {
		_, err := exe("", "sh", "-c", "echo after > "+filepath.Join(runs, "after.txt"))
		return err == nil
	})
	if got := strings.Fields(run(t, "", "ls", runs)); !slices.Equal(got, []string{"after.txt", "before.txt"}) {
		t.Fatalf("runs/ after the outage: %v", got)
	}
	if got := run(t, "", "cat", filepath.Join(runs, "before.txt")); got != "before\n" {
		t.Fatalf("before.txt after the outage: %q", got)
	}
	n4ws(t, stores[0], "fsck")
}

func TestTeamMountKilledWhileOtherWrites(t *testing.T) {
	stores := teamStore(t, 2)
	mntA := filepath.Join(t.TempDir(), "mnt")
	pidA := mountAt(t, stores[0], mntA)
	mntB := mountStore(t, stores[1])
	run(t, "", "mkdir", "-p", filepath.Join(mntB, "runs", "other"))

	stopFile := filepath.Join(t.TempDir(), "stop")
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := exe(filepath.Join(mntB, "runs", "other"), "sh", "-c",
			`i=0; while [ ! -e "$0" ]; do echo "line $i" > "f$i.txt" || exit 1; i=$((i+1)); done; echo $i`, stopFile)
		done <- result{out, err}
	}()

	dirA := filepath.Join(mntA, "runs", "crash")
	got := crashRound(t, dirA, pidA, 1500*time.Millisecond, 7)
	if len(got) == 0 {
		t.Fatal("the writer on the killed mount closed no file")
	}
	os.WriteFile(stopFile, nil, 0o644)
	r := <-done
	if r.err != nil {
		t.Fatalf("the other mount's writer failed while the first was killed: %v\n%s", r.err, r.out)
	}
	written := atoi(strings.TrimSpace(r.out))
	if written == 0 {
		t.Fatal("the other mount's writer wrote nothing")
	}

	var onB, onA []closedFile
	for _, c := range got {
		onB = append(onB, closedFile{c.sum, filepath.Join(mntB, "runs", "crash", c.path)})
		onA = append(onA, closedFile{c.sum, filepath.Join(dirA, c.path)})
	}
	checkClosed(t, onB)
	for i := 0; i < written; i += max(1, written/20) {
		if got := run(t, "", "cat", filepath.Join(mntB, "runs", "other", fmt.Sprintf("f%d.txt", i))); got != fmt.Sprintf("line %d\n", i) {
			t.Fatalf("f%d.txt on the surviving mount: %q", i, got)
		}
	}
	t.Logf("killed mount had closed %d files; the other wrote %d meanwhile", len(got), written)

	mountAt(t, stores[0], mntA) // the killed machine comes back
	checkClosed(t, onA)
	if n := len(strings.Fields(run(t, "", "ls", filepath.Join(mntA, "runs", "other")))); n < written {
		t.Fatalf("the remounted machine lists %d of the other's %d files", n, written)
	}
	n4ws(t, stores[1], "fsck")
}

func TestTeamMountSurvivesS3Outage(t *testing.T) {
	stores, _, s3 := teamStoreOn(t, 1)
	mnt := mountStore(t, stores[0])
	runs := filepath.Join(mnt, "runs")
	src := filepath.Join(t.TempDir(), "big.bin")
	run(t, "", "dd", "if=/dev/urandom", "of="+src, "bs=64k", "count=16", "status=none")
	run(t, "", "cp", src, filepath.Join(runs, "big.bin"))

	s3.Stop()
	run(t, "", "cmp", src, filepath.Join(runs, "big.bin"))
	run(t, "", "sh", "-c", "echo small > "+filepath.Join(runs, "small.txt"))
	src2 := filepath.Join(t.TempDir(), "big2.bin")
	run(t, "", "dd", "if=/dev/urandom", "of="+src2, "bs=64k", "count=16", "status=none")
	out, err := exe("", "cp", src2, filepath.Join(runs, "big2.bin"))
	if err == nil || !strings.Contains(out, "Input/output error") {
		t.Fatalf("a large write with S3 down: %v %q, want EIO", err, out)
	}
	if log, _ := os.ReadFile(filepath.Join(stores[0], "mount.log")); !strings.Contains(string(log), "upload blob") {
		t.Fatalf("the mount log does not give the cause:\n%s", log)
	}

	s3.Restart(t)
	seenWithin(t, 30*time.Second, "a large write once S3 is back", func() bool {
		_, err := exe("", "cp", src2, filepath.Join(runs, "big2.bin"))
		return err == nil
	})
	run(t, "", "cmp", src2, filepath.Join(runs, "big2.bin"))
	if got := run(t, "", "cat", filepath.Join(runs, "small.txt")); got != "small\n" {
		t.Fatalf("small.txt: %q", got)
	}
	n4ws(t, stores[0], "fsck")
}

func TestTeamPostgresRestartDuringWrites(t *testing.T) {
	stores, pg, _ := teamStoreOn(t, 1)
	mnt := mountStore(t, stores[0])
	dir := filepath.Join(mnt, "runs", "busy")
	run(t, "", "mkdir", dir)
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		// python3 checks close(2), which is where a file's content is
		// committed (sh ignores errors of close).
		out, err := exe(dir, "python3", "-c", `import time
end, i = time.time() + 7, 0
while time.time() < end:
    try:
        with open(f"f{i}.txt", "w") as f:
            f.write(f"line {i}\n")
        print("ok", i, flush=True)
    except OSError:
        print("fail", i, flush=True)
        time.sleep(0.05)
    i += 1`)
		done <- result{out, err}
	}()
	time.Sleep(1500 * time.Millisecond)
	pg.Stop(t)
	time.Sleep(time.Second)
	pg.Restart(t)
	r := <-done
	if r.err != nil {
		t.Fatalf("writer: %v\n%s", r.err, r.out)
	}
	var ok []int
	lastFail := -1
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		verdict, num, _ := strings.Cut(line, " ")
		switch verdict {
		case "ok":
			ok = append(ok, atoi(num))
		case "fail":
			lastFail = atoi(num)
		}
	}
	if lastFail < 0 {
		t.Fatal("no write failed while PostgreSQL was down")
	}
	if len(ok) == 0 || ok[len(ok)-1] < lastFail {
		t.Fatalf("no write succeeded after the restart (last failure %d, successes %v)", lastFail, ok)
	}
	for _, i := range ok {
		if got, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("f%d.txt", i))); err != nil || string(got) != fmt.Sprintf("line %d\n", i) {
			t.Fatalf("f%d.txt, written successfully: %q, %v", i, got, err)
		}
	}
	t.Logf("%d writes succeeded, the last failure was write %d", len(ok), lastFail)
	n4ws(t, stores[0], "fsck")
}

// n4ws status on a team store whose PostgreSQL, then S3, is down exits
// non-zero with one line naming the service that is down, where it is and
// the cause, and answers again once the server is back.
func TestTeamStatusNamesOutage(t *testing.T) {
	stores, pg, s3 := teamStoreOn(t, 1)
	store := stores[0]
	n4ws(t, store, "status")

	pg.Stop(t)
	out, code := n4wsFail(t, store, "status")
	if code == 0 || !strings.Contains(out, "outage: PostgreSQL (the index) is unavailable: open index postgres://") ||
		!strings.Contains(out, pg.Socket) || strings.Contains(out, "S3") {
		t.Fatalf("n4ws status with PostgreSQL down (exit %d) does not name the outage alone:\n%s", code, out)
	}
	t.Logf("n4ws status with PostgreSQL down: %s", out)
	pg.Restart(t)
	n4ws(t, store, "status")

	s3.Stop()
	out, code = n4wsFail(t, store, "status")
	if code == 0 || !strings.Contains(out, "outage: S3 (the blobs) at s3://"+s3.Bucket) ||
		!strings.Contains(out, s3.Endpoint) || strings.Contains(out, "PostgreSQL") {
		t.Fatalf("n4ws status with S3 down (exit %d) does not name the outage alone:\n%s", code, out)
	}
	t.Logf("n4ws status with S3 down: %s", out)
	s3.Restart(t)
	n4ws(t, store, "status")
}
