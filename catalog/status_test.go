package catalog

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

// statusFixture is a store with a catalog, filled by path.
type statusFixture struct {
	t   *testing.T
	ctx context.Context
	s   *backing.Store
	cat *Catalog
}

func newStatusFixture(t *testing.T) *statusFixture {
	t.Helper()
	ctx := context.Background()
	s := backingtest.NewStore(t)
	cat, err := Open(ctx, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &statusFixture{t: t, ctx: ctx, s: s, cat: cat}
}

func (f *statusFixture) write(p, content string) { backingtest.WriteFile(f.t, f.s, p, content) }

func (f *statusFixture) mkdir(p string) {
	f.t.Helper()
	if _, err := f.s.MkdirAll(f.ctx, p, 0o755); err != nil {
		f.t.Fatal(err)
	}
}

// pipeline writes a regression pipeline with the given test rmse and r2.
func (f *statusFixture) pipeline(ds, pid string, rmse, r2 float64) {
	f.t.Helper()
	dir := "runs/" + ds + "/" + pid + "/"
	f.write(dir+"metrics.json", fmt.Sprintf(`{"test": {"rmse": %g, "r2": %g}, "val": {"rmse": %g}}`, rmse, r2, rmse+1))
	f.write(dir+"predictions.csv", fmt.Sprintf("y_true,y_pred,partition\n1,%g,test\n2,2,test\n", 1+rmse))
	f.write(dir+"pipeline.json", `["sklearn.cross_decomposition._pls.PLSRegression"]`)
}

func (f *statusFixture) refresh() {
	f.t.Helper()
	if _, err := f.cat.Refresh(f.ctx); err != nil {
		f.t.Fatal(err)
	}
}

func (f *statusFixture) status() Status {
	f.t.Helper()
	st, err := f.cat.Status(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

func TestStatusCounts(t *testing.T) {
	f := newStatusFixture(t)
	f.pipeline("ds", "0001_a_x1", 0.5, 0.8)
	f.pipeline("ds", "0002_b_x2", 0.3, 0.9)
	f.pipeline("ds", "0003_c_x3", 0.4, 0.7)
	f.write("runs/ds/0003_c_x3/error.log", "Traceback\n")
	f.write("runs/ds/0004_d_x4/metrics.json", "{not json")
	f.mkdir("runs/ds/0005_e_x5")
	f.mkdir("runs/ds/_binaries")
	f.mkdir("runs/ds/scratch")
	f.write("runs/ds/notes.txt", "a file is no stray folder")
	f.pipeline("other", "0001_p_y1", 0.2, 0.95)
	f.mkdir("runs/empty")

	pending := f.status().Pending
	if len(pending) == 0 || !contains(pending, "runs/ds/0001_a_x1") {
		t.Errorf("before refresh, pending = %v, want runs/ds/0001_a_x1 among them", pending)
	}
	f.refresh()
	st := f.status()
	if len(st.Pending) != 0 {
		t.Errorf("after refresh, pending = %v, want none", st.Pending)
	}
	want := []DatasetStatus{
		{Dataset: "ds", Folder: true, Pipelines: 5, OK: 2, Failed: 1, Incomplete: 2, Best: "0002_b_x2"},
		{Dataset: "empty", Folder: true},
		{Dataset: "other", Folder: true, Pipelines: 1, OK: 1, Best: "0001_p_y1"},
	}
	if !reflect.DeepEqual(st.Datasets, want) {
		t.Errorf("datasets:\n got %+v\nwant %+v", st.Datasets, want)
	}
	if len(st.Errors) != 1 || st.Errors[0].File != "runs/ds/0004_d_x4/metrics.json" || st.Errors[0].Reason == "" {
		t.Errorf("errors = %+v, want one naming runs/ds/0004_d_x4/metrics.json with a reason", st.Errors)
	}
	if !reflect.DeepEqual(st.NotPipelines, []string{"runs/ds/scratch"}) {
		t.Errorf("not pipeline folders = %v, want [runs/ds/scratch]", st.NotPipelines)
	}

	// Removing the bad pipeline drops its error; removed pipelines count as deleted.
	backingtest.RemoveAll(t, f.s, "runs/ds/0004_d_x4")
	backingtest.RemoveAll(t, f.s, "runs/ds/0002_b_x2")
	f.refresh()
	st = f.status()
	if d := st.Datasets[0]; d.Pipelines != 3 || d.Deleted != 2 || d.Best != "0001_a_x1" {
		t.Errorf("after rm: %+v, want 3 pipelines, 2 deleted, best 0001_a_x1", d)
	}
	if len(st.Errors) != 0 {
		t.Errorf("errors of a removed folder still listed: %+v", st.Errors)
	}

	// A dataset whose folder is gone stays known, marked.
	backingtest.RemoveAll(t, f.s, "runs/other")
	f.refresh()
	st = f.status()
	if d := st.Datasets[2]; d.Dataset != "other" || d.Folder || d.Deleted != 1 || d.Pipelines != 0 || d.Best != "" {
		t.Errorf("after rm -rf runs/other: %+v", d)
	}
}

func TestNextID(t *testing.T) {
	f := newStatusFixture(t)
	next := func(ds string) int {
		t.Helper()
		n, err := f.cat.NextID(f.ctx, ds)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := next("missing"); n != 1 {
		t.Errorf("missing dataset: %d, want 1", n)
	}
	f.mkdir("runs/ds/_binaries")
	f.mkdir("runs/ds/9999x")
	if n := next("ds"); n != 1 {
		t.Errorf("dataset without pipelines: %d, want 1", n)
	}
	f.mkdir("runs/ds/0002_a_x")
	f.mkdir("runs/ds/0041_b_y")
	f.write("runs/ds/0090_file_z", "a file, not a pipeline folder")
	if n := next("ds"); n != 42 {
		t.Errorf("next after 0041: %d, want 42", n)
	}
	f.mkdir("runs/ds/9999_last_z")
	if _, err := f.cat.NextID(f.ctx, "ds"); err == nil {
		t.Error("next after 9999: no error")
	}
	if _, err := f.cat.NextID(f.ctx, "a/b"); err == nil {
		t.Error("dataset a/b: no error")
	}
}

func TestHasDataset(t *testing.T) {
	f := newStatusFixture(t)
	f.pipeline("ds", "0001_a_x", 0.5, 0.5)
	f.mkdir("runs/bare")
	f.refresh()
	backingtest.RemoveAll(t, f.s, "runs/ds")
	f.refresh()
	for ds, want := range map[string]bool{"ds": true, "bare": true, "nope": false} {
		got, err := f.cat.HasDataset(f.ctx, ds)
		if err != nil || got != want {
			t.Errorf("HasDataset(%s) = %v, %v; want %v", ds, got, err, want)
		}
	}
	for _, bad := range []string{"", ".", "..", "a/b"} {
		if _, err := f.cat.HasDataset(f.ctx, bad); err == nil {
			t.Errorf("HasDataset(%q): no error", bad)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
