//go:build linux

package main

// The catalog benchmark: the figures of the nirs4all views (issue "catalog
// performance") on a demo workspace, measured through a mount of a store of
// its own, against absolute targets rather than a native ratio (a native
// folder has no computed files). Misses are reported, never fatal.
//
// Environment: BENCH_CATALOG=0 skips it, BENCH_CATALOG=only runs nothing
// else; BENCH_CATALOG_DATASETS (default 10), BENCH_CATALOG_PIPELINES (per
// dataset, default 1000), BENCH_CATALOG_SAMPLES (rows of each
// predictions.csv, default 200) and BENCH_CATALOG_INGEST (pipeline folders
// copied by the ingestion workload, default 1000) shrink it;
// BENCH_CATALOG_CPUPROFILE=FILE writes a CPU profile of its mount process
// (read it with `go tool pprof -top bin/n4ws FILE`).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Defaults: the scale.
const (
	defCatDatasets  = 10
	defCatPipelines = 1000
	defCatSamples   = 200
	defCatIngest    = 1000
)

// catalogBench holds the catalog run's settings; read only once set up.
type catalogBench struct {
	duckqBin  string // "" when duckq could not be built
	duckqWhy  string // why duckqBin is empty
	datasets  int
	pipelines int // per dataset
	samples   int
	ingest    int
	base      string // temp dir of this run
	src       string // native demo dataset folder the ingestion workload copies from
	ds0       string // the dataset the per-dataset workloads use
	m         *mount
	profile   string // BENCH_CATALOG_CPUPROFILE
}

// catRow is one line of the catalog table: a time in ms against a target
// (0: information only, no verdict).
type catRow struct {
	name   string
	ms     float64
	target float64
	detail string // shown under the row
	note   string // set when the row was not measured
}

// catalogMode reads BENCH_CATALOG: "" (run after the file-system
// workloads), "0" (skip) or "only".
func catalogMode() (string, error) {
	switch m := os.Getenv("BENCH_CATALOG"); m {
	case "", "1":
		return "", nil
	case "0", "only":
		return m, nil
	default:
		return "", fmt.Errorf("BENCH_CATALOG=%q: want 0, 1 or only", m)
	}
}

func newCatalogBench(n4wsBin, duckqBin string) (*catalogBench, error) {
	c := &catalogBench{duckqBin: duckqBin, profile: os.Getenv("BENCH_CATALOG_CPUPROFILE")}
	for _, s := range []struct {
		env      string
		def, max int
		dst      *int
	}{
		{"BENCH_CATALOG_DATASETS", defCatDatasets, 100, &c.datasets},
		{"BENCH_CATALOG_PIPELINES", defCatPipelines, 9990, &c.pipelines}, // room for the pipelines workload (c) adds
		{"BENCH_CATALOG_SAMPLES", defCatSamples, 100_000, &c.samples},
		{"BENCH_CATALOG_INGEST", defCatIngest, 9999, &c.ingest},
	} {
		v, err := envInt(s.env, s.def)
		if err != nil {
			return nil, err
		}
		if v > s.max || (s.env == "BENCH_CATALOG_SAMPLES" && v < 10) {
			return nil, fmt.Errorf("%s=%d: out of range", s.env, v)
		}
		*s.dst = v
	}
	base, err := os.MkdirTemp(os.Getenv("BENCH_DIR"), "n4ws-bench-catalog-")
	if err != nil {
		return nil, err
	}
	c.base = base
	c.m = &mount{bin: n4wsBin, store: filepath.Join(base, "store"), dir: filepath.Join(base, "mnt")}
	return c, nil
}

// runCatalog runs the catalog workloads in a temp dir and a mount of their
// own, prints their table, and cleans up (unmount, then remove).
func runCatalog(ctx context.Context, n4wsBin, duckqBin string, doc *benchDoc) error {
	c, err := newCatalogBench(n4wsBin, duckqBin)
	if err != nil {
		return err
	}
	defer removeUnlessMounted(c.base, c.m)
	defer c.m.cleanup()
	if c.duckqBin == "" {
		c.duckqBin, c.duckqWhy = buildDuckq(ctx, c.base)
	}
	scale := "the issue's scale"
	if c.datasets != defCatDatasets || c.pipelines != defCatPipelines || c.samples != defCatSamples || c.ingest != defCatIngest {
		scale = "REDUCED scale (BENCH_CATALOG_* set)"
	}
	what := fmt.Sprintf("%s: %d datasets x %d pipelines = %d pipelines, %d samples per predictions.csv, ingestion of %d pipeline folders",
		scale, c.datasets, c.pipelines, c.datasets*c.pipelines, c.samples, c.ingest)
	fmt.Printf("\ncatalog bench, %s\nstore %s\n", what, c.m.store)
	rows, err := c.measure(ctx)
	fmt.Println()
	var table bytes.Buffer
	printCatalogTable(&table, rows)
	os.Stdout.Write(table.Bytes())
	if err == nil {
		err = c.down(ctx)
	}
	doc.add("Catalog", "Absolute targets (a native folder has no computed files), at "+what+".",
		"```text\n"+table.String()+"```\n")
	return err
}

