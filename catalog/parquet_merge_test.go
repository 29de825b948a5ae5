package catalog

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// Pieces merged into one file read back as every row of every piece, in
// order, one row group per piece, with page indexes that point at the
// moved pages.
func TestMergeParquetKeepsEveryRow(t *testing.T) {
	rows := bigData(3000) // several pages per column chunk
	var pieces [][]byte
	for _, part := range [][]DataRow{rows[:1000], rows[1000:1001], rows[1001:]} {
		var b bytes.Buffer
		if err := WriteData(&b, part); err != nil {
			t.Fatal(err)
		}
		pieces = append(pieces, b.Bytes())
	}
	var empty bytes.Buffer
	if err := WriteData(&empty, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var kept []parquetPart // the parts pointed at their pages in the last merge, as the piece cache keeps them
	merge := func() []byte {
		var parts []parquetPart
		for _, f := range append(pieces[:1:1], empty.Bytes(), pieces[1], pieces[2]) {
			p, err := splitParquet(f)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, p)
		}
		out, bodies, err := mergeParts(parts, dir)
		if err != nil {
			t.Fatal(err)
		}
		kept = nil
		for i := range parts {
			got := make([]byte, bodies[i].size())
			if _, err := bodies[i].file.ReadAt(got, bodies[i].off); err != nil && len(got) > 0 {
				t.Fatal(err)
			}
			if !bytes.Equal(got, parts[i].body.mem) {
				t.Errorf("part %d: the body returned is not the part's pages", i)
			}
			p := parts[i]
			p.body = bodies[i]
			kept = append(kept, p)
		}
		data, err := contentBytes(out)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	merged := merge()
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Errorf("the merged file left %d names in its folder; it should have none", len(names))
	}
	// A merge of parts kept on disk (the previous merge's regions) makes
	// the same file.
	again, _, err := mergeParts(kept, dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := contentBytes(again); err != nil || !bytes.Equal(b, merged) {
		t.Errorf("a merge of the parts kept on disk differs from the first (%v)", err)
	}
	got := readAll[DataRow](t, merged)
	if len(got) != len(rows) {
		t.Fatalf("merged file has %d rows, want %d", len(got), len(rows))
	}
	for i := range rows {
		if !reflect.DeepEqual(normalize(rows[i]), normalize(got[i])) {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, got[i], rows[i])
		}
	}
	f, err := parquet.OpenFile(bytes.NewReader(merged), int64(len(merged)))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.RowGroups()); n != 3 {
		t.Errorf("%d row groups, want 3 (one per non-empty piece)", n)
	}
	// Each offset index entry must name a page header where it says: read
	// every page of every chunk through the index.
	for g, rg := range f.RowGroups() {
		for c, ch := range rg.ColumnChunks() {
			oi, err := ch.OffsetIndex()
			if err != nil {
				t.Fatalf("row group %d column %d: offset index: %v", g, c, err)
			}
			meta := f.Metadata().RowGroups[g].Columns[c].MetaData
			first := meta.DataPageOffset
			if d := meta.DictionaryPageOffset; d != 0 {
				first = d
			}
			end := first + meta.TotalCompressedSize
			for p := range oi.NumPages() {
				if off := oi.Offset(p); off < first || off+oi.CompressedPageSize(p) > end {
					t.Fatalf("row group %d column %d page %d at %d+%d, outside its chunk [%d, %d)",
						g, c, p, off, oi.CompressedPageSize(p), first, end)
				}
			}
		}
	}
	if again := merge(); !bytes.Equal(again, merged) {
		t.Error("two merges of the same pieces differ")
	}
}
