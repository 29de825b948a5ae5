//go:build linux

package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing/backingtest"
)

// teamStore starts a throwaway PostgreSQL and S3 server and makes n
// folders of one team store on them with `n4ws init --index --blobs`, as
// n machines would. Credentials are in the environment, as a user keeps
// them.
func teamStore(t testing.TB, n int) []string {
	stores, _, _ := teamStoreOn(t, n)
	return stores
}

// teamStoreOn is teamStore that also returns the database server, for
// outages.
func teamStoreOn(t testing.TB, n int) ([]string, *backingtest.Postgres, *backingtest.S3) {
	t.Helper()
	if fuseMissing != "" {
		t.Skip(fuseMissing)
	}
	pg := backingtest.StartPostgres(t)
	s3 := backingtest.StartS3(t)
	// Every test gateway has the same fixed credentials, so setting them
	// for the whole process is safe with parallel tests.
	os.Setenv("AWS_ACCESS_KEY_ID", s3.AccessKey)
	os.Setenv("AWS_SECRET_ACCESS_KEY", s3.SecretKey)
	var stores []string
	for i := range n {
		store := filepath.Join(t.TempDir(), fmt.Sprintf("machine%d", i))
		out := n4ws(t, store, "init", "--index", pg.DSN, "--blobs", "s3://"+s3.Bucket+"/team",
			"--s3-endpoint", "http://"+s3.Endpoint)
		if !strings.Contains(out, "created store") {
			t.Fatalf("init of %s: %s", store, out)
		}
		desc, err := os.ReadFile(filepath.Join(store, "store.yaml"))
		if err != nil || bytes.Contains(desc, []byte(s3.SecretKey)) {
			t.Fatalf("store.yaml: %v, or it holds the secret:\n%s", err, desc)
		}
		stores = append(stores, store)
	}
	return stores, pg, s3
}

