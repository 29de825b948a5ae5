package report

import (
	"context"
	"fmt"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/n4ws/n4ws/catalog"
)

// Views draws the computed report files of a catalog; pass it as
// catalog.Options.Reports.
type Views struct{}

var _ catalog.Reports = Views{}

// The computed report files. Overlay caches each folder's views by catalog
// generation, so a report is rendered again only when the catalog changed,
// and the exact size stat shows is the length of the rendered bytes.

// The three workspace-wide reports are made of one part per dataset,
// drawn from that dataset's rows only and kept by the catalog while the
// dataset does not change (catalog.EachDataset): after one new pipeline,
// only its dataset is loaded and drawn again.

// Kinds of per-dataset parts (catalog.EachDataset).
const (
	sessionKind = "report.session"
	historyKind = "report.history"
	globalKind  = "report.global"
)

// SessionReports: exports/session_reports/<dataset>.html for every
// dataset with at least one run folder.
func (Views) SessionReports(ctx context.Context, c *catalog.Catalog) ([]catalog.View, error) {
	parts, err := c.EachDataset(ctx, sessionKind, func(ds string) (any, error) {
		r, err := datasetInputs(ctx, c, ds)
		if err != nil || r == nil || len(r.present()) == 0 {
			return (*catalog.View)(nil), err
		}
		in, err := loadSession(ctx, c, r)
		if err != nil {
			return nil, fmt.Errorf("session report: %w", err)
		}
		data, err := sessionReport(in)
		if err != nil {
			return nil, fmt.Errorf("session report: %w", err)
		}
		v := dataView(r.ds+".html", r.mtime(), data)
		return &v, nil
	})
	return viewsOf(parts), err
}

// CatalogReports: catalog/reports/global_performance.html and the
// dataset_history/ folder.
func (Views) CatalogReports(ctx context.Context, c *catalog.Catalog) ([]catalog.View, error) {
	parts, err := c.EachDataset(ctx, globalKind, func(ds string) (any, error) {
		return globalAndHistory(ctx, c, ds)
	})
	if err != nil {
		return nil, err
	}
	var gs []*globalPart
	var mtime time.Time
	for _, p := range parts {
		if g := p.(*globalPart); g != nil {
			gs = append(gs, g)
			if g.mtime.After(mtime) {
				mtime = g.mtime
			}
		}
	}
	data, err := globalReportOf(gs)
	if err != nil {
		return nil, fmt.Errorf("global report: %w", err)
	}
	return []catalog.View{
		dataView("global_performance.html", mtime, data),
		{Name: "dataset_history", Dir: true, Mtime: mtime},
	}, nil
}

// DatasetHistory: catalog/reports/dataset_history/<dataset>.html for every
// dataset the catalog knows, deleted or not.
func (Views) DatasetHistory(ctx context.Context, c *catalog.Catalog) ([]catalog.View, error) {
	parts, err := c.EachDataset(ctx, historyKind, func(ds string) (any, error) {
		r, err := datasetInputs(ctx, c, ds)
		if err != nil || r == nil {
			return (*catalog.View)(nil), err
		}
		return historyPart(r)
	})
	return viewsOf(parts), err
}

// globalAndHistory draws a dataset's part of the global report and its
// history page from one load of its rows: a walk of the tree asks for
// both, and the load is most of either's cost. A history that fails is
// left to DatasetHistory to draw again and report.
func globalAndHistory(ctx context.Context, c *catalog.Catalog, ds string) (catalog.Parts, error) {
	r, err := datasetInputs(ctx, c, ds)
	if err != nil || r == nil {
		return catalog.Parts{globalKind: (*globalPart)(nil), historyKind: (*catalog.View)(nil)}, err
	}
	parts := catalog.Parts{globalKind: newGlobalPart(r)}
	if h, err := historyPart(r); err == nil {
		parts[historyKind] = h
	}
	return parts, nil
}

// historyPart draws a dataset's history page.
func historyPart(r *dsReport) (*catalog.View, error) {
	data, err := historyReport(r)
	if err != nil {
		return nil, fmt.Errorf("history report: %w", err)
	}
	v := dataView(r.ds+".html", r.mtime(), data)
	return &v, nil
}

// viewsOf lists the views among parts (*catalog.View, nil for none).
func viewsOf(parts []any) []catalog.View {
	var views []catalog.View
	for _, p := range parts {
		if v := p.(*catalog.View); v != nil {
			views = append(views, *v)
		}
	}
	return views
}

// PNG chart size: 6 × 4.5 in at 150 dpi (900 × 675 pixels), a slide's
// half or a file manager's preview.
var pngW, pngH = 6 * vg.Inch, 4.5 * vg.Inch

// BestCharts: exports/<dataset>/chart_predictions.png and
// chart_residuals.png (chart_confusion.png for classification) of the
// dataset's current best pipeline; none when it has no best.
func (Views) BestCharts(ctx context.Context, c *catalog.Catalog, ds string, rows []catalog.PipelineRow, rule catalog.BestRule) ([]catalog.View, error) {
	var best *catalog.PipelineRow
	for i := range rows {
		if rows[i].Best && rows[i].Present {
			best = &rows[i]
		}
	}
	if best == nil {
		return nil, nil
	}
	preds, err := bestPredictions(ctx, c, ds, best.PID)
	if err != nil || len(preds) == 0 {
		return nil, err
	}
	var views []catalog.View
	score, _ := rule.Pick(best)
	for _, ch := range bestPNGs(best, score.Partition, preds) {
		// A chart that cannot be drawn is left out rather than failing
		// the folder: the CSV and JSON exports stay readable.
		if ch.err != nil {
			continue
		}
		data, err := pngChart(ch.p, pngW, pngH)
		if err != nil {
			continue
		}
		// PNG is compressed already: never packed.
		views = append(views, catalog.View{Name: ch.name, Mtime: best.Updated, Data: data, Size: int64(len(data))})
	}
	return views, nil
}

type namedChart struct {
	name string
	p    *plot.Plot
	err  error
}

// bestPNGs lists the charts of the best pipeline's exports; the confusion
// matrix is of the partition the best was chosen by.
func bestPNGs(best *catalog.PipelineRow, part string, preds []predRow) []namedChart {
	title := fmt.Sprintf("%s · %s · predicted vs true", best.Dataset, best.PID)
	pv, err := predVsTrueChart(preds, best.TaskType, title)
	out := []namedChart{{"chart_predictions.png", pv, err}}
	if classifies(best.TaskType) {
		cm, err := confusionChart(partitionOf(preds, part))
		if cm != nil {
			cm.Title.Text = best.PID + " · " + cm.Title.Text
		}
		return append(out, namedChart{"chart_confusion.png", cm, err})
	}
	rc, err := residualChart(preds)
	if rc != nil {
		rc.Title.Text = best.PID + " · residuals"
	}
	return append(out, namedChart{"chart_residuals.png", rc, err})
}

func dataView(name string, mtime time.Time, data []byte) catalog.View {
	return catalog.DataView(name, mtime, data)
}
