//go:build linux

// Command bench is the end-to-end benchmark behind `make bench`. It makes a
// fresh n4ws store and a native folder side by side in one temp dir (so on
// the same disk), mounts the store, runs each workload of DESIGN.md
// "Performance goals" on both through the fsload client process, and prints
// native, mount, their ratio and the goal with PASS/MISS.
//
// Environment: BENCH_SIZE_MB (default 1024), BENCH_FILES (default 10000) and
// BENCH_PIPELINES (default 150: also the nirs4all stand-in's pipelines, over
// 3 datasets) shrink a run; BENCH_DIR picks the parent of the temp dir (default $TMPDIR);
// BENCH_KEEP=1 keeps the temp dir (store, mount.log) after the run;
// BENCH_ONLY=<text>[,<text>...] runs only the workloads whose name contains one of them;
// BENCH_CPUPROFILE=<file> runs the mount under --cpuprofile;
// BENCH_TEAM=1 adds the small- and large-file rows on a team store (team.go);
// BENCH_LOOPBACK=0 leaves out go-fuse's loopback example, the FUSE floor
// measured beside them (loopback.go).
//
// BENCH_SCALE=N instead generates N pipeline folders directly in a store (BENCH_SCALE_PER_DATASET
// to a dataset, default 1000, at most 9,998) and reports mount start, find, the mount's RSS,
// ls -l of one dataset and the computed files' refresh after one new pipeline
// (scale.go); BENCH_SCALE_STORE=<store dir> measures a store an earlier run
// generated (kept with BENCH_KEEP=1) instead of generating one, and with it
// BENCH_SCALE_CATALOG_DATASETS=N first grows its catalog to N datasets by
// copying its large datasets' rows as deleted runs (scale_clone.go).
//
// Then it runs the catalog workloads (catalog.go), in a store and mount of
// their own: BENCH_CATALOG=0 skips them, BENCH_CATALOG=only runs only them.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

const module = "github.com/n4ws/n4ws"

// bench holds the settings every workload needs; read only once built.
type bench struct {
	fsloadBin string
	sizeMB    int
	files     int
	pipelines int
	standin   standinPaths // the nirs4all stand-in (standin.go)
}

func main() { os.Exit(run()) }

