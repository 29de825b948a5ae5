package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Charts are drawn with gonum/plot and written as SVG (inlined in the
// HTML reports) or PNG (exports/<dataset>/). Everything that could make two
// renders of the same catalog differ is fixed here: the font, sizes,
// colours, tick labels. gonum writes no ids, dates or random names, so the
// same plot gives the same bytes (chart_test.go checks it).

// chartFont is Liberation Sans: gonum ships it, so PNGs never depend on the
// fonts of the machine, and its metrics match Arial's, so a browser
// without it still fits the labels gonum measured (reports name Arial as
// the fallback).
var chartFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// Colours of the Okabe–Ito palette, which colour-blind readers can tell apart.
var (
	colTrain  = color.NRGBA{0x00, 0x9E, 0x73, 0xFF}
	colVal    = color.NRGBA{0xE6, 0x9F, 0x00, 0xFF}
	colTest   = color.NRGBA{0x00, 0x72, 0xB2, 0xFF}
	colBest   = color.NRGBA{0xD5, 0x5E, 0x00, 0xFF}
	colOther  = color.NRGBA{0x80, 0x80, 0x80, 0x99}
	colFaint  = color.NRGBA{0xB0, 0xB0, 0xB0, 0xFF}
	colGrid   = color.NRGBA{0xE4, 0xE4, 0xE4, 0xFF}
	colSubtle = color.NRGBA{0x60, 0x60, 0x60, 0xFF}
)

// partitionColor gives each partition the same colour in every chart.
func partitionColor(part string) color.Color {
	switch part {
	case "train":
		return colTrain
	case "val":
		return colVal
	case "test":
		return colTest
	}
	return colSubtle
}

// newPlot returns a plot with the reports' fonts, human tick labels and a
// light grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	setFont(&p.Title.TextStyle, 11)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		setFont(&a.Label.TextStyle, 10)
		setFont(&a.Tick.Label, 9)
		a.Tick.Marker = humanTicks{}
		a.Label.TextStyle.Color = colSubtle
	}
	setFont(&p.Legend.TextStyle, 9)
	p.Legend.Top = true
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = colGrid, colGrid
	p.Add(g)
	return p
}

func setFont(s *text.Style, size vg.Length) { s.Font = font.From(chartFont, size) }

// humanTicks are gonum's default ticks labelled for people: as few
// decimals as tell the ticks apart, thousands grouped (1,200 not 1200).
type humanTicks struct{}

func (humanTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	var major []float64
	for _, t := range ts {
		if t.Label != "" {
			major = append(major, t.Value)
		}
	}
	d := tickDecimals(major)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = fmtFixed(ts[i].Value, d)
		}
	}
	return ts
}

// tickDecimals is the fewest decimals (up to 8) that show every value
// exactly to within a millionth of their spacing.
func tickDecimals(vs []float64) int {
	step := math.Inf(1)
	for i := 1; i < len(vs); i++ {
		step = math.Min(step, math.Abs(vs[i]-vs[i-1]))
	}
	if math.IsInf(step, 1) || step == 0 {
		step = 1
	}
	for d := 0; d < 8; d++ {
		p := math.Pow(10, float64(d))
		ok := true
		for _, v := range vs {
			if math.Abs(math.Round(v*p)/p-v) > step*1e-6 {
				ok = false
				break
			}
		}
		if ok {
			return d
		}
	}
	return 8
}

// timeTicks marks a time axis (seconds since the epoch, UTC) at round
// steps — hours, days, weeks, months — rather than at round numbers of
// seconds, and labels them by date, with the hour when steps are shorter
// than a day.
type timeTicks struct{}

// timeSteps are the candidate tick spacings, in seconds.
var timeSteps = []float64{3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400,
	14 * 86400, 30 * 86400, 91 * 86400, 182 * 86400, 365 * 86400}

func (timeTicks) Ticks(lo, hi float64) []plot.Tick {
	step := timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		if (hi-lo)/s <= 6 {
			step = s
			break
		}
	}
	format := "2006-01-02"
	if step < 86400 {
		format = "01-02 15:04"
	}
	label := func(v float64) string { return time.Unix(int64(v), 0).UTC().Format(format) }
	var ts []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: label(v)})
	}
	if len(ts) == 0 { // every pipeline ran at one moment: name it
		format = "2006-01-02 15:04"
		ts = append(ts, plot.Tick{Value: (lo + hi) / 2, Label: label((lo + hi) / 2)})
	}
	return ts
}

// legendRoom moves the legend to the side of the plot the best values
// are not on, and makes room for it there, so it hides no data: lower is
// better → legend at the top.
func legendRoom(p *plot.Plot, lowerBetter bool) {
	span := p.Y.Max - p.Y.Min
	if span <= 0 || math.IsInf(span, 0) || math.IsNaN(span) {
		return
	}
	p.Legend.Top = lowerBetter
	if lowerBetter {
		p.Y.Max += 0.18 * span
	} else {
		p.Y.Min -= 0.18 * span
	}
}

// svgChart draws p as an SVG element to inline in a report: gonum's XML
// prologue is dropped and the root element gets a class and a label.
func svgChart(p *plot.Plot, w, h vg.Length, label string) (svg template.HTML, err error) {
	defer recoverChart(&err)
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	s := b.String()
	start := strings.Index(s, "<svg")
	if start < 0 {
		return "", fmt.Errorf("chart %s: no <svg> element", label)
	}
	end := start + strings.IndexByte(s[start:], '>')
	head := fmt.Sprintf(`<svg class="chart" width="%.5gpt" height="%.5gpt" viewBox="0 0 %.5g %.5g" role="img" aria-label="%s">`,
		w.Points(), h.Points(), w.Points(), h.Points(), template.HTMLEscapeString(label))
	// Trusted markup: gonum escapes every text it writes (FillString uses
	// html.EscapeString), so names from the catalog cannot inject tags.
	return template.HTML(head + s[end+1:]), nil
}

// pngChart draws p as a PNG at 150 dpi: sharp on slides, small enough for
// file managers.
func pngChart(p *plot.Plot, w, h vg.Length) (data []byte, err error) {
	defer recoverChart(&err)
	c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(150))}
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// recoverChart turns a panic of the plotting library (it panics on some
// invalid input) into an error, so one odd dataset cannot take a report,
// or the mount, down.
func recoverChart(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("draw chart: %v", r)
	}
}

// finite keeps the pairs where both values are finite numbers.
func finite(xs, ys []float64) (plotter.XYs, int) {
	out := make(plotter.XYs, 0, len(xs))
	for i := range xs {
		if i < len(ys) && !math.IsNaN(xs[i]) && !math.IsInf(xs[i], 0) && !math.IsNaN(ys[i]) && !math.IsInf(ys[i], 0) {
			out = append(out, plotter.XY{X: xs[i], Y: ys[i]})
		}
	}
	return out, len(xs)
}

// maxChartPoints bounds the points one chart draws: beyond it, an SVG
// gets heavy for a browser and no eye sees more.
const maxChartPoints = 4000

// thin keeps every k-th point so that at most maxChartPoints remain; the
// choice depends only on the data, so the chart stays deterministic.
func thin(xys plotter.XYs) plotter.XYs {
	if len(xys) <= maxChartPoints {
		return xys
	}
	k := (len(xys) + maxChartPoints - 1) / maxChartPoints
	out := make(plotter.XYs, 0, maxChartPoints)
	for i := 0; i < len(xys); i += k {
		out = append(out, xys[i])
	}
	return out
}
