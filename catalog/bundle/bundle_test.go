package bundle

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
)

// memTree is a Tree over a map of path → content ("" values of dirs are
// implied by their files).
type memTree map[string]string

func (m memTree) List(_ context.Context, dir string) ([]catalog.TreeEntry, error) {
	seen := map[string]catalog.TreeEntry{}
	for p, c := range m {
		rest, ok := strings.CutPrefix(p, dir+"/")
		if !ok {
			continue
		}
		name, sub, nested := strings.Cut(rest, "/")
		_ = sub
		seen[name] = catalog.TreeEntry{Name: name, Dir: nested, Size: int64(len(c))}
	}
	if len(seen) == 0 {
		return nil, fs.ErrNotExist
	}
	var out []catalog.TreeEntry
	for _, e := range seen {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m memTree) Stat(ctx context.Context, p string) (catalog.TreeEntry, error) {
	if c, ok := m[p]; ok {
		e := catalog.TreeEntry{Name: path.Base(p), Size: int64(len(c))}
		if c != "" {
			e.Digest = backing.Digest(sha256.Sum256([]byte(c)))
		}
		return e, nil
	}
	if _, err := m.List(ctx, p); err == nil {
		return catalog.TreeEntry{Name: path.Base(p), Dir: true}, nil
	}
	return catalog.TreeEntry{}, fs.ErrNotExist
}

func (m memTree) Open(_ context.Context, p string) (io.ReadCloser, error) {
	c, ok := m[p]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return io.NopCloser(strings.NewReader(c)), nil
}

func (m memTree) WriteFile(_ context.Context, p string, r io.Reader) error {
	b, err := io.ReadAll(r)
	m[p] = string(b)
	return err
}

func (m memTree) Symlink(context.Context, string, string) error { return fmt.Errorf("no symlinks") }

func (m memTree) RemoveAll(_ context.Context, p string) error {
	for k := range m {
		if k == p || strings.HasPrefix(k, p+"/") {
			delete(m, k)
		}
	}
	return nil
}

func sampleTree() memTree {
	pipe := func(bins ...string) string {
		var arts []string
		for _, b := range bins {
			arts = append(arts, fmt.Sprintf(`{"step": 1, "name": "X", "path": %q}`, b))
		}
		return `{"id": "x", "steps": [{"class": "sklearn.cross_decomposition.PLSRegression"}], "artifacts": [` + strings.Join(arts, ", ") + "]}\n"
	}
	return memTree{
		"runs/wheat/0001_pls_aaa/pipeline.json":   pipe("../_binaries/SNV_1.pkl", "../_binaries/PLS_1.pkl"),
		"runs/wheat/0001_pls_aaa/metrics.json":    `{"test": {"rmse": 0.3}}`,
		"runs/wheat/0001_pls_aaa/predictions.csv": "y_true,y_pred\n1,1\n",
		"runs/wheat/0001_pls_aaa/outputs/a.png":   "png",
		"runs/wheat/0002_rf_bbb/pipeline.json":    pipe("RF_2.pkl"),
		"runs/wheat/_binaries/SNV_1.pkl":          "snv",
		"runs/wheat/_binaries/PLS_1.pkl":          "pls",
		"runs/wheat/_binaries/RF_2.pkl":           "rf",
		"runs/wheat/_binaries/unused.pkl":         "unused",
		"runs/wheat/_data/train.csv":              "x,y\n",
	}
}

func buildZip(t *testing.T, tr catalog.Tree, spec Spec) []byte {
	t.Helper()
	plan, err := NewPlan(context.Background(), tr, spec)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteZip(context.Background(), &buf, plan.Files, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipNames(t *testing.T, data []byte) []string {
	t.Helper()
	es, err := OpenZip(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Path)
	}
	return out
}

func TestBundleKinds(t *testing.T) {
	tr := sampleTree()
	cases := map[string]string{
		KindFiltered: "0001_pls_aaa/metrics.json 0001_pls_aaa/pipeline.json 0001_pls_aaa/predictions.csv _binaries/PLS_1.pkl _binaries/SNV_1.pkl n4ws_bundle.json",
		KindPipeline: "0001_pls_aaa/metrics.json 0001_pls_aaa/outputs/a.png 0001_pls_aaa/pipeline.json 0001_pls_aaa/predictions.csv " +
			"0002_rf_bbb/pipeline.json _binaries/PLS_1.pkl _binaries/RF_2.pkl _binaries/SNV_1.pkl n4ws_bundle.json",
		KindFullrun: "0001_pls_aaa/metrics.json 0001_pls_aaa/outputs/a.png 0001_pls_aaa/pipeline.json 0001_pls_aaa/predictions.csv " +
			"0002_rf_bbb/pipeline.json _binaries/PLS_1.pkl _binaries/RF_2.pkl _binaries/SNV_1.pkl _data/train.csv n4ws_bundle.json",
		KindExport: "0001_pls_aaa/metrics.json 0001_pls_aaa/outputs/a.png 0001_pls_aaa/pipeline.json 0001_pls_aaa/predictions.csv n4ws_bundle.json",
	}
	for kind, want := range cases {
		data := buildZip(t, tr, Spec{Kind: kind, Name: "n", Dataset: "wheat", Pipeline: "0001_pls_aaa"})
		if got := strings.Join(zipNames(t, data), " "); got != want {
			t.Errorf("%s:\n got %s\nwant %s", kind, got, want)
		}
		if again := buildZip(t, tr, Spec{Kind: kind, Name: "n", Dataset: "wheat", Pipeline: "0001_pls_aaa"}); !bytes.Equal(again, data) {
			t.Errorf("%s: two builds differ", kind)
		}
		checkNoExtra(t, data)
	}
	if _, err := NewPlan(context.Background(), tr, Spec{Kind: KindFiltered, Dataset: "wheat", Pipeline: "0009_x_y"}); err == nil {
		t.Error("unknown pipeline: no error")
	}
}

func checkNoExtra(t *testing.T, data []byte) {
	zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	for _, f := range zr.File {
		if len(f.Extra) != 0 || f.Method != zip.Deflate {
			t.Errorf("%s: extra %d bytes, method %d", f.Name, len(f.Extra), f.Method)
		}
	}
}

func TestBundleRewritesArtifactPaths(t *testing.T) {
	data := buildZip(t, sampleTree(), Spec{Kind: KindFiltered, Dataset: "wheat", Pipeline: "0002_rf_bbb"})
	es, _ := OpenZip(bytes.NewReader(data), int64(len(data)))
	for _, e := range es {
		if e.Path != "0002_rf_bbb/pipeline.json" {
			continue
		}
		r, _ := e.Open()
		b, _ := io.ReadAll(r)
		if !strings.Contains(string(b), `"path": "../_binaries/RF_2.pkl"`) {
			t.Errorf("pipeline.json not rewritten: %s", b)
		}
	}
}

func TestImportRoundTrip(t *testing.T) {
	src := sampleTree()
	data := buildZip(t, src, Spec{Kind: KindPipeline, Dataset: "wheat", Pipeline: "0001_pls_aaa"})
	es, err := OpenZip(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	dst := memTree{"runs/other/_binaries/SNV_1.pkl": "snv"}
	plan, err := PlanImport(context.Background(), dst, es, "other", 5)
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Apply(context.Background(), dst, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"0001_pls_aaa/metrics.json", "0001_pls_aaa/outputs/a.png", "0001_pls_aaa/pipeline.json"} {
		if got := dst["runs/other/0005"+p[4:]]; got != src["runs/wheat/"+p] {
			t.Errorf("%s: got %q", p, got)
		}
	}
	if dst["runs/other/0006_rf_bbb/pipeline.json"] == "" || dst["runs/other/_binaries/RF_2.pkl"] != "rf" {
		t.Errorf("second pipeline or binary missing: %v", dst)
	}
	if len(plan.Skipped) != 1 {
		t.Errorf("skipped = %v", plan.Skipped)
	}
	// A binary of the same name with other content is refused up front.
	clash := memTree{"runs/other/_binaries/PLS_1.pkl": "different"}
	if _, err := PlanImport(context.Background(), clash, es, "other", 1); err == nil {
		t.Error("clashing binary: no error")
	}
}

func TestOpenZipRefusesBadZips(t *testing.T) {
	mk := func(entries ...[2]string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, e := range entries {
			h := &zip.FileHeader{Name: e[0], Method: zip.Deflate}
			if strings.HasPrefix(e[1], "LINK:") {
				h.SetMode(fs.ModeSymlink | 0o777)
				e[1] = strings.TrimPrefix(e[1], "LINK:")
			}
			w, _ := zw.CreateHeader(h)
			w.Write([]byte(e[1]))
		}
		zw.Close()
		return buf.Bytes()
	}
	bad := map[string][]byte{
		"absolute":  mk([2]string{"/etc/x", "a"}),
		"dotdot":    mk([2]string{"0001_a_b/../../x", "a"}),
		"duplicate": mk([2]string{"0001_a_b/x", "a"}, [2]string{"0001_a_b/x", "b"}),
		"link out":  mk([2]string{"0001_a_b/l", "LINK:../../etc/passwd"}),
		"link abs":  mk([2]string{"0001_a_b/l", "LINK:/etc/passwd"}),
		"bomb":      mk([2]string{"0001_a_b/z", strings.Repeat("\x00", 20<<20)}),
		"not zip":   []byte("hello"),
	}
	for name, data := range bad {
		if _, err := OpenZip(bytes.NewReader(data), int64(len(data))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ok := mk([2]string{"0001_a_b/l", "LINK:x.csv"}, [2]string{"0001_a_b/x.csv", "1"})
	if _, err := OpenZip(bytes.NewReader(ok), int64(len(ok))); err != nil {
		t.Errorf("link inside: %v", err)
	}
}

func TestZipPassesUnzip(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 missing under CI=true (.ci/run installs it)")
		}
		t.Skip("no python3")
	}
	data := buildZip(t, sampleTree(), Spec{Kind: KindFullrun, Dataset: "wheat", Pipeline: "0001_pls_aaa"})
	cmd := exec.Command("python3", "-c", "import sys, zipfile, io; z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read())); assert z.testzip() is None; print(len(z.namelist()))")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "10" {
		t.Errorf("python3 zipfile: %v %s", err, out)
	}
}

func TestLibraryNames(t *testing.T) {
	for _, n := range []string{"", "a/b", "..", ".hidden", strings.Repeat("x", 201)} {
		if CheckLibraryName(n) == nil {
			t.Errorf("%q accepted", n)
		}
	}
	tr := memTree{"library/templates/t.json": "{}", "library/trained/filtered/a.zip": "z", "library/mine.zip": "z"}
	items, err := ListLibrary(context.Background(), tr)
	if err != nil || len(items) != 3 {
		t.Fatalf("%v %v", items, err)
	}
	types := map[string]string{}
	for _, it := range items {
		types[it.Name] = it.Type
	}
	if types["t"] != "template" || types["a"] != KindFiltered || types["mine"] != "other" {
		t.Errorf("types %v", types)
	}
	if got := FindLibrary(items, "a"); len(got) != 1 {
		t.Errorf("find a: %v", got)
	}
}
