package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/n4ws/n4ws/catalog"
)

// Numbers in reports are written for people: scores with four
// significant digits (0.3012, 12.48, 1,204), counts and axis values with
// thousands grouped, durations in s/min/h, times in UTC. None of them
// depends on the locale or the clock of the machine that renders.

// fmtFixed writes v with d decimals and its integer part grouped by
// thousands; it never writes "-0".
func fmtFixed(v float64, d int) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', d, 64)
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	if v < 0 && strings.Trim(s, "0.") != "" {
		b.WriteByte('-')
	}
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// fmtScore writes a score with four significant digits (at most six
// decimals; large values as grouped integers).
func fmtScore(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	if v == 0 {
		return "0"
	}
	d := 3 - int(math.Floor(math.Log10(math.Abs(v))))
	return fmtFixed(v, min(max(d, 0), 6))
}

// fmtScorePtr is fmtScore, or "" for a missing score.
func fmtScorePtr(v *float64) string {
	if v == nil {
		return ""
	}
	return fmtScore(*v)
}

// fmtCount writes an integer with thousands grouped.
func fmtCount(n int) string { return fmtFixed(float64(n), 0) }

// fmtDuration writes seconds as "850 ms", "12.4 s", "3 min 05 s" or
// "2 h 07 min".
func fmtDuration(sec float64) string {
	switch {
	case sec < 1:
		return fmt.Sprintf("%.0f ms", sec*1000)
	case sec < 60:
		return fmt.Sprintf("%.1f s", sec)
	case sec < 3600:
		s := int(math.Round(sec))
		return fmt.Sprintf("%d min %02d s", s/60, s%60)
	}
	m := int(math.Round(sec / 60))
	return fmt.Sprintf("%d h %02d min", m/60, m%60)
}

// fmtTime writes a time to the minute, in UTC.
func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }

// sortKey is the raw value a sortable table orders a cell by: full
// precision, so that two scores that print alike still sort right.
func sortKey(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// metricLabel names a metric with its direction, e.g. "RMSE (lower is
// better)".
func metricLabel(metric string) string {
	dir := "higher is better"
	if catalog.LowerIsBetter(metric) {
		dir = "lower is better"
	}
	return metricName(metric) + " (" + dir + ")"
}

// metricName writes the usual metrics as people write them.
func metricName(metric string) string {
	switch metric {
	case "rmse", "mse", "mae", "sep", "rpd", "auc":
		return strings.ToUpper(metric)
	case "r2":
		return "R²"
	case "balanced_accuracy":
		return "balanced accuracy"
	case "":
		return "score"
	}
	return strings.ReplaceAll(metric, "_", " ")
}

// prepLabel writes a preprocessing chain ("SNV>SavitzkyGolay") with arrows.
func prepLabel(p string) string {
	if p == "" {
		return "none"
	}
	return strings.ReplaceAll(p, ">", " → ")
}