// measure sets up the workspace and runs every workload, returning the
// rows measured so far even when one fails.
func (c *catalogBench) measure(ctx context.Context) ([]catRow, error) {
	rows, err := c.setup(ctx)
	if err != nil {
		return rows, err
	}
	for _, w := range []func(context.Context) (catRow, error){
		c.lsDataset, c.catBest, c.duckBest, c.metaAfterChange, c.ingestion,
	} {
		r, err := w(ctx)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", r.name, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// setup writes the workspace into the store with `n4ws demo`, the native
// folders the ingestion workload copies with `n4ws demo --to-dir`, mounts,
// and times the first ingestion and the first render of catalog/.
func (c *catalogBench) setup(ctx context.Context) ([]catRow, error) {
	var rows []catRow
	step := func(name string, f func() error) error {
		progress(name)
		start := time.Now()
		err := f()
		rows = append(rows, catRow{name: name, ms: msSince(start)})
		return err
	}
	c.ds0 = "wheat_protein" // demo.DatasetName(0); the bench does not import n4ws packages
	total := c.datasets * c.pipelines
	if err := step(fmt.Sprintf("setup: n4ws demo into the store (%d pipelines)", total), func() error {
		if err := c.m.init(ctx); err != nil {
			return err
		}
		return c.m.n4ws(ctx, "demo", "--datasets", fmt.Sprint(c.datasets), "--pipelines", fmt.Sprint(c.pipelines),
			"--samples", fmt.Sprint(c.samples))
	}); err != nil {
		return rows, err
	}
	src := filepath.Join(c.base, "src")
	if err := step(fmt.Sprintf("setup: n4ws demo --to-dir (%d pipelines)", c.ingest), func() error {
		return c.m.n4ws(ctx, "demo", "--to-dir", src, "--datasets", "1", "--pipelines", fmt.Sprint(c.ingest),
			"--samples", fmt.Sprint(c.samples), "--seed", "7")
	}); err != nil {
		return rows, err
	}
	c.src = filepath.Join(src, "runs", c.ds0)
	if err := c.up(ctx); err != nil {
		return rows, err
	}
	if err := step(fmt.Sprintf("setup: first ingestion (%d pipelines)", total), func() error {
		return c.wantSummary(ctx, c.ds0, c.pipelines)
	}); err != nil {
		return rows, err
	}
	err := step("setup: first render of catalog/*.parquet", func() error {
		_, err := c.statRead(ctx, c.mnt("catalog", "predictions_meta.parquet"))
		return err
	})
	return rows, err
}

// up mounts the catalog's store at info level, profiled when asked.
func (c *catalogBench) up(ctx context.Context) error {
	args := []string{"--log-level", "info", "mount", c.m.dir}
	if c.profile != "" {
		args = append(args, "--cpuprofile", c.profile)
	}
	if err := c.m.n4ws(ctx, args...); err != nil {
		return fmt.Errorf("%w\nlast lines of %s:\n%s", err, c.m.logPath(), tail(c.m.logPath(), 20))
	}
	return nil
}

// down unmounts, which also writes the CPU profile.
func (c *catalogBench) down(ctx context.Context) error {
	if err := c.m.down(ctx); err != nil {
		return err
	}
	if c.profile != "" {
		fmt.Printf("CPU profile of the catalog mount: %s\n", c.profile)
	}
	return nil
}

func (c *catalogBench) mnt(parts ...string) string {
	return filepath.Join(append([]string{c.m.dir}, parts...)...)
}

// buildDuckq builds the DuckDB query tool of the integration/duckdb module
// (a module of its own, found next to this one's go.mod). It returns ""
// and why when that fails, e.g. without a C toolchain for cgo.
func buildDuckq(ctx context.Context, base string) (string, string) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(gomod))
	if err != nil || mod == "" || mod == os.DevNull {
		return "", "cannot find the n4ws module (run from the repository, or pass -duckq)"
	}
	bin := filepath.Join(base, "bin", "duckq")
	progress("building duckq (DuckDB, cgo)")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/duckq")
	cmd.Dir = filepath.Join(filepath.Dir(mod), "integration", "duckdb")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Sprintf("go build duckq: %v: %s", err, lastLine(out))
	}
	return bin, ""
}

