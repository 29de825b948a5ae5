package catalog

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDataViewPacksWhatShrinks(t *testing.T) {
	page := []byte(strings.Repeat(`<tr><td>0001_pls_aa</td><td>0.512</td></tr>`+"\n", 4000)) // 180 KB of HTML
	v := DataView("report.html", time.Unix(1, 0), page)
	if v.packed == nil || v.Data != nil {
		t.Fatalf("a %d-byte page was not packed (packed %d bytes, data %d)", len(page), len(v.packed), len(v.Data))
	}
	if len(v.packed) > len(page)/5 {
		t.Errorf("packed %d bytes into %d: expected to shrink at least 5 times", len(page), len(v.packed))
	}
	if size, err := v.ExactSize(); err != nil || size != int64(len(page)) {
		t.Errorf("ExactSize = %d, %v; want %d", size, err, len(page))
	}
	first, err := v.Content()
	if err != nil || !bytes.Equal(first, page) {
		t.Fatalf("Content gave %d bytes (%v), not the page", len(first), err)
	}
	first[0] = 'X' // a reader's copy: the next reader still gets the page
	if again, err := v.Content(); err != nil || !bytes.Equal(again, page) {
		t.Errorf("a change to one Content result showed in the next (%v)", err)
	}

	noise := make([]byte, 200<<10)
	rand.Read(noise)
	if v := DataView("chart.png", time.Time{}, noise); v.packed != nil || !bytes.Equal(v.Data, noise) {
		t.Error("content that does not shrink was packed")
	}
	small := []byte(`{"best": "0001_pls_aa"}`)
	if v := DataView("s.json", time.Time{}, small); v.packed != nil || !bytes.Equal(v.Data, small) {
		t.Error("a small file was packed")
	}
}

// A packed computed file reads the same as the unpacked rendering: packing
// is invisible to every reader.
func TestPackedRunSummaryReadsTheSame(t *testing.T) {
	defer func(old int) { packMin = old }(packMin)
	packMin = 1
	f := newStatusFixture(t)
	f.pipeline("wheat", "0001_pls_aa", 0.5, 0.9)
	f.pipeline("wheat", "0002_pls_bb", 0.4, 0.8)
	f.refresh()
	packed := f.overlayFile("runs/wheat", "run_summary.json")
	if packed.packed == nil {
		t.Fatal("run_summary.json was not packed with packMin = 1")
	}
	got, err := packed.Content()
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(got)) != packed.Size {
		t.Errorf("size %d for %d bytes", packed.Size, len(got))
	}
	var summary map[string]any
	if err := json.Unmarshal(got, &summary); err != nil || !strings.Contains(string(got), "0002_pls_bb") {
		t.Fatalf("packed run_summary.json does not read back as the summary (%v):\n%s", err, got)
	}

	packMin = 1 << 30
	plain, err := Open(f.ctx, f.s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	views, err := plain.Overlay(f.ctx, "runs/wheat")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		if v.Name == "run_summary.json" {
			if v.packed != nil || !bytes.Equal(v.Data, got) {
				t.Errorf("the unpacked rendering differs from the packed one:\n%s\n---\n%s", v.Data, got)
			}
			return
		}
	}
	t.Fatal("no run_summary.json in runs/wheat")
}
