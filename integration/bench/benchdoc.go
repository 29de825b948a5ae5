//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// benchDoc is the Markdown record of one run (docs/BENCH.md with `make
// bench`): the machine, the date, the settings and every table, so the
// README links measured figures instead of typing them.
type benchDoc struct {
	path     string // "" writes nothing; read only
	started  time.Time
	machine  []string // "- key: value" lines
	sections []string // Markdown
}

func newBenchDoc(path, tempDir string) *benchDoc {
	d := &benchDoc{path: path, started: time.Now().UTC()}
	if path == "" {
		return d
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	load, _ := os.ReadFile("/proc/loadavg")
	who := "root (cold rows drop the page cache)"
	if os.Geteuid() != 0 {
		who = "not root (no cold rows, no passthrough)"
	}
	d.machine = []string{
		"CPU: " + cpuModel() + fmt.Sprintf(", %d cores", runtime.NumCPU()),
		"memory: " + memTotal(),
		"kernel: " + strings.TrimSpace(string(kernel)),
		"temp dir: " + tempDir + " on " + fsOf(tempDir),
		"user: " + who,
		"load average at start (1, 5, 15 min): " + strings.Join(strings.Fields(string(load))[:3], ", "),
	}
	return d
}

// add appends a section: a heading, a line of text and a body.
func (d *benchDoc) add(heading, text, body string) {
	d.sections = append(d.sections, "## "+heading+"\n\n"+text+"\n\n"+body)
}

// write writes the file (nothing when no path was given).
func (d *benchDoc) write() error {
	if d.path == "" {
		return nil
	}
	var b bytes.Buffer
	b.WriteString("# Benchmark results\n\n")
	b.WriteString("<!-- Written by `make bench` (integration/bench); do not edit by hand: run it again. -->\n\n")
	fmt.Fprintf(&b, "Run of %s to %s UTC. `make bench` measures each workload on a native folder and on\n"+
		"the mount, both in one temp dir (same disk), in the same run; the ratio is mount / native\n"+
		"(for times: how many times longer the mount took). docs/PERFORMANCE.md says what limits\n"+
		"each row and how cold reads are measured.\n\n",
		d.started.Format("2006-01-02 15:04"), time.Now().UTC().Format("15:04"))
	b.WriteString("Machine:\n\n")
	for _, m := range d.machine {
		b.WriteString("- " + m + "\n")
	}
	load, _ := os.ReadFile("/proc/loadavg")
	b.WriteString("- load average at the end: " + strings.Join(strings.Fields(string(load))[:3], ", ") + "\n")
	b.WriteString("- settings: " + benchEnv() + "\n\n")
	b.WriteString(strings.Join(d.sections, "\n"))
	if err := os.WriteFile(d.path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", d.path, err)
	}
	fmt.Fprintln(os.Stderr, "bench: wrote", d.path)
	return nil
}

// benchEnv lists the BENCH_* variables of the run, or says there are none.
func benchEnv() string {
	var set []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BENCH_") {
			set = append(set, "`"+kv+"`")
		}
	}
	if len(set) == 0 {
		return "the defaults (no BENCH_* variable set)"
	}
	slices.Sort(set)
	return strings.Join(set, ", ") + " (a reduced run)"
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	data, _ := os.ReadFile("/proc/meminfo")
	var kb int64
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "MemTotal:") {
			fmt.Sscanf(strings.TrimPrefix(line, "MemTotal:"), "%d", &kb)
		}
	}
	return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
}

// fsOf names the file system dir is on: the mountinfo entry with the
// longest mount point that contains dir (type and source).
func fsOf(dir string) string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "unknown file system"
	}
	best, what := -1, "unknown file system"
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 2 {
			continue
		}
		mp := unescapeMountinfo(f[4])
		if (dir == mp || strings.HasPrefix(dir, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > best {
			best, what = len(mp), fmt.Sprintf("%s (%s, mounted at %s)", g[0], g[1], mp)
		}
	}
	return what
}

// markdownTable is the file-system table of printTable as Markdown.
func markdownTable(rows []row) string {
	var b strings.Builder
	header, lines := fsTableColumns(rows, "×", "n4ws")
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|" + strings.Repeat("---|", len(header)) + "\n")
	for _, l := range lines {
		b.WriteString("| " + strings.Join(l, " | ") + " |\n")
	}
	return b.String()
}