// timeCmd runs a command with LC_ALL=C, output to stdout (nil: /dev/null),
// and returns how long it took in ms.
func timeCmd(ctx context.Context, stdout io.Writer, name string, args ...string) (float64, error) {
	return timeCmdEnv(ctx, nil, stdout, name, args...)
}

// timeCmdEnv is timeCmd with more environment variables.
func timeCmdEnv(ctx context.Context, env []string, stdout io.Writer, name string, args ...string) (float64, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(append(os.Environ(), "LC_ALL=C"), env...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("%s %s: %w: %s", name, strings.Join(abbrev(args), " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return msSince(start), nil
}

// statRead times `stat` then a full `cat` of a file, as a user checking a
// file and reading it, and returns the bytes read.
func (c *catalogBench) statRead(ctx context.Context, path string) ([]byte, error) {
	var out bytes.Buffer
	_, err := timeCmd(ctx, &out, "sh", "-c", `stat -c %s "$1" >/dev/null && cat "$1"`, "sh", path)
	return out.Bytes(), err
}

// summary reads runs/<ds>/run_summary.json, which refreshes the catalog.
type summary struct {
	Pipelines int `json:"pipelines"`
	Best      *struct {
		Pipeline string `json:"pipeline"`
	} `json:"best"`
}

func (c *catalogBench) readSummary(ctx context.Context, ds string) (summary, error) {
	var out bytes.Buffer
	if _, err := timeCmd(ctx, &out, "cat", c.mnt("runs", ds, "run_summary.json")); err != nil {
		return summary{}, err
	}
	var s summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		return s, fmt.Errorf("runs/%s/run_summary.json: %w", ds, err)
	}
	return s, nil
}

// wantSummary checks that run_summary.json counts want pipelines.
func (c *catalogBench) wantSummary(ctx context.Context, ds string, want int) error {
	s, err := c.readSummary(ctx, ds)
	if err == nil && s.Pipelines != want {
		err = fmt.Errorf("runs/%s/run_summary.json counts %d pipelines, want %d", ds, s.Pipelines, want)
	}
	return err
}

// printCatalogTable prints the rows, then each measured row's detail
// under the table (inside it, long details would widen its first column).
func printCatalogTable(w io.Writer, rows []catRow) {
	// Setup rows first, then (a) to (e), whatever order they ran in.
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b catRow) int {
		return strings.Compare(sortKey(a.name), sortKey(b.name))
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "catalog workload\tmeasured\ttarget\t\t")
	for _, r := range rows {
		switch {
		case r.note != "":
			fmt.Fprintf(tw, "%s\t-\t%s\t%s\t\n", r.name, targetText(r.target), r.note)
		case r.target == 0:
			fmt.Fprintf(tw, "%s\t%s\t-\tinfo\t\n", r.name, msText(r.ms))
		default:
			verdict := "MISS"
			if r.ms < r.target {
				verdict = "PASS"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", r.name, msText(r.ms), targetText(r.target), verdict)
		}
	}
	tw.Flush()
	for _, r := range rows {
		if r.detail != "" {
			tag, _, _ := strings.Cut(r.name, " ")
			fmt.Fprintf(w, "%s %s\n", tag, r.detail)
		}
	}
}

func sortKey(name string) string {
	if strings.HasPrefix(name, "setup:") {
		return ""
	}
	return name
}

func targetText(ms float64) string {
	if ms == 0 {
		return "-"
	}
	return "< " + msText(ms)
}

func msText(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.2f s", ms/1000)
	}
	return fmt.Sprintf("%.4g ms", ms)
}

func msSince(t time.Time) float64 { return time.Since(t).Seconds() * 1000 }

func progress(what string) { fmt.Fprintln(os.Stderr, "bench: catalog:", what) }

// abbrev shortens long argument lists (cp of 1,000 folders) in errors.
func abbrev(args []string) []string {
	if len(args) <= 6 {
		return args
	}
	return append(append(args[:3:3], fmt.Sprintf("...(%d more)...", len(args)-5)), args[len(args)-2:]...)
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
