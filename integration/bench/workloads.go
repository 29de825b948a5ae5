//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// target is one side of the comparison: a native directory or the mount.
type target struct {
	name string // "native" or "mount"
	dir  string // where the workloads write
	root string // the workspace root: nirs4all's own files (store.sqlite)
	// backing holds the files the disk really serves: the native folder, or
	// the store's blobs. A cold read checks none of their pages is cached.
	backing string
	cold    func(ctx context.Context) error // makes this side's caches cold
}

// workload is one row of the table. run returns a throughput (higher is
// better) or, for time units, a duration in ms (lower is better).
type workload struct {
	name string
	unit string // "MiB/s", "files/s" or "ms"
	goal goal
	cold bool // needs drop_caches, so root
	run  func(b *bench, ctx context.Context, t target) (float64, error)
}

// result mirrors fsload's JSON line.
type result struct {
	Ops     int64   `json:"ops"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
}

// Folder names follow the runs/<dataset>/NNNN_name_hash convention of the
// mount, so the benchmark exercises the ordinary pipeline-folder path.
const (
	seqFile  = "0001_seqio_c0ffee/seq.bin"
	filesDir = "0002_files_c0ffee" // the first create round; later rounds use 0003, 0004
	rmDir    = "0005_rm_c0ffee"    // made and removed by the rm -rf row
)

func workloads(sizeMB, files, pipelines int) []workload {
	mib := fmt.Sprintf("%d MiB", sizeMB)
	return append([]workload{
		{"seq write " + mib, "MiB/s", atLeast(0.70), false, (*bench).seqWrite},
		{"seq read " + mib + " warm", "MiB/s", atLeast(0.95), false, (*bench).seqReadWarm},
		{"seq read " + mib + " cold (median of 3)", "MiB/s", atLeast(0.95), true, (*bench).seqReadCold},
		{fmt.Sprintf("create %d files of 4 KiB", files), "files/s", atLeast(0.50), false, (*bench).create},
		{fmt.Sprintf("stat %d files cold", files), "files/s", atLeast(0.50), true, (*bench).statCold},
		{fmt.Sprintf("read %d small files warm", files), "files/s", atLeast(0.60), false, (*bench).readSmallWarm},
		{fmt.Sprintf("read %d small files cold", files), "files/s", atLeast(0.60), true, (*bench).readSmallCold},
		{fmt.Sprintf("ls -l %d entries warm", files), "ms", atMost(1.5), false, (*bench).lsWarm},
		{fmt.Sprintf("rm -rf of %d files", files), "ms", atMost(1.5), false, (*bench).rmTree},
		{fmt.Sprintf("write %d pipeline folders (%d files, %d MB)", pipelines, 9*pipelines, pipelines*140/150),
			"ms", atMost(3), false, (*bench).writePipelines},
		sqliteWorkload(),
	}, standinWorkloads(pipelines)...)
}

func (b *bench) seqWrite(ctx context.Context, t target) (float64, error) {
	flushDirty() // neither side pays for the other's pending writeback
	r, err := b.fsload(ctx, "write", filepath.Join(t.dir, seqFile), fmt.Sprint(b.sizeMB))
	return mibPerSec(r), b.wantBytes(r, err, int64(b.sizeMB)<<20)
}

func (b *bench) seqReadWarm(ctx context.Context, t target) (float64, error) {
	return bestOf(3, true, func() (float64, error) {
		r, err := b.fsload(ctx, "read", filepath.Join(t.dir, seqFile))
		return mibPerSec(r), b.wantBytes(r, err, int64(b.sizeMB)<<20)
	})
}

// coldRounds is how many cold reads seqReadCold takes the median of: one
// cold read of a virtual disk varies by 2x from one minute to the next.
const coldRounds = 3

// seqReadCold reads the file after dropping the page cache (checked with
// mincore: not one page of the file left), coldRounds times; the median.
func (b *bench) seqReadCold(ctx context.Context, t target) (float64, error) {
	var got []float64
	for range coldRounds {
		if err := coldAndCheck(ctx, t); err != nil {
			return 0, err
		}
		r, err := b.fsload(ctx, "read", filepath.Join(t.dir, seqFile))
		if err := b.wantBytes(r, err, int64(b.sizeMB)<<20); err != nil {
			return 0, err
		}
		got = append(got, mibPerSec(r))
	}
	slices.Sort(got)
	return got[len(got)/2], nil
}

// create keeps the best of 3 rounds, each into a fresh folder; the later
// workloads use the first round's folder.
func (b *bench) create(ctx context.Context, t target) (float64, error) {
	best := 0.0
	for round := range 3 {
		flushDirty()
		dir := filepath.Join(t.dir, fmt.Sprintf("%04d_files_c0ffee", 2+round))
		r, err := b.fsload(ctx, "create", dir, fmt.Sprint(b.files), "4096")
		if err != nil {
			return 0, err
		}
		best = max(best, filesPerSec(r))
	}
	return best, nil
}

func (b *bench) statCold(ctx context.Context, t target) (float64, error) {
	if err := t.cold(ctx); err != nil {
		return 0, err
	}
	r, err := b.fsload(ctx, "stat", filepath.Join(t.dir, filesDir), fmt.Sprint(b.files))
	return filesPerSec(r), err
}

func (b *bench) readSmallWarm(ctx context.Context, t target) (float64, error) {
	return bestOf(3, true, func() (float64, error) {
		r, err := b.fsload(ctx, "readsmall", filepath.Join(t.dir, filesDir), fmt.Sprint(b.files))
		return filesPerSec(r), b.wantBytes(r, err, int64(b.files)*4096)
	})
}

func (b *bench) readSmallCold(ctx context.Context, t target) (float64, error) {
	if err := t.cold(ctx); err != nil {
		return 0, err
	}
	r, err := b.fsload(ctx, "readsmall", filepath.Join(t.dir, filesDir), fmt.Sprint(b.files))
	return filesPerSec(r), b.wantBytes(r, err, int64(b.files)*4096)
}

// rmTree times the real rm binary removing a fresh folder of b.files files
// (made untimed by fsload, then synced so no writeback is pending).
func (b *bench) rmTree(ctx context.Context, t target) (float64, error) {
	dir := filepath.Join(t.dir, rmDir)
	if _, err := b.fsload(ctx, "create", dir, fmt.Sprint(b.files), "4096"); err != nil {
		return 0, err
	}
	flushDirty()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "rm", "-rf", dir)
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("rm -rf %s: %w: %s", dir, err, stderr.Bytes())
	}
	ms := time.Since(start).Seconds() * 1000
	if _, err := os.Lstat(dir); !os.IsNotExist(err) {
		return 0, fmt.Errorf("rm -rf %s: still there (%v)", dir, err)
	}
	return ms, nil
}

// writePipelines times a training session's output: b.pipelines folders of
// 9 files each, written by fsload into the dataset folder.
func (b *bench) writePipelines(ctx context.Context, t target) (float64, error) {
	flushDirty()
	r, err := b.fsload(ctx, "pipelines", t.dir, fmt.Sprint(b.pipelines))
	if err == nil && r.Ops != int64(9*b.pipelines) {
		err = fmt.Errorf("wrote %d files, want %d", r.Ops, 9*b.pipelines)
	}
	return r.Seconds * 1000, err
}

// lsWarm times the real ls binary (process start included, the same on both
// sides), output to /dev/null, best of 5 after one warming run.
func (b *bench) lsWarm(ctx context.Context, t target) (float64, error) {
	dir := filepath.Join(t.dir, filesDir)
	// A short listing would be fast and wrong: check the count once, untimed.
	out, err := exec.CommandContext(ctx, "ls", "-1", dir).Output()
	if err != nil {
		return 0, fmt.Errorf("ls -1 %s: %w", dir, err)
	}
	if n := bytes.Count(out, []byte("\n")); n != b.files {
		return 0, fmt.Errorf("ls %s lists %d entries, want %d", dir, n, b.files)
	}
	return bestOf(5, false, func() (float64, error) {
		cmd := exec.CommandContext(ctx, "ls", "-l", dir) // nil Stdout is /dev/null
		cmd.Env = append(os.Environ(), "LC_ALL=C")       // same collation on both sides
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("ls -l %s: %w: %s", dir, err, stderr.Bytes())
		}
		return time.Since(start).Seconds() * 1000, nil
	})
}

// bestOf runs f once to warm caches, then n timed times, and keeps the best:
// the highest throughput, or the lowest time when higher is false.
func bestOf(n int, higher bool, f func() (float64, error)) (float64, error) {
	if _, err := f(); err != nil {
		return 0, err
	}
	var best float64
	for i := range n {
		m, err := f()
		if err != nil {
			return 0, err
		}
		if i == 0 || (higher && m > best) || (!higher && m < best) {
			best = m
		}
	}
	return best, nil
}

// fsload runs one workload in the client process and decodes its result.
func (b *bench) fsload(ctx context.Context, args ...string) (result, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, b.fsloadBin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// A Go client gets SIGURG preemption signals that C tools (cp, cat) never
	// get; each one interrupts the FUSE request in flight, which costs a round
	// trip and can surface as EINTR from close(2). Measure a client like cp.
	cmd.Env = append(os.Environ(), "GODEBUG="+strings.TrimPrefix(os.Getenv("GODEBUG")+",asyncpreemptoff=1", ","))
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("fsload %v: %w: %s", args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var r result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return result{}, fmt.Errorf("fsload %v: bad output %q: %w", args, stdout.Bytes(), err)
	}
	if r.Seconds <= 0 {
		r.Seconds = 1e-9 // a too-fast run still gives a finite rate
	}
	return r, nil
}

// wantBytes turns a short read or write into an error: a fast wrong answer
// must not show up as a good figure.
func (b *bench) wantBytes(r result, err error, want int64) error {
	if err == nil && r.Bytes != want {
		err = fmt.Errorf("moved %d bytes, want %d", r.Bytes, want)
	}
	return err
}

func mibPerSec(r result) float64   { return float64(r.Bytes) / (1 << 20) / r.Seconds }
func filesPerSec(r result) float64 { return float64(r.Ops) / r.Seconds }
