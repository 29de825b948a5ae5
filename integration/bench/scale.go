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
// of 5 small files, perDataset to a dataset, written through the mount;
// then a cold remount, and what a user waits for and the mount's memory:
// mount start, find over the whole tree, RSS after it, ls -l of a dataset.
func (b *bench) runScale(ctx context.Context, m *mount, n, perDataset int) error {
	if err := m.init(ctx); err != nil {
		return err
	}
	if err := m.up(ctx); err != nil {
		return err
	}
	runs := filepath.Join(m.dir, "runs")
	r, err := b.fsload(ctx, "lightpipelines", runs, fmt.Sprint(n), fmt.Sprint(perDataset))
	if err != nil {
		return err
	}
	fmt.Printf("scale: wrote %d pipeline folders (%d files) in %.1f s\n", n, r.Ops, r.Seconds)
	if err := m.down(ctx); err != nil {
		return err
	}
	if err := dropCaches(); err != nil {
		return err
	}
	start := time.Now()
	if err := m.up(ctx); err != nil {
		return err
	}
	mountSecs := time.Since(start).Seconds()
	pid, err := m.pid()
	if err != nil {
		return err
	}
	rssMount, _ := rssKiB(pid, "VmRSS:")
	start = time.Now()
	out, err := exec.CommandContext(ctx, "find", m.dir).Output()
	if err != nil {
		return fmt.Errorf("find %s: %w", m.dir, err)
	}
	findSecs := time.Since(start).Seconds()
	nodes := bytes.Count(out, []byte("\n"))
	rssFind, _ := rssKiB(pid, "VmRSS:")
	// The index is read through mmap (backing/store.go): its pages count in
	// RSS as file pages, which the kernel can drop; anonymous memory cannot.
	anon, _ := rssKiB(pid, "RssAnon:")
	file, _ := rssKiB(pid, "RssFile:")
	lsMs, err := bestOf(5, false, func() (float64, error) {
		start := time.Now()
		err := exec.CommandContext(ctx, "ls", "-l", filepath.Join(runs, "ds000")).Run()
		return time.Since(start).Seconds() * 1000, err
	})
	if err != nil {
		return fmt.Errorf("ls -l: %w", err)
	}
	fmt.Printf("scale: %d nodes; mount start %.2f s; find (cold) %.2f s; RSS %.0f MB after mount, %.0f MB after find "+
		"(%.0f bytes per node; anonymous %.0f MB, file/mmap %.0f MB); ls -l runs/ds000 (%d pipelines) warm %.1f ms\n",
		nodes, mountSecs, findSecs, float64(rssMount)/1024, float64(rssFind)/1024,
		float64(rssFind-rssMount)*1024/float64(max(nodes, 1)), float64(anon)/1024, float64(file)/1024,
		min(perDataset, n), lsMs)
	return nil
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
