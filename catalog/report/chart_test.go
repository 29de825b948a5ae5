package report

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/plot"

	"github.com/n4ws/n4ws/catalog"
)

// singleColor reports whether every pixel of img has one colour.
func singleColor(img image.Image) bool {
	b := img.Bounds()
	r0, g0, b0, a0 := img.At(b.Min.X, b.Min.Y).RGBA()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bl, a := img.At(x, y).RGBA(); r != r0 || g != g0 || bl != b0 || a != a0 {
				return false
			}
		}
	}
	return true
}

func TestFormats(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{fmtScore(0.30000000000000004), "0.3000"},
		{fmtScore(12.4849), "12.48"},
		{fmtScore(-0.01234567), "-0.01235"},
		{fmtScore(123456.7), "123,457"},
		{fmtScore(0), "0"},
		{fmtScore(-0.0000001), "0.000000"},
		{fmtFixed(1234567.891, 2), "1,234,567.89"},
		{fmtFixed(-0.0001, 2), "0.00"},
		{fmtCount(1000), "1,000"},
		{fmtDuration(0.25), "250 ms"},
		{fmtDuration(12.44), "12.4 s"},
		{fmtDuration(185), "3 min 05 s"},
		{fmtDuration(7620), "2 h 07 min"},
		{metricLabel("rmse"), "RMSE (lower is better)"},
		{metricLabel("r2"), "R² (higher is better)"},
		{prepLabel("SNV>SavitzkyGolay"), "SNV → SavitzkyGolay"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestHumanTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		want   []string
	}{
		{0, 0.3, []string{"0.00", "0.15", "0.30"}},
		{0, 5000, []string{"0", "2,500", "5,000"}},
		{9.5, 21.3, []string{"10", "15", "20"}},
		{-0.02, 0.013, []string{"-0.02", "-0.01", "0.00", "0.01"}},
	} {
		var got []string
		for _, tk := range (humanTicks{}).Ticks(c.lo, c.hi) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		// gonum picks the values; labels print them exactly, with one
		// number of decimals along an axis, and thousands grouped.
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("ticks %g..%g: %v, want %v", c.lo, c.hi, got, c.want)
		}
	}
}

// odd inputs a catalog may hold: one sample, constant values, NaN, none.
func oddPredictions() map[string]predRow {
	return map[string]predRow{
		"one":      {partition: "test", yTrue: []float64{3}, yPred: []float64{3}},
		"constant": {partition: "test", yTrue: []float64{2, 2, 2}, yPred: []float64{2, 2, 2}},
		"nan":      {partition: "test", yTrue: []float64{1, math.NaN(), 3}, yPred: []float64{1, 2, math.Inf(1)}},
		"empty":    {partition: "test"},
	}
}

func TestChartsOddData(t *testing.T) {
	for name, pr := range oddPredictions() {
		for kind, draw := range map[string]func() error{
			"pred": func() error {
				p, err := predVsTrueChart([]predRow{pr}, catalog.TaskRegression, "x")
				return svgErr(p, err)
			},
			"residual":  func() error { return svgErr(residualChart([]predRow{pr})) },
			"confusion": func() error { return svgErr(confusionChart(pr)) },
		} {
			err := draw()
			if name == "empty" && err == nil {
				t.Errorf("%s %s: no error for no data", kind, name)
			}
			if name != "empty" && err != nil {
				t.Errorf("%s %s: %v", kind, name, err)
			}
		}
	}
	one := []scoredRow{{p: &catalog.PipelineRow{Number: 1, Present: true}, s: catalog.Score{Value: 0.5, Metric: "rmse"}}}
	for kind, draw := range map[string]func() error{
		"histogram": func() error { return svgErr(scoreHistogram(one, &one[0].s)) },
		"bestSoFar": func() error { return svgErr(bestSoFarChart(one)) },
		"history":   func() error { return svgErr(historyChart(one)) },
		"models":    func() error { return svgErr(modelBars("m", []modelScore{{model: "PLS", score: one[0].s}})) },
	} {
		if err := draw(); err != nil {
			t.Errorf("%s of one pipeline: %v", kind, err)
		}
	}
}

