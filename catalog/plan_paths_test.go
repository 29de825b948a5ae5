package catalog

import (
	"strings"
	"testing"
)

// A deep tree below a pipeline folder is ignored by the refresh (only
// runs/<dataset>/<pipeline> matters), the pipeline beside it is ingested,
// and the paths a plan resolves stop at planDepth components.
func TestRefreshBesideADeepTree(t *testing.T) {
	f := newStatusFixture(t)
	f.pipeline("wheat", "0001_pls_aa", 0.5, 0.9)
	deep := "runs/wheat/0001_pls_aa/extra" + strings.Repeat("/d", 300)
	f.mkdir(deep)
	f.write(deep+"/leaf.txt", "bottom\n")
	f.pipeline("wheat", "0002_pls_bb", 0.1, 0.95)
	f.refresh()
	best, _ := f.best("wheat")
	if best == nil || best.PID != "0002_pls_bb" {
		t.Fatalf("best of wheat after the refresh: %+v, want 0002_pls_bb", best)
	}
	leaf, err := f.s.ResolvePath(f.ctx, deep)
	if err != nil {
		t.Fatal(err)
	}
	pp := newPlanPaths(f.s)
	p, err := pp.path(f.ctx, leaf.Ino)
	if err != nil || p != "/runs/wheat/0001_pls_aa/extra" {
		t.Fatalf("path of the deepest folder: %q, %v; want it cut to /runs/wheat/0001_pls_aa/extra", p, err)
	}
	for _, c := range []struct{ in, want string }{
		{"/runs", "/runs"}, {"/runs/a/b/c/d/e", "/runs/a/b/c"}, {"/a/b/c/d", "/a/b/c/d"},
	} {
		if got := cutComponents(c.in, planDepth); got != c.want {
			t.Errorf("cutComponents(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