// run returns the exit code, so that its deferred cleanup (unmount, remove
// the temp dir) always runs before the process exits.
func run() int {
	n4wsBin := flag.String("n4ws", "", "n4ws binary (default: go build "+module+"/cmd/n4ws)")
	fsloadBin := flag.String("fsload", "", "fsload binary (default: go build "+module+"/integration/bench/fsload)")
	duckqBin := flag.String("duckq", "", "duckq binary (default: go build ./cmd/duckq in integration/duckdb)")
	out := flag.String("out", "", "also write the results as Markdown to this file (make bench: docs/BENCH.md)")
	parquetwBin := flag.String("parquetw", "", "the nirs4all stand-in's Parquet writer (default: go build "+module+"/integration/testdata/nirs4all_standin/parquetw)")
	standinPy := flag.String("standin", "", "the nirs4all stand-in, standin.py (default: found from go env GOMOD)")
	flag.Parse()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		// Every mode mounts (n4ws, and go-fuse's loopback beside it):
		// say so at once rather than fail later inside a mount's log.
		return fail(fmt.Errorf("/dev/fuse is missing (%v): make bench mounts n4ws and go-fuse's loopback "+
			"through FUSE; load the fuse module (modprobe fuse) or run it where /dev/fuse exists", err))
	}
	catMode, err := catalogMode()
	if err != nil {
		return fail(err)
	}
	b := &bench{fsloadBin: *fsloadBin, standin: standinPaths{script: *standinPy, parquetw: *parquetwBin}}
	if b.sizeMB, err = envInt("BENCH_SIZE_MB", 1024); err != nil {
		return fail(err)
	}
	if b.files, err = envInt("BENCH_FILES", 10000); err != nil {
		return fail(err)
	}
	if b.pipelines, err = envInt("BENCH_PIPELINES", 150); err != nil {
		return fail(err)
	}

	// Ctrl-C or SIGTERM cancels ctx: the running client is killed, then the
	// deferred cleanup below unmounts.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	base, err := os.MkdirTemp(os.Getenv("BENCH_DIR"), "n4ws-bench-")
	if err != nil {
		return fail(err)
	}
	m := &mount{bin: *n4wsBin, store: filepath.Join(base, "store"), dir: filepath.Join(base, "mnt")}
	defer removeUnlessMounted(base, m)
	defer m.cleanup()

	if err := b.buildMissing(ctx, base, &m.bin); err != nil {
		return fail(err)
	}
	if n := os.Getenv("BENCH_SCALE"); n != "" {
		return b.scaleExit(ctx, m)
	}
	doc := newBenchDoc(*out, filepath.Dir(base))
	if catMode == "only" {
		return catalogExit(runCatalog(ctx, m.bin, *duckqBin, doc), doc)
	}
	native := filepath.Join(base, "native")
	if err := os.MkdirAll(native, 0o755); err != nil {
		return fail(err)
	}
	if err := m.init(ctx); err != nil {
		return fail(err)
	}
	if err := m.up(ctx); err != nil {
		return fail(err)
	}
	onMount := filepath.Join(m.dir, "runs", "bench")
	if err := os.MkdirAll(onMount, 0o755); err != nil {
		return fail(fmt.Errorf("mkdir on the mount: %w", err))
	}

	coldOK, why := canDropCaches()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease") // passthrough needs 6.9+
	fmt.Printf("n4ws bench: %d MiB, %d files, kernel %s\nnative %s\nmount  %s (store %s)\n",
		b.sizeMB, b.files, strings.TrimSpace(string(kernel)), native, onMount, m.store)
	targets := []target{{"native", native, native, native, func(context.Context) error { return dropCaches() }}}
	lb, err := startLoopback(ctx, base)
	if err != nil {
		return fail(err)
	}
	defer lb.down() // on any early return; a no-op once down
	if lb != nil {
		targets = append(targets, lb.target())
	}
	targets = append(targets, target{"mount", onMount, m.dir, filepath.Join(m.store, "blobs"), m.cold})
	rows, runErr := b.measureAll(ctx, targets, coldOK, why)
	if err := lb.down(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
	fmt.Println()
	printTable(os.Stdout, rows)
	printPassthrough(m)
	if runErr != nil {
		return fail(runErr)
	}
	doc.add("Mount against a native folder", fmt.Sprintf("%d MiB sequential file, %d small files, %d pipeline folders; "+
		"warm rows and create are the best of several runs, the sequential cold read the median of 3, other rows one run. %s.",
		b.sizeMB, b.files, b.pipelines, passthroughSummary(m))+loopbackSummary(lb), markdownTable(rows))
	if wantTeam() {
		m.cleanup() // one mount at a time: the team rows do not share the machine with it
		if err := b.teamTable(ctx, base, m.bin, rows, coldOK, why, doc); err != nil {
			return fail(err)
		}
	}
	if catMode == "0" {
		return catalogExit(nil, doc)
	}
	m.cleanup() // unmount now: the catalog workloads have a mount of their own
	return catalogExit(runCatalog(ctx, m.bin, *duckqBin, doc), doc)
}

// scaleExit runs the BENCH_SCALE workload alone (it is long, so never
// part of the default run).
func (b *bench) scaleExit(ctx context.Context, m *mount) int {
	n, err := envInt("BENCH_SCALE", 0)
	if err == nil {
		var per int
		if per, err = envInt("BENCH_SCALE_PER_DATASET", 1000); err == nil {
			m.bin, _ = filepath.Abs(m.bin)
			reuse := os.Getenv("BENCH_SCALE_STORE")
			if reuse != "" {
				m.store = reuse
				err = cloneCatalog(ctx, reuse)
			}
			if err == nil {
				err = b.runScale(ctx, m, n, per, reuse != "")
			}
		}
	}
	if err != nil {
		return fail(fmt.Errorf("scale: %w", err))
	}
	return 0
}

// catalogExit is the exit code of the catalog workloads: misses are
// reported in the table, only errors fail. A run without errors writes
// its Markdown record.
func catalogExit(err error, doc *benchDoc) int {
	if err != nil {
		return fail(fmt.Errorf("catalog: %w", err))
	}
	if err := doc.write(); err != nil {
		return fail(err)
	}
	return 0
}

