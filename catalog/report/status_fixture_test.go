package report

import (
	"context"
	"strings"
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

// rmTree removes a path of the store recursively, as rm -rf does.
func rmTree(t *testing.T, s *backing.Store, p string) {
	t.Helper()
	ctx := context.Background()
	a, err := s.ResolvePath(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	parent, err := s.ResolvePath(ctx, p[:strings.LastIndexByte(p, '/')])
	if err != nil {
		t.Fatal(err)
	}
	name := p[strings.LastIndexByte(p, '/')+1:]
	if a.IsDir() {
		ents, err := s.ReadDir(ctx, a.Ino)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			rmTree(t, s, p+"/"+e.Name)
		}
		if err := s.Rmdir(ctx, parent.Ino, name); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := s.Unlink(ctx, parent.Ino, name); err != nil {
		t.Fatal(err)
	}
}
