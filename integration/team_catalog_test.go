//go:build linux

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Two mounts of one team store share one catalog: a pipeline folder that
// appears is ingested by exactly one of them (the other finds the change
// handled when its turn comes), and the computed files both mounts show
// (best_*.csv, run_summary.json, catalog/*.parquet) are the same bytes.
// Each pipeline folder is written aside (library/) and moved into its
// dataset in one rename, as a single change; the mounts log each folder
// they ingest (at --log-level info), and the test counts those lines.
func TestTeamCatalogIngestedOncePerChange(t *testing.T) {
	stores := teamStore(t, 2)
	mnts := []string{
		mountStore(t, stores[0], "--log-level", "info"),
		mountStore(t, stores[1], "--log-level", "info"),
	}
	src := t.TempDir()
	run(t, "", n4wsBin, "demo", "--to-dir", src, "--datasets", "1", "--pipelines", "12", "--samples", "30")
	ds := strings.TrimSpace(run(t, "", "ls", filepath.Join(src, "runs")))
	srcDS := filepath.Join(src, "runs", ds)
	run(t, "", "mkdir", filepath.Join(mnts[0], "runs", ds))
	run(t, "", "cp", "-r", filepath.Join(srcDS, "_binaries"), filepath.Join(mnts[0], "runs", ds)+"/")
	stages := []string{filepath.Join(mnts[0], "library", "templates", "stage-a"), filepath.Join(mnts[1], "library", "templates", "stage-b")}
	for _, stage := range stages {
		run(t, "", "mkdir", stage)
	}

	var pids []string
	for _, e := range strings.Fields(run(t, "", "ls", srcDS)) {
		if !strings.HasPrefix(e, "_") {
			pids = append(pids, e)
		}
	}
	for i, pid := range pids {
		m := 0
		if i%3 == 2 { // a third of them from the other machine
			m = 1
		}
		mnt, stage := mnts[m], stages[m]
		run(t, "", "cp", "-r", filepath.Join(srcDS, pid), stage+"/")
		run(t, "", "mv", filepath.Join(stage, pid), filepath.Join(mnt, "runs", ds)+"/")
		time.Sleep(100 * time.Millisecond) // let both mounts hear of it, as pipelines finishing apart do
	}

	// Both mounts show every pipeline in their run summary, and the same
	// computed bytes.
	summary := func(mnt string) string {
		b, _ := os.ReadFile(filepath.Join(mnt, "runs", ds, "run_summary.json"))
		return string(b)
	}
	counted := regexp.MustCompile(fmt.Sprintf(`"pipelines":\s*%d,`, len(pids)))
	seenWithin(t, 10*time.Second, "every pipeline in run_summary.json on both mounts", func() bool {
		a := summary(mnts[0])
		return counted.MatchString(a) && a == summary(mnts[1])
	})
	computed := []string{filepath.Join("runs", ds, "run_summary.json")}
	for _, pattern := range []string{filepath.Join("runs", ds, "best_*.csv"), "catalog/*.parquet"} {
		matches, _ := filepath.Glob(filepath.Join(mnts[0], pattern))
		if len(matches) == 0 {
			t.Fatalf("no %s on mount A", pattern)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(mnts[0], m)
			computed = append(computed, rel)
		}
	}
	for _, rel := range computed {
		run(t, "", "cmp", filepath.Join(mnts[0], rel), filepath.Join(mnts[1], rel))
	}

	// Each folder was read by one mount, once.
	ingested := map[string][]string{}
	line := regexp.MustCompile(`msg="catalog ingested pipeline folder" dataset=\S+ pipeline=(\S+)`)
	for i, store := range stores {
		log, err := os.ReadFile(filepath.Join(store, "mount.log"))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range line.FindAllStringSubmatch(string(log), -1) {
			ingested[m[1]] = append(ingested[m[1]], "mount "+string(rune('A'+i)))
		}
	}
	for _, pid := range pids {
		if got := ingested[pid]; len(got) != 1 {
			t.Errorf("%s ingested %d times (by %v), want once over both mounts", pid, len(got), got)
		}
	}
	if len(ingested) != len(pids) {
		t.Errorf("ingested %d folders, want %d: %v", len(ingested), len(pids), ingested)
	}
}
