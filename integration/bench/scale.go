//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// runScale is the BENCH_SCALE=N run (issue 13 "Scale"): N pipeline folders
// of 9 files, perDataset to a dataset, written directly into the store
// (scale_gen.go) and ingested by the catalog; then a cold mount, and what a
// user waits for and the mount's memory: mount start, find over the whole
// tree, RSS after it, ls -l of a dataset, and the computed files' refresh
// after one new pipeline (scale_refresh.go).
func (b *bench) runScale(ctx context.Context, m *mount, n, perDataset int) error {
	if err := m.init(ctx); err != nil {
		return err
	}
	g, err := generateScale(ctx, m.store, n, perDataset)
	if err != nil {
		return err
	}
	fmt.Printf("scale: generated %d datasets, %d pipeline folders, %d files in %.1f s (%.0f files/s)\n",
		g.datasets, g.folders, g.files, g.seconds, float64(g.files)/g.seconds)
	start := time.Now()
	if err := m.n4ws(ctx, "catalog", "list"); err != nil {
		return fmt.Errorf("catalog ingestion: %w", err)
	}
	fmt.Printf("scale: catalog ingestion of %d folders %.1f s\n", g.folders, time.Since(start).Seconds())
	if err := dropCaches(); err != nil {
		return err
	}
	start = time.Now()
	if err := m.up(ctx); err != nil {
		return err
	}
	mountSecs := time.Since(start).Seconds()
	pid, err := m.pid()
	if err != nil {
		return err
	}
	before := readRSS(pid)
	start = time.Now()
	out, err := exec.CommandContext(ctx, "find", m.dir).Output()
	if err != nil {
		return fmt.Errorf("find %s: %w", m.dir, err)
	}
	findSecs := time.Since(start).Seconds()
	nodes := bytes.Count(out, []byte("\n"))
	after := readRSS(pid)
	ds := filepath.Join(m.dir, "runs", "ds000")
	lsMs, err := bestOf(5, false, func() (float64, error) {
		start := time.Now()
		err := exec.CommandContext(ctx, "ls", "-l", ds).Run()
		return time.Since(start).Seconds() * 1000, err
	})
	if err != nil {
		return fmt.Errorf("ls -l: %w", err)
	}
	fmt.Printf("scale: %d nodes; mount start %.2f s; find (cold) %.2f s\n", nodes, mountSecs, findSecs)
	fmt.Printf("scale: RSS after mount %s; after find %s (%.0f bytes per node); peak %.0f MB\n",
		before, after, float64(after.total-before.total)*1024/float64(max(nodes, 1)), float64(after.peak)/1024)
	fmt.Printf("scale: ls -l runs/ds000 (%d pipelines) warm %.1f ms\n", min(perDataset, n, 9998), lsMs)
	return scaleRefresh(ctx, m, "ds000", min(perDataset, n, 9998)+1)
}

// rss is a process's resident memory in KiB: the index is read through
// mmap (backing/store.go), so its pages count as file pages, which the
// kernel can drop; anonymous memory it cannot.
type rss struct{ total, anon, file, peak int64 }

func readRSS(pid int) rss {
	var r rss
	r.total, _ = rssKiB(pid, "VmRSS:")
	r.anon, _ = rssKiB(pid, "RssAnon:")
	r.file, _ = rssKiB(pid, "RssFile:")
	r.peak, _ = rssKiB(pid, "VmHWM:")
	return r
}

func (r rss) String() string {
	return fmt.Sprintf("%.0f MB (anonymous %.0f MB, file/mmap %.0f MB)",
		float64(r.total)/1024, float64(r.anon)/1024, float64(r.file)/1024)
}

// pid finds the mount process of m: the n4ws process whose command line
// names m.dir (the daemon re-runs n4ws mount ... --foreground).
func (m *mount) pid() (int, error) {
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range dirs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		if len(args) > 0 && args[0] == m.bin && containsAll(args, "mount", m.dir) {
			return strconv.Atoi(filepath.Base(filepath.Dir(p)))
		}
	}
	return 0, fmt.Errorf("no mount process for %s", m.dir)
}

func containsAll(args []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, a := range args {
			found = found || a == w
		}
		if !found {
			return false
		}
	}
	return true
}

// rssKiB is the field (VmRSS:, RssAnon:...) of process pid's status in
// KiB, and whether it was there.
func rssKiB(pid int, field string) (int64, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			n, err := strconv.ParseInt(f[1], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
