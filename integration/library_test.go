//go:build linux

package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tests of issue 4: library zips, catalog archives, runs lifecycle,
// export and import, checked with python3's zipfile, unzip and tar.

type runRowJSON struct {
	Dataset        string `json:"dataset"`
	Pipeline       string `json:"pipeline"`
	Path           string `json:"path"`
	Files          int64  `json:"files"`
	LogicalBytes   int64  `json:"logical_bytes"`
	ExclusiveBytes int64  `json:"exclusive_bytes"`
}

// demoStore makes a store with one demo dataset and returns it with the
// path of its first pipeline folder (runs/<ds>/<pid>).
func demoStore(t *testing.T) (string, string) {
	t.Helper()
	store := newStore(t)
	n4ws(t, store, "demo", "--datasets", "1", "--pipelines", "4")
	var rows []runRowJSON
	n4wsJSON(t, store, &rows, "runs", "list", "--json")
	for _, r := range rows {
		if r.Pipeline != "" {
			return store, r.Path
		}
	}
	t.Fatalf("no pipeline in runs list: %v", rows)
	return "", ""
}

// zipCheck tests a zip with python3's zipfile and unzip -t and returns
// its sorted names.
func zipCheck(t *testing.T, path string) []string {
	t.Helper()
	run(t, "", "unzip", "-tq", path)
	out := py(t, `import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
print("\n".join(sorted(z.namelist())))`, path)
	return strings.Split(out, "\n")
}

func TestLibrarySaveShowImport(t *testing.T) {
	store, from := demoStore(t)
	ds, pid := filepath.Base(filepath.Dir(from)), filepath.Base(from)
	mnt := mountStore(t, store)
	n4ws(t, store, "library", "save", "--filtered", "--from", from, "--name", "best")
	zipPath := filepath.Join(mnt, "library/trained/filtered/best.zip")
	names := zipCheck(t, zipPath) // visible in the mount at once
	want := []string{pid + "/manifest.yaml", pid + "/metrics.json", pid + "/pipeline.json", pid + "/predictions.csv"}
	for _, w := range want {
		if !strings.Contains(strings.Join(names, "\n"), w) {
			t.Errorf("zip lacks %s: %v", w, names)
		}
	}
	// Every artifact path of pipeline.json resolves inside the zip.
	py(t, `import sys, zipfile, json, posixpath
z = zipfile.ZipFile(sys.argv[1]); pid = sys.argv[2]
doc = json.loads(z.read(pid + "/pipeline.json"))
for a in doc["artifacts"]:
    p = posixpath.normpath(posixpath.join(pid, a["path"]))
    z.getinfo(p)
`, zipPath, pid)
	sum1 := fileSHA(t, zipPath)
	// Bad input: refused, nothing changes.
	for _, args := range [][]string{
		{"--filtered", "--from", from, "--name", "best"},
		{"--filtered", "--from", from, "--name", "a/b"},
		{"--filtered", "--from", "runs/" + ds + "/0099_nope_x", "--name", "n2"},
		{"--filtered", "--pipeline", "--from", from, "--name", "n3"},
	} {
		out, code := n4wsFail(t, store, append([]string{"library", "save"}, args...)...)
		if code == 0 || !strings.Contains(out, "n4ws:") {
			t.Errorf("save %v: code %d, %s", args, code, out)
		}
	}
	n4ws(t, store, "library", "save", "--filtered", "--from", from, "--name", "best", "--force")
	if fileSHA(t, zipPath) != sum1 {
		t.Error("the same save gave other bytes")
	}
	n4ws(t, store, "library", "save", "--pipeline", "--from", from, "--name", "all")
	zipCheck(t, filepath.Join(mnt, "library/trained/pipeline/all.zip"))
	writeFile(t, filepath.Join(mnt, "library/templates/tpl.json"), []byte(`{"name": "tpl"}`))
	var items []struct{ Name, Type string }
	n4wsJSON(t, store, &items, "library", "list", "--json")
	if len(items) != 3 {
		t.Errorf("library list: %v", items)
	}
	show := n4ws(t, store, "library", "show", "best")
	for _, w := range []string{"type:", "filtered", from, "rmse", "contents", pid + "/metrics.json"} {
		if !strings.Contains(show, w) {
			t.Errorf("show lacks %q:\n%s", w, show)
		}
	}
	importElsewhere(t, mnt, zipPath, from)
	if _, code := n4wsFail(t, store, "library", "delete", "best"); code == 0 {
		t.Error("delete without --confirm succeeded")
	}
	n4ws(t, store, "library", "delete", "best", "--confirm")
	mustNotExist(t, zipPath)
}

