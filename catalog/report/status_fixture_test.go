package report

import (
	"context"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
	"github.com/n4ws/n4ws/catalog"
)

// statusFixture is a store with a catalog that draws reports, filled by
// path (the report tests' copy of the core's status test fixture).
type statusFixture struct {
	t   *testing.T
	ctx context.Context
	s   *backing.Store
	cat *catalog.Catalog
}

func newStatusFixture(t *testing.T) *statusFixture {
	t.Helper()
	ctx := context.Background()
	s := backingtest.NewStore(t)
	cat, err := catalog.Open(ctx, s, catalog.Options{Reports: Views{}})
	if err != nil {
		t.Fatal(err)
	}
	return &statusFixture{t: t, ctx: ctx, s: s, cat: cat}
}

func (f *statusFixture) write(p, content string) { backingtest.WriteFile(f.t, f.s, p, content) }

func (f *statusFixture) refresh() {
	f.t.Helper()
	if _, err := f.cat.Refresh(f.ctx); err != nil {
		f.t.Fatal(err)
	}
}
