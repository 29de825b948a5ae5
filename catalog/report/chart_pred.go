package report

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/n4ws/n4ws/catalog"
)

// Charts of one pipeline's predictions: predicted against true values per
// partition, residuals (regression) and the confusion matrix
// (classification).

// predVsTrueChart plots predictions against true values, each partition
// in its colour, with the line where they are equal; both axes share one
// range so that the line is the diagonal. One partition gets a title with
// its scores; several get a legend.
func predVsTrueChart(preds []predRow, task, title string) (*plot.Plot, error) {
	p := newPlot(title, "true value", "predicted value")
	lo, hi := math.Inf(1), math.Inf(-1)
	var scatters []*plotter.Scatter
	for _, pr := range preds {
		xys, _ := finite(pr.yTrue, pr.yPred)
		if len(xys) == 0 {
			continue
		}
		if len(preds) == 1 {
			p.Title.Text = partitionTitle(pr.partition, xys, task)
		}
		for _, xy := range xys {
			lo, hi = math.Min(lo, math.Min(xy.X, xy.Y)), math.Max(hi, math.Max(xy.X, xy.Y))
		}
		pts := thin(xys)
		if classifies(task) {
			pts = jitter(pts)
		}
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		s.GlyphStyle = dot(partitionColor(pr.partition), 2)
		scatters = append(scatters, s)
		if len(preds) > 1 {
			p.Legend.Add(pr.partition, s)
		}
	}
	if len(scatters) == 0 {
		return nil, fmt.Errorf("no finite predictions")
	}
	pad := (hi - lo) * 0.04
	switch {
	case classifies(task):
		pad = math.Max(pad, 0.4) // room for the jitter
	case pad == 0: // one value: give it room around
		pad = math.Max(math.Abs(hi)*0.05, 1)
	}
	lo, hi = lo-pad, hi+pad
	diag, err := plotter.NewLine(plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}})
	if err != nil {
		return nil, err
	}
	diag.Color, diag.Dashes = colSubtle, []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(diag)
	for _, s := range scatters {
		p.Add(s)
	}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = lo, hi, lo, hi
	// Points hug the diagonal: the top-left corner is free for the legend.
	p.Legend.Left = true
	return p, nil
}

// classifies reports whether a task predicts classes.
func classifies(task string) bool { return task != catalog.TaskRegression && task != "" }

// jitter spreads points that share a class pair over a small square
// around it so that how many there are shows. The offsets come from the
// point's index (a fixed sequence), so the chart stays deterministic.
func jitter(xys plotter.XYs) plotter.XYs {
	out := make(plotter.XYs, len(xys))
	for i, xy := range xys {
		h := uint32(i+1) * 2654435761 // Knuth's multiplicative hash
		dx := float64(h&0xFFFF)/0xFFFF - 0.5
		dy := float64(h>>16)/0xFFFF - 0.5
		out[i] = plotter.XY{X: xy.X + 0.5*dx, Y: xy.Y + 0.5*dy}
	}
	return out
}

// partitionTitle names a partition with its size and scores, computed
// from the plotted points so the title matches the picture.
func partitionTitle(part string, xys plotter.XYs, task string) string {
	pred := catalog.Prediction{Partition: part, YTrue: make([]float64, len(xys)), YPred: make([]float64, len(xys))}
	for i, xy := range xys {
		pred.YTrue[i], pred.YPred[i] = xy.X, xy.Y
	}
	title := fmt.Sprintf("%s · n = %s", part, fmtCount(len(xys)))
	if classifies(task) {
		title += " (jittered)"
	}
	sc := catalog.PredictionScores(task, pred)
	if v, ok := sc["rmse"]; ok {
		title += " · RMSE " + fmtScore(v)
	}
	if v, ok := sc["r2"]; ok {
		title += " · R² " + fmtFixed(v, 3)
	}
	if v, ok := sc["accuracy"]; ok {
		title += " · accuracy " + fmtFixed(100*v, 1) + "%"
	}
	return title
}

// residualChart plots true minus predicted against predicted, every
// partition in its colour, around the zero line.
func residualChart(preds []predRow) (*plot.Plot, error) {
	p := newPlot("Residuals of the best pipeline", "predicted value", "residual (true − predicted)")
	zero := plotter.NewFunction(func(float64) float64 { return 0 })
	zero.Color, zero.Dashes = colSubtle, []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(zero)
	n := 0
	for _, pr := range preds {
		res := make([]float64, len(pr.yTrue))
		for i := range pr.yTrue {
			if i < len(pr.yPred) {
				res[i] = pr.yTrue[i] - pr.yPred[i]
			}
		}
		xys, _ := finite(pr.yPred, res)
		if len(xys) == 0 {
			continue
		}
		s, err := plotter.NewScatter(thin(xys))
		if err != nil {
			return nil, err
		}
		s.GlyphStyle = dot(partitionColor(pr.partition), 2)
		p.Add(s)
		p.Legend.Add(pr.partition, s)
		n += len(xys)
	}
	if n == 0 {
		return nil, fmt.Errorf("no finite predictions")
	}
	if span := p.Y.Max - p.Y.Min; len(preds) > 1 && span > 0 {
		p.Y.Max += 0.18 * span // room for the legend above the points
	}
	return p, nil
}

