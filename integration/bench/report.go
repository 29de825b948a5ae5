//go:build linux

package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// goal is a DESIGN.md "Performance goals" bound on the mount/native ratio,
// or (mountOnly) on the mount's own figure, in the row's unit.
type goal struct {
	atLeast   bool // true: ratio >= x (throughput); false: ratio <= x (time)
	x         float64
	mountOnly bool // measured on the mount alone: mount value <= x
}

func atLeast(x float64) goal { return goal{atLeast: true, x: x} }
func atMost(x float64) goal  { return goal{x: x} }

// mountAtMost is a bound on the mount's figure alone (no native
// counterpart, e.g. the lag of the live projection).
func mountAtMost(x float64) goal { return goal{x: x, mountOnly: true} }

func (g goal) String() string {
	if g.mountOnly {
		return fmt.Sprintf("<= %.0f", g.x)
	}
	if g.atLeast {
		return fmt.Sprintf(">= %.2fx", g.x)
	}
	return fmt.Sprintf("<= %.2fx", g.x)
}

func (g goal) met(ratio float64) bool {
	if g.atLeast {
		return ratio >= g.x
	}
	return ratio <= g.x
}

// row is one measured (or skipped) workload.
type row struct {
	w             workload
	native, mount float64
	loop          float64 // go-fuse's loopback example; 0 when not measured
	note          string  // set when the row was not measured
}

// ratio is mount/native: for a throughput it is the mount's share of native
// speed, for a time it is how many times longer the mount took.
func (r row) ratio() float64 { return r.mount / r.native }

// cells are a row's native, mount, ratio, goal and verdict columns (x is
// the ratio's sign: "x" or "×"). A mountOnly row has no native side: its
// goal bounds the mount's figure.
func (r row) cells(x string) [5]string {
	if r.note != "" {
		return [5]string{"-", "-", "-", r.w.goal.String(), r.note}
	}
	if r.w.goal.mountOnly {
		verdict := "MISS"
		if r.mount <= r.w.goal.x {
			verdict = "PASS"
		}
		return [5]string{"-", format(r.mount, r.w.unit), "-", r.w.goal.String() + " " + r.w.unit, verdict}
	}
	verdict := "MISS"
	if r.w.goal.met(r.ratio()) {
		verdict = "PASS"
	}
	return [5]string{format(r.native, r.w.unit), format(r.mount, r.w.unit), fmt.Sprintf("%.2f%s", r.ratio(), x),
		r.w.goal.String(), verdict}
}

// loopCells are the loopback's figure and its ratio to native, "-" when
// it was not measured.
func (r row) loopCells(x string) [2]string {
	if r.loop == 0 || r.note != "" || r.w.goal.mountOnly {
		return [2]string{"-", "-"}
	}
	return [2]string{format(r.loop, r.w.unit), fmt.Sprintf("%.2f%s", r.loop/r.native, x)}
}

// hasLoop reports whether any row has a loopback figure (a column then).
func hasLoop(rows []row) bool {
	for _, r := range rows {
		if r.loop != 0 {
			return true
		}
	}
	return false
}

// fsTableColumns lays the rows out as the tables show them: native, then
// the go-fuse loopback when one was measured, then n4ws ("mount" on
// stdout), n4ws's ratio, the loopback's ratio, the goal and the verdict.
// The goal and verdict are n4ws's: the loopback is the floor beside it.
func fsTableColumns(rows []row, x, mountName string) (header []string, lines [][]string) {
	loop := hasLoop(rows)
	if loop {
		header = []string{"workload", "native", "loopback", mountName, "ratio", "loopback ratio", "goal", ""}
	} else {
		header = []string{"workload", "native", mountName, "ratio", "goal", ""}
	}
	for _, r := range rows {
		c := r.cells(x)
		if loop {
			l := r.loopCells(x)
			lines = append(lines, []string{r.w.name, c[0], l[0], c[1], c[2], l[1], c[3], c[4]})
		} else {
			lines = append(lines, []string{r.w.name, c[0], c[1], c[2], c[3], c[4]})
		}
	}
	return header, lines
}

func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header, lines := fsTableColumns(rows, "x", "mount")
	for _, l := range append([][]string{header}, lines...) {
		fmt.Fprintln(tw, strings.Join(l, "\t")+"\t")
	}
	tw.Flush()
}

func format(v float64, unit string) string {
	if unit == "ms" {
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}