// measureAll runs every workload on each side in the order given (native,
// the go-fuse loopback when there is one, then the mount), and returns
// the rows measured so far even when one fails.
func (b *bench) measureAll(ctx context.Context, targets []target, coldOK bool, why string) ([]row, error) {
	var rows []row
	only := os.Getenv("BENCH_ONLY")
	for _, w := range workloads(b.sizeMB, b.files, b.pipelines) {
		if !picked(w.name, only) {
			continue
		}
		if w.cold && !coldOK {
			rows = append(rows, row{w: w, note: "cold unavailable (" + why + ")"})
			continue
		}
		got := map[string]float64{} // by target name; 0 when not run
		for _, t := range targets {
			if w.goal.mountOnly && t.name != "mount" {
				continue
			}
			fmt.Fprintf(os.Stderr, "bench: %s on %s\n", w.name, t.name)
			v, err := w.run(b, ctx, t)
			if err != nil {
				return rows, fmt.Errorf("%s on %s: %w", w.name, t.name, err)
			}
			got[t.name] = v
		}
		rows = append(rows, row{w: w, native: got["native"], mount: got["mount"], loop: got["loopback"]})
	}
	return rows, nil
}

// picked reports whether workload name is one BENCH_ONLY asks for: any
// of its comma-separated parts a substring of the name (all when empty).
func picked(name, only string) bool {
	if only == "" {
		return true
	}
	for _, part := range strings.Split(only, ",") {
		if part != "" && strings.Contains(name, part) {
			return true
		}
	}
	return false
}

// buildMissing builds n4ws and fsload into base/bin when no flag named them,
// so that `go run ./integration/bench` works alone.
func (b *bench) buildMissing(ctx context.Context, base string, n4wsBin *string) error {
	for _, p := range []struct {
		bin *string
		pkg string
	}{{n4wsBin, module + "/cmd/n4ws"}, {&b.fsloadBin, module + "/integration/bench/fsload"},
		{&b.standin.parquetw, module + "/integration/testdata/nirs4all_standin/parquetw"}} {
		if *p.bin != "" {
			continue
		}
		*p.bin = filepath.Join(base, "bin", filepath.Base(p.pkg))
		cmd := exec.CommandContext(ctx, "go", "build", "-o", *p.bin, p.pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", p.pkg, err)
		}
	}
	if b.standin.script == "" {
		out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
		if err != nil {
			return fmt.Errorf("go env GOMOD (to find the nirs4all stand-in): %w", err)
		}
		b.standin.script = filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "integration/testdata/nirs4all_standin/standin.py")
	}
	return nil
}

// printPassthrough shows what the mount log says about FUSE passthrough,
// which decides whether reads can reach native speed.
func printPassthrough(m *mount) {
	const limit = 20
	lines, total := m.passthroughLines(limit)
	fmt.Printf("\nmount.log lines mentioning passthrough: %d\n", total)
	for _, l := range lines {
		fmt.Println("  " + l)
	}
	if total > limit {
		fmt.Printf("  ... %d more\n", total-limit)
	}
}

// passthroughSummary says whether the kernel granted FUSE passthrough, as
// the mount logged it.
func passthroughSummary(m *mount) string {
	lines, _ := m.passthroughLines(1)
	switch {
	case len(lines) == 0:
		return "Passthrough: not logged"
	case strings.Contains(lines[0], "passthrough_kernel=true"):
		return "FUSE passthrough: granted by the kernel"
	default:
		return "FUSE passthrough: not available"
	}
}

// removeUnlessMounted deletes the temp dir, but never through a mount that
// the cleanup could not remove, and not when BENCH_KEEP=1 asks to keep it.
func removeUnlessMounted(base string, m *mount) {
	switch {
	case os.Getenv("BENCH_KEEP") == "1":
		fmt.Fprintln(os.Stderr, "bench: kept", base)
	case isMountPoint(m.dir):
		fmt.Fprintf(os.Stderr, "bench: %s is still mounted; left %s in place\n", m.dir, base)
	default:
		if err := os.RemoveAll(base); err != nil {
			fmt.Fprintln(os.Stderr, "bench: remove temp dir:", err)
		}
	}
}

func envInt(name string, def int) (int, error) {
	s := os.Getenv(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive integer", name, s)
	}
	return n, nil
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "bench:", err)
	return 1
}