// maxClasses bounds the confusion matrix: past it, cells are too small
// to read.
const maxClasses = 40

// confusionChart counts true against predicted classes of one partition.
// True classes run down the rows (first at the top), predicted classes
// across the columns, as scikit-learn prints them.
func confusionChart(pr predRow) (*plot.Plot, error) {
	xys, _ := finite(pr.yTrue, pr.yPred)
	classes := classList(xys)
	k := len(classes)
	if k == 0 {
		return nil, fmt.Errorf("%s: no finite predictions", pr.partition)
	}
	if k > maxClasses {
		return nil, fmt.Errorf("%s: %d classes, more than a confusion matrix can show (%d)", pr.partition, k, maxClasses)
	}
	index := map[float64]int{}
	for i, c := range classes {
		index[c] = i
	}
	g := confusionGrid{k: k, counts: make([]float64, k*k)}
	for _, xy := range xys {
		g.counts[index[xy.X]*k+index[xy.Y]]++
	}
	p := newPlot(fmt.Sprintf("Confusion matrix · %s · n = %s", pr.partition, fmtCount(len(xys))), "predicted class", "true class")
	h := plotter.NewHeatMap(g, blues{})
	h.Min = 0
	p.Add(h)
	if k <= 15 {
		p.Add(g.labels(h.Max))
	}
	names := make([]string, k)
	for i, c := range classes {
		names[i] = fmtClass(c)
	}
	p.NominalX(names...)
	rev := make([]string, k)
	for i := range names {
		rev[i] = names[k-1-i]
	}
	p.NominalY(rev...)
	return p, nil
}

// fmtClass writes a class code: 2, not 2.000.
func fmtClass(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// classList is the sorted set of classes, true or predicted.
func classList(xys plotter.XYs) []float64 {
	seen := map[float64]bool{}
	var out []float64
	for _, xy := range xys {
		for _, v := range []float64{xy.X, xy.Y} {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	sort.Float64s(out)
	return out
}

// confusionGrid is a k×k count matrix as gonum's heat map reads it:
// column c is predicted class c, row r (from the bottom) true class k-1-r.
type confusionGrid struct {
	k      int
	counts []float64 // [true*k + predicted]
}

func (g confusionGrid) Dims() (c, r int)   { return g.k, g.k }
func (g confusionGrid) Z(c, r int) float64 { return g.counts[(g.k-1-r)*g.k+c] }
func (g confusionGrid) X(c int) float64    { return float64(c) }
func (g confusionGrid) Y(r int) float64    { return float64(r) }

// labels writes each cell's count in it, white on the dark cells.
func (g confusionGrid) labels(maxCount float64) *plotter.Labels {
	l := &plotter.Labels{}
	for c := 0; c < g.k; c++ {
		for r := 0; r < g.k; r++ {
			z := g.Z(c, r)
			l.XYs = append(l.XYs, plotter.XY{X: float64(c), Y: float64(r)})
			l.Labels = append(l.Labels, fmtCount(int(z)))
			st := labelStyle(9)
			if z > 0.55*maxCount {
				st.Color = color.White
			}
			l.TextStyle = append(l.TextStyle, st)
		}
	}
	return l
}

// blues runs from white to the test blue: more counts, darker cells.
type blues struct{}

func (blues) Colors() []color.Color {
	const n = 32
	out := make([]color.Color, n)
	for i := range out {
		t := float64(i) / (n - 1)
		mix := func(a uint8) uint8 { return uint8(math.Round(255 - t*(255-float64(a)))) }
		out[i] = color.NRGBA{mix(colTest.R), mix(colTest.G), mix(colTest.B), 0xFF}
	}
	return out
}

// dot is the glyph of a scatter point: a filled circle, slightly
// transparent so that dense regions show.
func dot(c color.Color, radius float64) draw.GlyphStyle {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	n.A = 0xB0
	return draw.GlyphStyle{Color: n, Radius: vg.Points(radius), Shape: draw.CircleGlyph{}}
}

// labelStyle is centred text in the reports' font.
func labelStyle(size vg.Length) (st text.Style) {
	st.Color = color.Black
	st.Font = font.From(chartFont, size)
	st.XAlign, st.YAlign = draw.XCenter, draw.YCenter
	st.Handler = plot.DefaultTextHandler
	return st
}
