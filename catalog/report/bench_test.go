package report

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing/backingtest"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/demo"
)

// demoCatalog fills a fresh store with the demo workspace and ingests it.
func demoCatalog(tb testing.TB, opts demo.Options) *catalog.Catalog {
	tb.Helper()
	ctx := context.Background()
	s := backingtest.NewStore(tb)
	cat, err := catalog.Open(ctx, s, catalog.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	emit := func(ctx context.Context, p string, data []byte) error {
		_, err := s.WriteFile(ctx, p, strings.NewReader(string(data)), 0o644, time.Time{})
		return err
	}
	if err := demo.Generate(ctx, opts, emit); err != nil {
		tb.Fatal(err)
	}
	if _, err := cat.Refresh(ctx); err != nil {
		tb.Fatal(err)
	}
	return cat
}

// BenchmarkReports renders each report of a 1,000-pipeline dataset from
// the catalog tables (queries included, cache bypassed); the goal is under
// 500 ms each. Building that catalog takes seconds (30 s with -race), so
// the checks of the rendered session report run here, not in every
// go test.
func BenchmarkReports(b *testing.B) {
	cat := demoCatalog(b, demo.Options{Datasets: 1, Pipelines: 1000, Samples: 100, Seed: 3})
	ctx := context.Background()
	check1000(b, cat)
	for _, dir := range []string{"exports/session_reports", "catalog/reports", "catalog/reports/dataset_history",
		"exports/" + demo.DatasetName(0)} {
		b.Run(strings.ReplaceAll(dir, "/", "_"), func(b *testing.B) {
			for b.Loop() {
				views, err := cat.Render(ctx, dir)
				if err != nil || len(views) == 0 {
					b.Fatalf("render %s: %d views, %v", dir, len(views), err)
				}
			}
		})
	}
}

// check1000: the session report of the 1,000-pipeline dataset names its
// best and has a row per pipeline.
func check1000(b *testing.B, cat *catalog.Catalog) {
	ctx := context.Background()
	views, err := cat.Render(ctx, "exports/session_reports")
	if err != nil || len(views) != 1 {
		b.Fatalf("render: %d views, %v", len(views), err)
	}
	html := string(views[0].Data)
	if n := strings.Count(html, "<tr data-pid="); n != 1000 {
		b.Errorf("%d pipeline rows, want 1000", n)
	}
	best, _, err := cat.BestOf(ctx, demo.DatasetName(0))
	if err != nil {
		b.Fatal(err)
	}
	if !strings.Contains(html, `id="best-pipeline">`+best.PID+`<`) {
		b.Errorf("report does not name the best, %s", best.PID)
	}
}
