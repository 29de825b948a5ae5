package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// View is a computed entry of the workspace tree.
type View struct {
	Name  string
	Dir   bool // a computed folder (exports/<dataset>/)
	Mtime time.Time
	Blob  backing.Digest // the content is this stored blob (a byte copy)
	Size  int64          // exact size in bytes
	Data  []byte         // rendered content, when Blob is zero and it is not packed
	lazy  *lazyContent   // content rendered on first use (see view_lazy.go)
	// packed is the content deflated (view_packed.go); Content inflates it.
	packed []byte
}

// rendered caches one folder's views for one catalog generation.
type rendered struct {
	gen   int64
	views []View
}

// Overlay returns the computed entries of a folder of the workspace
// ("runs/<ds>", "exports", "exports/<ds>", "exports/best_predictions",
// "exports/session_reports", "catalog", "catalog/reports" and computed
// folders below them); other folders have none. It refreshes the catalog first, so
// the views reflect every file closed before the call.
func (c *Catalog) Overlay(ctx context.Context, dir string) ([]View, error) {
	if _, err := c.Refresh(ctx); err != nil {
		return nil, err
	}
	gen, err := c.viewGeneration(ctx, dir)
	if err != nil {
		return nil, err
	}
	c.cacheMu.Lock()
	r, ok := c.cache[dir]
	c.cacheMu.Unlock()
	if ok && r.gen == gen {
		return r.views, nil
	}
	views, err := c.render(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", dir, err)
	}
	c.cacheMu.Lock()
	if len(c.cache) > 4096 { // a bound, not a policy: entries are cheap to rebuild
		c.cache = map[string]rendered{}
	}
	c.cache[dir] = rendered{gen: gen, views: views}
	c.cacheMu.Unlock()
	return views, nil
}

func (c *Catalog) render(ctx context.Context, dir string) ([]View, error) {
	parts := strings.Split(dir, "/")
	switch {
	case len(parts) == 2 && parts[0] == "runs":
		return c.datasetViews(ctx, parts[1])
	case dir == "exports":
		return c.exportDirs(ctx)
	case dir == "exports/best_predictions":
		return c.bestPredictionViews(ctx)
	case dir == "exports/session_reports":
		return c.sessionReportViews(ctx)
	case len(parts) == 2 && parts[0] == "exports":
		return c.exportViews(ctx, parts[1])
	case dir == "catalog":
		return c.parquetViews(ctx)
	case dir == "catalog/reports":
		return c.catalogReportViews(ctx)
	case dir == "catalog/reports/dataset_history":
		return c.historyViews(ctx)
	}
	return nil, nil
}

// datasetViews: best_<pipeline>.csv and run_summary.json in runs/<ds>/.
func (c *Catalog) datasetViews(ctx context.Context, ds string) ([]View, error) {
	rows, err := c.Pipelines(ctx, ds)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	rule, err := c.Rule(ctx)
	if err != nil {
		return nil, err
	}
	errs, err := c.Errors(ctx, ds)
	if err != nil {
		return nil, err
	}
	var views []View
	mtime := latest(rows)
	for i := range rows {
		if p := &rows[i]; p.Best && p.Present {
			views = append(views, View{Name: "best_" + p.PID + ".csv", Mtime: p.Updated, Blob: p.PredBlob, Size: p.PredSize})
		}
	}
	summary := jsonBytes(runSummary(ds, rule, rows, errs))
	views = append(views, DataView("run_summary.json", mtime, summary))
	return views, nil
}

// exportDirs: one folder per dataset that has a best pipeline.
func (c *Catalog) exportDirs(ctx context.Context) ([]View, error) {
	bests, err := c.currentBests(ctx)
	var views []View
	for _, p := range bests {
		views = append(views, View{Name: p.Dataset, Dir: true, Mtime: p.Updated})
	}
	return views, err
}

// bestPredictionViews: exports/best_predictions/<ds>_<date>_<pipeline>.csv.
func (c *Catalog) bestPredictionViews(ctx context.Context) ([]View, error) {
	bests, err := c.currentBests(ctx)
	var views []View
	for _, p := range bests {
		name := fmt.Sprintf("%s_%s_%s.csv", p.Dataset, p.RunDate(), p.PID)
		views = append(views, View{Name: name, Mtime: p.Updated, Blob: p.PredBlob, Size: p.PredSize})
	}
	return views, err
}

// exportViews: the best pipeline of each model class of a dataset.
func (c *Catalog) exportViews(ctx context.Context, ds string) ([]View, error) {
	rows, err := c.Pipelines(ctx, ds)
	if err != nil {
		return nil, err
	}
	rule, err := c.Rule(ctx)
	if err != nil {
		return nil, err
	}
	var views []View
	for _, p := range bestPerModel(rule, rows) {
		views = append(views, View{Name: p.Model + "_predictions.csv", Mtime: p.Updated, Blob: p.PredBlob, Size: p.PredSize})
		if !p.PipeBlob.IsZero() {
			views = append(views, View{Name: p.Model + "_pipeline.json", Mtime: p.Updated, Blob: p.PipeBlob, Size: p.PipeSize})
		}
		summary := jsonBytes(modelSummary(rule, p))
		views = append(views, DataView(p.Model+"_summary.json", p.Updated, summary))
	}
	charts, err := c.bestChartViews(ctx, ds, rows, rule)
	return append(views, charts...), err
}

func latest(rows []PipelineRow) time.Time {
	var t time.Time
	for i := range rows {
		if rows[i].Updated.After(t) {
			t = rows[i].Updated
		}
	}
	return t
}
