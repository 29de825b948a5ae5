package catalog

import "context"

// Reports draws the computed report files: the HTML reports and the chart
// PNGs. Package catalog/report implements it; the core only knows the
// folders they appear in, and calls it from Overlay, which caches what it
// returns by catalog generation. A Catalog opened without one shows no
// report files (the folders stay, empty).
type Reports interface {
	// SessionReports: exports/session_reports/<dataset>.html.
	SessionReports(ctx context.Context, c *Catalog) ([]View, error)
	// CatalogReports: catalog/reports/ (global report, dataset_history/).
	CatalogReports(ctx context.Context, c *Catalog) ([]View, error)
	// DatasetHistory: catalog/reports/dataset_history/<dataset>.html.
	DatasetHistory(ctx context.Context, c *Catalog) ([]View, error)
	// BestCharts: the chart PNGs of exports/<dataset>/, given the dataset's
	// pipelines and the best rule.
	BestCharts(ctx context.Context, c *Catalog, ds string, rows []PipelineRow, rule BestRule) ([]View, error)
}

func (c *Catalog) sessionReportViews(ctx context.Context) ([]View, error) {
	if c.reports == nil {
		return nil, nil
	}
	return c.reports.SessionReports(ctx, c)
}

func (c *Catalog) catalogReportViews(ctx context.Context) ([]View, error) {
	if c.reports == nil {
		return nil, nil
	}
	return c.reports.CatalogReports(ctx, c)
}

func (c *Catalog) historyViews(ctx context.Context) ([]View, error) {
	if c.reports == nil {
		return nil, nil
	}
	return c.reports.DatasetHistory(ctx, c)
}

func (c *Catalog) bestChartViews(ctx context.Context, ds string, rows []PipelineRow, rule BestRule) ([]View, error) {
	if c.reports == nil {
		return nil, nil
	}
	return c.reports.BestCharts(ctx, c, ds, rows, rule)
}