// importElsewhere imports a library zip into a new store: the same files.
func importElsewhere(t *testing.T, mnt, zipPath, from string) {
	ds, pid := filepath.Base(filepath.Dir(from)), filepath.Base(from)
	other := newStore(t)
	out := n4ws(t, other, "import", zipPath, "--dataset", ds)
	newPID := "0001" + pid[4:]
	if !strings.Contains(out, newPID) {
		t.Errorf("import: %s", out)
	}
	mnt2 := mountStore(t, other)
	for _, f := range []string{"pipeline.json", "metrics.json", "predictions.csv", "manifest.yaml"} {
		cmpFiles(t, filepath.Join(mnt, from, f), filepath.Join(mnt2, "runs", ds, newPID, f))
	}
	// Saving again from the imported copy gives the same zip contents.
	n4ws(t, other, "library", "save", "--filtered", "--from", "runs/"+ds+"/"+newPID, "--name", "best")
	zipCheck(t, filepath.Join(mnt2, "library/trained/filtered/best.zip"))
}

func TestArchiveReadOnlyAndForget(t *testing.T) {
	store, from := demoStore(t)
	ds, pid := filepath.Base(filepath.Dir(from)), filepath.Base(from)
	mnt := mountStore(t, store)
	out := n4ws(t, store, "catalog", "archive", from, "--pipeline")
	rel := strings.Fields(out)[1]
	if !strings.HasPrefix(rel, "catalog/archives/pipeline/"+ds+"_") || !strings.HasSuffix(rel, "_"+pid+".zip") {
		t.Fatalf("archive path %q", rel)
	}
	p := filepath.Join(mnt, rel)
	zipCheck(t, p)
	if _, code := runFail(t, "", "rm", "-f", p); code == 0 {
		t.Error("rm of an archive succeeded")
	}
	if _, code := n4wsFail(t, store, "catalog", "archive", from, "--pipeline"); code == 0 {
		t.Error("second archive succeeded")
	}
	n4ws(t, store, "catalog", "forget", filepath.Base(rel), "--confirm")
	mustNotExist(t, p)
}

func TestImportRefusesBadZips(t *testing.T) {
	store := newStore(t)
	dir := t.TempDir()
	py(t, `import sys, zipfile, os
d = sys.argv[1]
def mk(name, entries, link=None):
    with zipfile.ZipFile(os.path.join(d, name), "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in entries:
            z.writestr(n, data)
        if link:
            i = zipfile.ZipInfo(link[0]); i.external_attr = (0o120777 << 16)
            z.writestr(i, link[1])
mk("abs.zip", [("/0001_a_b/x", "1")])
mk("dotdot.zip", [("0001_a_b/../../x", "1")])
mk("dup.zip", [("0001_a_b/x", "1"), ("0001_a_b/x", "2")])
mk("link.zip", [("0001_a_b/x", "1")], ("0001_a_b/l", "../../../etc/passwd"))
mk("bomb.zip", [("0001_a_b/z", b"\0" * (64 << 20))])
mk("empty.zip", [("readme.txt", "hi")])
`, dir)
	for _, name := range []string{"abs", "dotdot", "dup", "link", "bomb", "empty"} {
		out, code := n4wsFail(t, store, "import", filepath.Join(dir, name+".zip"), "--dataset", "wheat")
		if code == 0 || !strings.Contains(out, "n4ws:") {
			t.Errorf("%s: code %d %s", name, code, out)
		}
	}
	var rows []runRowJSON
	n4wsJSON(t, store, &rows, "runs", "list", "--json")
	if len(rows) != 0 {
		t.Errorf("a refused import left %v", rows)
	}
}

