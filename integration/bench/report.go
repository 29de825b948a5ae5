//go:build linux

package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// goal is a DESIGN.md "Performance goals" bound on the mount/native ratio.
type goal struct {
	atLeast bool // true: ratio >= x (throughput); false: ratio <= x (time)
	x       float64
}

func atLeast(x float64) goal { return goal{true, x} }
func atMost(x float64) goal  { return goal{false, x} }

func (g goal) String() string {
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
	note          string // set when the row was not measured
}

// ratio is mount/native: for a throughput it is the mount's share of native
// speed, for a time it is how many times longer the mount took.
func (r row) ratio() float64 { return r.mount / r.native }

func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tnative\tmount\tratio\tgoal\t")
	for _, r := range rows {
		if r.note != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t%s\t%s\n", r.w.name, r.w.goal, r.note)
			continue
		}
		verdict := "MISS"
		if r.w.goal.met(r.ratio()) {
			verdict = "PASS"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2fx\t%s\t%s\n", r.w.name,
			format(r.native, r.w.unit), format(r.mount, r.w.unit), r.ratio(), r.w.goal, verdict)
	}
	tw.Flush()
}

func format(v float64, unit string) string {
	if unit == "ms" {
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}
