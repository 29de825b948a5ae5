//go:build linux

package integration

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The HTML reports and chart PNGs as a user opens them: from the mount,
// in a browser with no network (headless Chromium), and in anything that
// reads PNG.

// TestReportsInBrowser opens every kind of report from a real mount in
// headless Chromium: each loads without a script error (the table-sorting
// script ran), and its screenshot is not blank.
func TestReportsInBrowser(t *testing.T) {
	t.Parallel()
	browser := chromium(t)
	store := newStore(t)
	// Three demo datasets: two regressions and soil_class, a classification.
	n4ws(t, store, "demo", "--datasets", "3", "--pipelines", "30")
	mnt := mountStore(t, store)
	src := landDataset(t, mnt, "ds", threeSpecs...)
	// Seen as the best first (the catalog learns of a folder when it is
	// read), then removed: the best of all time, kept by the catalog.
	wantBest(t, filepath.Join(mnt, "runs/ds"), "0002_b_x2", filepath.Join(src, "0002_b_x2/predictions.csv"))
	sh(t, "rm -rf "+filepath.Join(mnt, "runs/ds/0002_b_x2"))

	sessions := filepath.Join(mnt, "exports/session_reports")
	if got, want := lsNames(t, sessions), []string{"corn_moisture.html", "ds.html", "soil_class.html", "wheat_protein.html"}; !slices.Equal(got, want) {
		t.Fatalf("ls %s: %v, want %v", sessions, got, want)
	}
	reports := []string{
		"exports/session_reports/wheat_protein.html",
		"exports/session_reports/soil_class.html",
		"exports/session_reports/ds.html",
		"catalog/reports/global_performance.html",
		"catalog/reports/dataset_history/ds.html",
		"catalog/reports/dataset_history/wheat_protein.html",
	}
	for _, rel := range reports {
		p := filepath.Join(mnt, rel)
		html := catBytes(t, p)
		if size := fileSize(t, p); size != len(html) {
			t.Errorf("%s: stat says %d bytes, cat reads %d", rel, size, len(html))
		}
		if strings.Contains(html, "https://") || strings.Contains(html, "http://") || strings.Contains(html, "src=") {
			t.Errorf("%s refers to something outside itself", rel)
		}
		if strings.Count(html, `<svg class="chart"`) == 0 {
			t.Errorf("%s has no chart", rel)
		}
		openInBrowser(t, browser, p)
	}
	for _, ds := range []string{"wheat_protein", "soil_class"} {
		var sum runSummary
		pyJSON(t, filepath.Join(mnt, "runs", ds, "run_summary.json"), &sum)
		html := catBytes(t, filepath.Join(sessions, ds+".html"))
		if sum.Best == nil || !strings.Contains(html, `id="best-pipeline">`+sum.Best.Pipeline+`<`) {
			t.Errorf("%s.html does not name the best of run_summary.json (%+v)", ds, sum.Best)
		}
		if n := strings.Count(html, "<tr data-pid="); n != 30 {
			t.Errorf("%s.html: %d pipeline rows, want 30", ds, n)
		}
	}
	history := catBytes(t, filepath.Join(mnt, "catalog/reports/dataset_history/ds.html"))
	if !strings.Contains(history, `id="alltime-best">0002_b_x2<`) || !strings.Contains(history, `id="current-best">0003_c_x3<`) {
		t.Error("history of ds: want 0002_b_x2 (deleted) as best of all time and 0003_c_x3 as current best")
	}
}