func TestRunsListDeleteArchive(t *testing.T) {
	store, from := demoStore(t)
	ds := filepath.Base(filepath.Dir(from))
	mnt := mountStore(t, store)
	var rows []runRowJSON
	n4wsJSON(t, store, &rows, "runs", "list", "--json")
	if len(rows) != 5 || rows[0].Pipeline != "" || rows[0].ExclusiveBytes <= 0 || rows[1].ExclusiveBytes > rows[1].LogicalBytes {
		t.Fatalf("runs list: %+v", rows)
	}
	var old []runRowJSON
	n4wsJSON(t, store, &old, "runs", "list", "--json", "--older-than", "30d")
	if len(old) != 0 {
		t.Errorf("--older-than 30d listed fresh folders: %v", old)
	}
	out := n4ws(t, store, "runs", "delete", strings.TrimPrefix(from, "runs/"))
	if !strings.Contains(out, "would delete") || !strings.Contains(out, "catalog keeps") {
		t.Errorf("dry run: %s", out)
	}
	if _, err := os.Stat(filepath.Join(mnt, from)); err != nil {
		t.Errorf("dry run deleted: %v", err)
	}
	n4ws(t, store, "runs", "delete", strings.TrimPrefix(from, "runs/"), "--confirm")
	mustNotExist(t, filepath.Join(mnt, from))
	out = n4ws(t, store, "runs", "archive", ds)
	rel := strings.Fields(out)[3]
	list := run(t, "", "tar", "-tzf", filepath.Join(mnt, rel))
	if !strings.Contains(list, ds+"/_binaries/") {
		t.Errorf("tar lists:\n%s", list)
	}
	mustNotExist(t, filepath.Join(mnt, "runs", ds))
	if _, code := n4wsFail(t, store, "runs", "delete", "nope/0001_a_b", "--confirm"); code == 0 {
		t.Error("delete of a missing pipeline succeeded")
	}
}

func TestExportImportBetweenStores(t *testing.T) {
	store, from := demoStore(t)
	ds, pid := filepath.Base(filepath.Dir(from)), filepath.Base(from)
	out := filepath.Join(t.TempDir(), "share.zip")
	n4ws(t, store, "export", "--dataset", ds, "--pipeline", pid, "--include", "binaries", "--output", out)
	names := zipCheck(t, out)
	if !strings.Contains(strings.Join(names, " "), "_binaries/") {
		t.Errorf("export lacks binaries: %v", names)
	}
	if _, code := n4wsFail(t, store, "export", "--dataset", ds, "--pipeline", pid, "--output", out); code == 0 {
		t.Error("export over an existing file succeeded")
	}
	other := newStore(t)
	n4ws(t, other, "import", out, "--dataset", "shared")
	n4ws(t, other, "import", out, "--dataset", "shared") // next free number
	mnt, mnt2 := mountStore(t, store), mountStore(t, other)
	for _, n := range []string{"0001", "0002"} {
		cmpFiles(t, filepath.Join(mnt, from, "predictions.csv"), filepath.Join(mnt2, "runs/shared", n+pid[4:], "predictions.csv"))
	}
	var doc struct{ Artifacts []struct{ Path string } }
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(mnt2, "runs/shared", "0001"+pid[4:], "pipeline.json"))), &doc); err != nil {
		t.Fatal(err)
	}
	for _, a := range doc.Artifacts {
		cmpFiles(t, filepath.Join(mnt, from, a.Path), filepath.Join(mnt2, "runs/shared", "0001"+pid[4:], a.Path))
	}
}
