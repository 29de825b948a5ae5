//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// nirs4all at the workspace root: the stand-in of
// integration/testdata/nirs4all_standin (nirs4all 0.11's store.sqlite,
// artifacts/, arrays/ and logs/ I/O) runs one nirs4all.run() of
// BENCH_PIPELINES pipelines over 3 datasets, on the mount root (where the
// live projection turns store.sqlite into runs/ folders as it goes) and in
// a native folder. A second run, on the mount only, measures the lag from
// each pipeline row's commit to its folder being listed in runs/<ds>/.

const standinDatasets = 3

// standinPaths are the stand-in script and its Parquet writer; set by run.
type standinPaths struct{ script, parquetw string }

func standinWorkloads(pipelines int) []workload {
	per := max(1, pipelines/standinDatasets)
	return []workload{
		{fmt.Sprintf("nirs4all stand-in: %d pipelines, %d datasets", per*standinDatasets, standinDatasets),
			"ms", atMost(1.5), false, (*bench).standinRun},
		{"lag nirs4all commit -> folder listed (max)", "ms", mountAtMost(2000), false, (*bench).standinLag},
	}
}

func (b *bench) standinPerDataset() int { return max(1, b.pipelines/standinDatasets) }

func standinNames(prefix string) []string {
	var out []string
	for i := range standinDatasets {
		out = append(out, fmt.Sprintf("%s_%c", prefix, 'a'+i))
	}
	return out
}

// runStandin runs one stand-in run on workspace ws and returns its wall
// time in ms.
func (b *bench) runStandin(ctx context.Context, ws string, datasets []string, commitLog string) (float64, error) {
	args := []string{b.standin.script, "run", "--workspace", ws, "--datasets", strings.Join(datasets, ","),
		"--pipelines", fmt.Sprint(b.standinPerDataset()), "--parquetw", b.standin.parquetw}
	if commitLog != "" {
		args = append(args, "--commit-log", commitLog)
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "python3", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("stand-in: %w\n%s", err, out.Bytes())
	}
	return float64(time.Since(start).Microseconds()) / 1000, nil
}

// standinRun: one nirs4all run at the workspace root (the mount root, or
// the native folder). On the mount it also waits until every pipeline is
// a folder (not timed: the lag row measures that).
func (b *bench) standinRun(ctx context.Context, t target) (float64, error) {
	flushDirty()
	ds := standinNames("bench")
	ms, err := b.runStandin(ctx, t.root, ds, "")
	if err != nil || t.name != "mount" {
		return ms, err
	}
	want := b.standinPerDataset() + 1 // and the refit of the best
	start := time.Now()
	for _, d := range ds {
		if err := waitFolders(ctx, filepath.Join(t.root, "runs", d), want, time.Minute); err != nil {
			return 0, err
		}
	}
	fmt.Fprintf(os.Stderr, "bench: every stand-in pipeline a folder %v after nirs4all exited\n", time.Since(start).Round(time.Millisecond))
	return ms, nil
}

func waitFolders(ctx context.Context, dir string, want int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if n := len(pipelineFolders(dir)); n >= want {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("%s: %d pipeline folders after %v, want %d", dir, n, limit, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func pipelineFolders(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		if e.IsDir() && e.Name()[0] >= '0' && e.Name()[0] <= '9' {
			out = append(out, e.Name())
		}
	}
	return out
}

// standinLag runs the stand-in on the mount while a poller lists
// runs/<ds>/ every 20 ms, and returns the largest lag from a pipeline
// row's commit (the stand-in's commit log: pipeline_begin, written just
// after the COMMIT) to its folder NNNN_<name> being listed.
func (b *bench) standinLag(ctx context.Context, t target) (float64, error) {
	ds := standinNames("lag")
	logf := filepath.Join(filepath.Dir(t.root), "standin-lag.jsonl")
	os.Remove(logf)
	seen := &firstSeen{at: map[string]time.Time{}}
	pollCtx, stopPoll := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		seen.poll(pollCtx, t.root, ds)
	}()
	_, err := b.runStandin(ctx, t.root, ds, logf)
	if err == nil {
		for _, d := range ds {
			if err = waitFolders(ctx, filepath.Join(t.root, "runs", d), b.standinPerDataset()+1, time.Minute); err != nil {
				break
			}
		}
	}
	time.Sleep(50 * time.Millisecond) // one more poll
	stopPoll()
	wg.Wait()
	if err != nil {
		return 0, err
	}
	lags, err := commitLags(logf, seen)
	if err != nil {
		return 0, err
	}
	slices.Sort(lags)
	fmt.Printf("nirs4all commit -> folder listed over %d pipelines: median %.0f ms, max %.0f ms\n",
		len(lags), lags[len(lags)/2], lags[len(lags)-1])
	return lags[len(lags)-1], nil
}

// firstSeen records when each runs/<ds>/<folder> was first listed.
type firstSeen struct {
	mu sync.Mutex
	at map[string]time.Time // "<ds>/<folder>"
}

func (s *firstSeen) poll(ctx context.Context, root string, datasets []string) {
	for ctx.Err() == nil {
		for _, d := range datasets {
			names := pipelineFolders(filepath.Join(root, "runs", d))
			now := time.Now()
			s.mu.Lock()
			for _, n := range names {
				if _, ok := s.at[d+"/"+n]; !ok {
					s.at[d+"/"+n] = now
				}
			}
			s.mu.Unlock()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// commitLags pairs every pipeline_begin of the commit log with its folder:
// numbered in the order the rows were committed, per dataset (the run is
// sequential, so that is created_at order).
func commitLags(logf string, seen *firstSeen) ([]float64, error) {
	f, err := os.Open(logf)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	number := map[string]int{}
	var lags []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct {
			T       float64 `json:"t"`
			Event   string  `json:"event"`
			Dataset string  `json:"dataset"`
			Name    string  `json:"name"`
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Event != "pipeline_begin" {
			continue
		}
		number[e.Dataset]++
		key := fmt.Sprintf("%s/%04d_%s", e.Dataset, number[e.Dataset], e.Name)
		seen.mu.Lock()
		at, ok := seen.at[key]
		seen.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("folder runs/%s never listed", key)
		}
		committed := time.UnixMicro(int64(e.T * 1e6))
		lags = append(lags, float64(at.Sub(committed).Microseconds())/1000)
	}
	if len(lags) == 0 {
		return nil, fmt.Errorf("no pipeline commit in %s", logf)
	}
	return lags, sc.Err()
}
