package bundle

import (
	"archive/zip"
	"bytes"
	"context"
	"path"
	"strings"
	"testing"
)

// handZip writes a zip of name → content in order; a name ending in "@"
// is stored as a symlink to its content.
func handZip(f *testing.F, files ...string) []byte {
	f.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		h := &zip.FileHeader{Name: strings.TrimSuffix(files[i], "@"), Method: zip.Deflate}
		if strings.HasSuffix(files[i], "@") {
			h.SetMode(0o777 | 1<<27) // os.ModeSymlink
		}
		fw, err := w.CreateHeader(h)
		if err != nil {
			f.Fatal(err)
		}
		fw.Write([]byte(files[i+1]))
	}
	if err := w.Close(); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzZipImport feeds any bytes to bundle import (n4ws import x.zip): the
// zip is checked, planned into dataset ds and applied to an in-memory
// tree. Whatever the zip says, nothing may be written outside runs/ds/,
// and bad zips are errors, never panics.
func FuzzZipImport(f *testing.F) {
	ctx := context.Background()
	for _, spec := range []Spec{{Kind: KindFiltered, Dataset: "wheat", Pipeline: "0001_pls_aaa"},
		{Kind: KindPipeline, Dataset: "wheat", Pipeline: "0001_pls_aaa"}} {
		plan, err := NewPlan(ctx, sampleTree(), spec)
		if err != nil {
			f.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteZip(ctx, &buf, plan.Files, nil); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add(handZip(f, "0001_a_b/metrics.json", "{}", "../evil", "x"))
	f.Add(handZip(f, "/abs/0001_a_b/x", "x", "0001_a_b/../../evil", "x"))
	f.Add(handZip(f, "0001_a_b/link@", "../../../etc/passwd", "0001_a_b/x", "x"))
	f.Add(handZip(f, "0001_a_b/x", "1", "0001_a_b/x", "2", "_binaries/m.pkl", "m"))
	f.Add(handZip(f, "0001_a_b/big", strings.Repeat("\x00", 1<<20)))
	f.Add(handZip(f, "0001_a_b/\x01ctl\xff", "x", "0001_a_b/"+strings.Repeat("n", 300), "y"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := OpenZip(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, e := range entries {
			if e.Path == "" || path.IsAbs(e.Path) || path.Clean(e.Path) != e.Path || strings.HasPrefix(e.Path, "../") {
				t.Fatalf("OpenZip let through entry %q", e.Path)
			}
		}
		ReadMeta(entries) // any answer, no panic
		plan, err := PlanImport(ctx, memTree{}, entries, "ds", 1)
		if err != nil {
			return
		}
		tree := memTree{}
		if err := plan.Apply(ctx, tree, nil); err != nil {
			return
		}
		for p := range tree {
			if !strings.HasPrefix(p, "runs/ds/") || path.Clean(p) != p {
				t.Fatalf("import wrote %q, outside runs/ds/", p)
			}
		}
	})
}