// svgErr draws p as SVG; an error of making or drawing the chart, or NaN
// coordinates in its SVG, is returned.
func svgErr(p *plot.Plot, err error) error {
	if err != nil {
		return err
	}
	svg, err := svgChart(p, panelW, panelH, "t")
	if err == nil && strings.Contains(string(svg), "NaN") {
		return errors.New("NaN in the SVG")
	}
	return err
}

func TestChartBytesDeterministic(t *testing.T) {
	pr := predRow{partition: "test", yTrue: []float64{1, 2, 3, 4, 5}, yPred: []float64{1.1, 2.3, 2.8, 4.4, 4.9}}
	cls := predRow{partition: "test", yTrue: []float64{0, 1, 2, 2, 1}, yPred: []float64{0, 2, 2, 1, 1}}
	draws := map[string]func() (*plot.Plot, error){
		"pred":      func() (*plot.Plot, error) { return predVsTrueChart([]predRow{pr, cls}, catalog.TaskRegression, "x") },
		"confusion": func() (*plot.Plot, error) { return confusionChart(cls) },
	}
	for name, draw := range draws {
		var svgs []string
		var pngs [][]byte
		for range 3 {
			p, err := draw()
			if err != nil {
				t.Fatal(err)
			}
			svg, err := svgChart(p, panelW, panelH, name)
			if err != nil {
				t.Fatal(err)
			}
			p, _ = draw()
			img, err := pngChart(p, pngW, pngH)
			if err != nil {
				t.Fatal(err)
			}
			svgs, pngs = append(svgs, string(svg)), append(pngs, img)
		}
		if svgs[0] != svgs[1] || svgs[1] != svgs[2] || !bytes.Equal(pngs[0], pngs[1]) || !bytes.Equal(pngs[1], pngs[2]) {
			t.Errorf("%s: the same chart drawn thrice gives different bytes", name)
		}
		if strings.Contains(svgs[0], "<?xml") || !strings.HasPrefix(svgs[0], `<svg class="chart"`) {
			t.Errorf("%s: SVG not ready to inline: %.80s", name, svgs[0])
		}
		img, err := png.Decode(bytes.NewReader(pngs[0]))
		if err != nil || singleColor(img) {
			t.Errorf("%s: PNG blank or unreadable (%v)", name, err)
		}
	}
}

func TestTimeTicks(t *testing.T) {
	day := 86400.0
	t0 := 1767600000.0 // 2026-01-05 08:00 UTC
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{t0, t0 + 0.9*day, "01-05 12:00 01-05 18:00 01-06 00:00"},
		{t0, t0 + 20*day, "2026-01-08 2026-01-15 2026-01-22"},
		{t0 + 1799, t0 + 1801, "2026-01-05 08:30"}, // one moment: no round hour in range
	} {
		var got []string
		for _, tk := range (timeTicks{}).Ticks(c.lo, c.hi) {
			got = append(got, tk.Label)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%v..%v: %v, want %s", c.lo, c.hi, got, c.want)
		}
	}
}

// TestChartsConcurrent: the mount renders folders in parallel; gonum's
// shared font cache must bear it (run with -race).
func TestChartsConcurrent(t *testing.T) {
	pr := predRow{partition: "test", yTrue: []float64{1, 2, 3, 4}, yPred: []float64{1.2, 1.9, 3.1, 4.3}}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			p, err := predVsTrueChart([]predRow{pr}, catalog.TaskRegression, "x")
			if err == nil {
				_, err = svgChart(p, panelW, panelH, "x")
			}
			if err == nil {
				p, _ = residualChart([]predRow{pr})
				_, err = pngChart(p, pngW, pngH)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
