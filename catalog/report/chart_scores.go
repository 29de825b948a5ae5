package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/n4ws/n4ws/catalog"
)

// Charts of many pipelines' scores: their distribution, the best so far
// against pipeline number or run date, and the best of each model.

// scoreHistogram shows how the pipelines' scores spread, the best marked.
func scoreHistogram(rows []scoredRow, best *catalog.Score) (*plot.Plot, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("no scored pipeline")
	}
	metric := rows[0].s.Metric
	vals := make(plotter.Values, len(rows))
	for i, r := range rows {
		vals[i] = r.s.Value
	}
	bins := min(max(int(math.Sqrt(float64(len(vals))))+1, 5), 40)
	h, err := plotter.NewHist(vals, bins)
	if err != nil {
		return nil, err
	}
	h.FillColor, h.LineStyle.Color = colFaint, color.White
	p := newPlot("Scores across pipelines", metricLabel(metric), "pipelines")
	p.Add(h)
	if best != nil {
		top := 0.0
		for _, b := range h.Bins {
			top = math.Max(top, b.Weight)
		}
		l, err := plotter.NewLine(plotter.XYs{{X: best.Value, Y: 0}, {X: best.Value, Y: top}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = colBest, vg.Points(2)
		p.Add(l)
		p.Legend.Add("best "+fmtScore(best.Value), l)
		// The legend sits at the top, away from the best's side.
		p.Legend.Left = !catalog.LowerIsBetter(metric)
		p.Y.Max = top * 1.15
	}
	p.Y.Min = 0
	return p, nil
}

// runningBest is the best score among rows[:i+1], for each i.
func runningBest(rows []scoredRow) []float64 {
	out := make([]float64, len(rows))
	for i, r := range rows {
		out[i] = r.s.Value
		if i > 0 && !catalog.Better(r.s, 0, catalog.Score{Value: out[i-1], Metric: r.s.Metric}, 0) {
			out[i] = out[i-1]
		}
	}
	return out
}

// bestSoFarChart plots every pipeline's score by number and the best
// reached so far: where the search stopped improving.
func bestSoFarChart(rows []scoredRow) (*plot.Plot, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("no scored pipeline")
	}
	pts := make(plotter.XYs, len(rows))
	steps := make(plotter.XYs, len(rows))
	run := runningBest(rows)
	for i, r := range rows {
		pts[i] = plotter.XY{X: float64(r.p.Number), Y: r.s.Value}
		steps[i] = plotter.XY{X: float64(r.p.Number), Y: run[i]}
	}
	p := newPlot("Best so far by pipeline number", "pipeline number", metricLabel(rows[0].s.Metric))
	if err := addScoresAndBest(p, thin(pts), steps); err != nil {
		return nil, err
	}
	legendRoom(p, catalog.LowerIsBetter(rows[0].s.Metric))
	return p, nil
}

// addScoresAndBest draws score points in grey and the running best as a
// step line over them.
func addScoresAndBest(p *plot.Plot, pts, steps plotter.XYs) error {
	s, err := plotter.NewScatter(pts)
	if err != nil {
		return err
	}
	s.GlyphStyle = dot(colOther, 1.6)
	l, err := plotter.NewLine(steps)
	if err != nil {
		return err
	}
	l.StepStyle, l.Color, l.Width = plotter.PostStep, colBest, vg.Points(1.8)
	p.Add(s, l)
	p.Legend.Add("pipeline", s)
	p.Legend.Add("best so far", l)
	return nil
}

// historyChart plots every pipeline the catalog knows by run date, those
// whose folders were deleted as rings, and the best so far in pipeline
// order.
func historyChart(rows []scoredRow) (*plot.Plot, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("no scored pipeline")
	}
	var kept, gone plotter.XYs
	steps := make(plotter.XYs, len(rows))
	run := runningBest(rows)
	for i, r := range rows {
		x := float64(r.p.CreatedTime().Unix())
		steps[i] = plotter.XY{X: x, Y: run[i]}
		if r.p.Present {
			kept = append(kept, plotter.XY{X: x, Y: r.s.Value})
		} else {
			gone = append(gone, plotter.XY{X: x, Y: r.s.Value})
		}
	}
	p := newPlot("Best score over time", "run date (UTC)", metricLabel(rows[0].s.Metric))
	p.X.Tick.Marker = timeTicks{}
	if err := addScoresAndBest(p, thin(kept), steps); err != nil {
		return nil, err
	}
	if len(gone) > 0 {
		s, err := plotter.NewScatter(thin(gone))
		if err != nil {
			return nil, err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: colSubtle, Radius: vg.Points(2.2), Shape: draw.RingGlyph{}}
		p.Add(s)
		p.Legend.Add("run folder deleted", s)
	}
	legendRoom(p, catalog.LowerIsBetter(rows[0].s.Metric))
	return p, nil
}

// modelScore is the best score one model reached on a dataset.
type modelScore struct {
	model string
	score catalog.Score
	best  bool // the dataset's best
}

// modelBars compares models by their best score: one horizontal bar per
// model, the dataset's best in its own colour, each bar labelled.
func modelBars(title string, models []modelScore) (*plot.Plot, error) {
	if len(models) == 0 {
		return nil, fmt.Errorf("no scored model")
	}
	// Worst at the bottom, best at the top, where the eye starts.
	models = slices.Clone(models)
	sort.SliceStable(models, func(i, j int) bool {
		a, b := models[i].score, models[j].score
		return a.Value != b.Value && !catalog.Better(a, 0, b, 0)
	})
	p := newPlot(title, metricLabel(models[0].score.Metric), "")
	names := make([]string, len(models))
	labels := &plotter.Labels{}
	top := 0.0
	for i, m := range models {
		b, err := plotter.NewBarChart(plotter.Values{m.score.Value}, vg.Points(11))
		if err != nil {
			return nil, err
		}
		b.Horizontal, b.XMin, b.LineStyle.Width = true, float64(i), 0
		b.Color = colTest
		if m.best {
			b.Color = colBest
		}
		p.Add(b)
		names[i] = m.model
		labels.XYs = append(labels.XYs, plotter.XY{X: m.score.Value, Y: float64(i)})
		labels.Labels = append(labels.Labels, fmtScore(m.score.Value))
		st := labelStyle(8)
		st.XAlign = draw.XLeft
		labels.TextStyle = append(labels.TextStyle, st)
		top = math.Max(top, m.score.Value)
	}
	labels.Offset = vg.Point{X: vg.Points(3)}
	p.Add(labels)
	p.NominalY(names...)
	p.X.Min = math.Min(0, p.X.Min)
	p.X.Max = top * 1.25 // room for the value labels
	if top <= 0 {
		p.X.Max = 0
	}
	return p, nil
}

// modelBarsHeight fits n bars.
func modelBarsHeight(n int) vg.Length { return vg.Points(70 + 18*float64(n)) }