// TestReportChartPNGs: exports/<dataset>/ has the best's charts as PNG
// files with exact sizes, and a classification its confusion matrix.
func TestReportChartPNGs(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	n4ws(t, store, "demo", "--datasets", "3", "--pipelines", "12")
	mnt := mountStore(t, store)
	for ds, names := range map[string][]string{
		"wheat_protein": {"chart_predictions.png", "chart_residuals.png"},
		"soil_class":    {"chart_confusion.png", "chart_predictions.png"},
	} {
		dir := filepath.Join(mnt, "exports", ds)
		if got := withPrefix(lsNames(t, dir), "chart_"); !slices.Equal(got, names) {
			t.Errorf("ls %s: charts %v, want %v", dir, got, names)
		}
		for _, name := range names {
			p := filepath.Join(dir, name)
			data := catBytes(t, p)
			if size := fileSize(t, p); size != len(data) {
				t.Errorf("%s: stat says %d bytes, cat reads %d", p, size, len(data))
			}
			img, err := png.Decode(strings.NewReader(data))
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if blank(img) {
				t.Errorf("%s is a single colour", p)
			}
		}
	}
}

// TestReportsFollowCatalog: a report is the same bytes across remounts
// (nothing of the moment it was drawn is in it) and changes as soon as a
// better pipeline lands.
func TestReportsFollowCatalog(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	src := landDataset(t, mnt, "ds", threeSpecs...)
	files := []string{"exports/session_reports/ds.html", "catalog/reports/global_performance.html",
		"catalog/reports/dataset_history/ds.html", "exports/ds/chart_predictions.png"}
	before := map[string]string{}
	for _, f := range files {
		before[f] = catBytes(t, filepath.Join(mnt, f))
	}
	pid, _ := readPID(store)
	unmount(t, store, mnt, pid)
	mountAt(t, store, mnt)
	for _, f := range files {
		if catBytes(t, filepath.Join(mnt, f)) != before[f] {
			t.Errorf("%s differs after a remount of the same store", f)
		}
	}
	landPipeline(t, mnt, "ds", src, pipeSpec{pid: "0004_d_x4", testRMSE: 0.1})
	html := catBytes(t, filepath.Join(mnt, "exports/session_reports/ds.html"))
	if !strings.Contains(html, `id="best-pipeline">0004_d_x4<`) || strings.Count(html, "<tr data-pid=") != 4 {
		t.Error("right after cp, the session report does not show the new best and its 4 pipelines")
	}
}

// chromium returns the browser's path; it is required under CI.
func chromium(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (.ci/run installs it)")
		}
		t.Skip("chromium is not installed")
	}
	return p
}

// browserArgs run Chromium headless, as root, offline and quiet; every
// host name fails to resolve, so a page that needs the network shows it.
func browserArgs(t *testing.T) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0",
		"--user-data-dir=" + t.TempDir(), "--window-size=1280,2000"}
}

// openInBrowser loads a report twice: once to dump the DOM after its
// scripts ran (the sorting script marks headings focusable), once for a
// screenshot that must not be one colour. Script errors fail the test.
func openInBrowser(t *testing.T, browser, path string) {
	t.Helper()
	url := "file://" + path
	dom, err := exe("", browser, append(browserArgs(t), "--dump-dom", url)...)
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v\n%s", path, err, dom)
	}
	for _, line := range strings.Split(dom, "\n") {
		if strings.Contains(line, ":CONSOLE") || strings.Contains(line, "Uncaught") {
			t.Errorf("%s: browser console: %s", path, line)
		}
	}
	if !strings.Contains(dom, `tabindex="0"`) {
		t.Errorf("%s: the table script did not run (no focusable headings in the DOM)", path)
	}
	shot := filepath.Join(t.TempDir(), "shot.png")
	out, err := exe("", browser, append(browserArgs(t), "--screenshot="+shot, url)...)
	if err != nil {
		t.Fatalf("chromium --screenshot %s: %v\n%s", path, err, out)
	}
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("%s: no screenshot: %v\n%s", path, err, out)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: screenshot: %v", path, err)
	}
	if blank(img) {
		t.Errorf("%s: the screenshot is a single colour", path)
	}
}

// blank reports whether every pixel of img has the same colour.
func blank(img image.Image) bool {
	b := img.Bounds()
	first := img.At(b.Min.X, b.Min.Y)
	r0, g0, b0, a0 := first.RGBA()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bl, a := img.At(x, y).RGBA(); r != r0 || g != g0 || bl != b0 || a != a0 {
				return false
			}
		}
	}
	return true
}