// seenWithin polls check (as a user looking again would) until it is true or
// the deadline passes, and returns how long it took.
func seenWithin(t *testing.T, within time.Duration, what string, check func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !check() {
		if time.Since(start) > within {
			t.Fatalf("%s: not seen within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// Two mounts of one team store, in two processes on two mount points: what
// cp writes into one is seen on the other within a second (LISTEN/NOTIFY,
// no polling), byte for byte, computed best files and Parquet included.
func TestTeamTwoMountsOneTree(t *testing.T) {
	stores := teamStore(t, 2)
	mntA, mntB := mountStore(t, stores[0]), mountStore(t, stores[1])
	// B lists runs/ first: its kernel caches the listing that A's copy
	// must then invalidate.
	if out := run(t, "", "ls", filepath.Join(mntB, "runs")); strings.TrimSpace(out) != "" {
		t.Fatalf("runs/ of a new team store is not empty: %q", out)
	}
	src := t.TempDir()
	run(t, "", n4wsBin, "demo", "--to-dir", src, "--datasets", "1", "--pipelines", "4", "--samples", "30")
	ds := strings.TrimSpace(run(t, "", "ls", filepath.Join(src, "runs")))
	run(t, "", "cp", "-r", filepath.Join(src, "runs", ds), filepath.Join(mntA, "runs")+"/")
	want := strings.Fields(sh(t, "cd "+filepath.Join(src, "runs", ds)+" && find . -type f | sort"))

	took := seenWithin(t, time.Second, "the copied pipeline folders on the other mount", func() bool {
		out, err := exe(filepath.Join(mntB, "runs", ds), "find", ".", "-type", "f")
		got := strings.Fields(out)
		return err == nil && !slices.ContainsFunc(want, func(f string) bool { return !slices.Contains(got, f) })
	})
	t.Logf("the other mount listed every copied file %v after cp returned", took)
	for _, f := range want {
		a, b := filepath.Join(mntA, "runs", ds, f), filepath.Join(mntB, "runs", ds, f)
		run(t, "", "cmp", a, b)
		run(t, "", "cmp", a, filepath.Join(src, "runs", ds, f))
	}

	// The computed files agree byte for byte on both mounts.
	best := func(mnt string) string {
		out, _ := exe(filepath.Join(mnt, "runs", ds), "sh", "-c", "ls best_*.csv")
		return strings.TrimSpace(out)
	}
	seenWithin(t, 5*time.Second, "best_*.csv on both mounts", func() bool {
		return best(mntA) != "" && best(mntA) == best(mntB)
	})
	for _, rel := range []string{filepath.Join("runs", ds, best(mntA)), "catalog/predictions.parquet"} {
		a, err := os.ReadFile(filepath.Join(mntA, rel))
		if err != nil || len(a) == 0 {
			t.Fatalf("%s on mount A: %d bytes, %v", rel, len(a), err)
		}
		run(t, "", "cmp", filepath.Join(mntA, rel), filepath.Join(mntB, rel))
	}

	// And the other way: B removes a folder, A no longer lists it.
	gone := strings.Fields(run(t, "", "ls", filepath.Join(mntA, "runs", ds)))[0]
	run(t, "", "rm", "-rf", filepath.Join(mntB, "runs", ds, gone))
	seenWithin(t, time.Second, "a folder removed on the other mount", func() bool {
		out, err := exe("", "ls", filepath.Join(mntA, "runs", ds))
		return err == nil && !slices.Contains(strings.Fields(out), gone)
	})
	n4ws(t, stores[0], "fsck")
}

// Two mounts creating 100 pipeline folders each in one dataset at the same
// time, as two nirs4all runs on two machines do (next number, mkdir, try
// the next on EEXIST, then the pipeline's files): no number is given
// twice, and every folder has its file.
func TestTeamMountsNumberPipelinesWithoutDuplicates(t *testing.T) {
	stores := teamStore(t, 2)
	mnts := []string{mountStore(t, stores[0]), mountStore(t, stores[1])}
	run(t, "", "mkdir", filepath.Join(mnts[0], "runs", "corn"))
	seenWithin(t, time.Second, "the dataset folder on the other mount", func() bool {
		_, err := os.Stat(filepath.Join(mnts[1], "runs", "corn"))
		return err == nil
	})
	const each = 100
	// The script is the writer: mkdir(1) of a taken number fails, and it
	// moves on to the next one.
	script := `cd "$1" && made=0 && n=1 && while [ $made -lt ` + fmt.Sprint(each) + ` ]; do
	  d="$(printf %04d $n)_m$2_abc123"
	  if mkdir "$d" 2>/dev/null; then echo "y_true,y_pred,m$2" > "$d/predictions.csv" || exit 1; made=$((made+1)); fi
	  n=$((n+1)); done`
	var wg sync.WaitGroup
	errs := make([]error, len(mnts))
	outs := make([]string, len(mnts))
	for i, mnt := range mnts {
		wg.Go(func() {
			outs[i], errs[i] = exe("", "sh", "-c", script, "writer", filepath.Join(mnt, "runs", "corn"), fmt.Sprint(i))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v\n%s", i, err, outs[i])
		}
	}
	for _, mnt := range mnts {
		var names []string
		seenWithin(t, time.Second, "every folder on "+mnt, func() bool {
			out, err := exe("", "ls", filepath.Join(mnt, "runs", "corn"))
			names = slices.DeleteFunc(strings.Fields(out), func(n string) bool {
				return !strings.HasSuffix(n, "_abc123") // computed files (run_summary.json)
			})
			return err == nil && len(names) >= 2*each
		})
		seen := map[string]string{}
		for _, n := range names {
			if prev, dup := seen[n[:4]]; dup {
				t.Fatalf("number %s given twice: %s and %s", n[:4], prev, n)
			}
			seen[n[:4]] = n
		}
		if len(names) != 2*each {
			t.Fatalf("%s lists %d folders, want %d: %v", mnt, len(names), 2*each, names)
		}
		for _, n := range names[:10] {
			writer := n[strings.Index(n, "_m")+1 : strings.LastIndex(n, "_")]
			if got := run(t, "", "cat", filepath.Join(mnt, "runs", "corn", n, "predictions.csv")); got != "y_true,y_pred,"+writer+"\n" {
				t.Fatalf("%s/predictions.csv on %s: %q", n, mnt, got)
			}
		}
	}
}

// With PostgreSQL down, files the mount has seen keep reading (past the
// kernel's caches), a write through the mount fails with EIO and the
// cause in the mount's log, nothing stored is harmed, and once the server
// is back the mount works again by itself.
// n4ws migrate copies a local store into a new team store and that one
// into a new local store; fsck is clean on every side and the three
// mounts show the same runs/ and the same Parquet catalog, byte for byte.
// A store that is not new is refused.
func TestTeamMigrateLocalToTeamAndBack(t *testing.T) {
	local := newStore(t)
	n4ws(t, local, "demo", "--datasets", "2", "--pipelines", "5", "--samples", "30")
	stores, _, _ := teamStoreOn(t, 1)
	team := stores[0]
	back := newStore(t)

	out := n4ws(t, local, "migrate", "--to", team)
	if strings.Count(out, " 0 problems") != 2 {
		t.Fatalf("migrate to the team store:\n%s", out)
	}
	out = n4ws(t, team, "migrate", "--to", back)
	if strings.Count(out, " 0 problems") != 2 {
		t.Fatalf("migrate back to a local store:\n%s", out)
	}
	if out, _ := n4wsFail(t, local, "migrate", "--to", team); !strings.Contains(out, "not a new store") {
		t.Fatalf("migrate into a store that is not new: %s", out)
	}
	n4ws(t, team, "fsck")
	n4ws(t, back, "fsck")

	mLocal, mTeam, mBack := mountStore(t, local), mountStore(t, team), mountStore(t, back)
	for _, m := range []string{mTeam, mBack} {
		run(t, "", "diff", "-r", filepath.Join(mLocal, "runs"), filepath.Join(m, "runs"))
		run(t, "", "cmp", filepath.Join(mLocal, "catalog", "predictions.parquet"), filepath.Join(m, "catalog", "predictions.parquet"))
	}
	if got := run(t, "", "find", filepath.Join(mTeam, "runs"), "-type", "f"); strings.Count(got, "predictions.csv") < 10 {
		t.Fatalf("the team store holds too few pipelines:\n%s", got)
	}
}

// kill -9 of one mount while it writes loses nothing the other mount
// depends on: the other keeps writing throughout, sees every file the
// killed one had closed, byte for byte, and the killed one remounts.
// With the S3 server down, files this machine has read or written keep
// reading from its cache, small files (kept in the index) can still be
// written, a large file's write fails with EIO, and writes work again
// once the server is back.
// PostgreSQL restarted while a writer is busy: the writes during the
// outage fail, those after it succeed again without a remount, and every
// file whose write succeeded has its content.
