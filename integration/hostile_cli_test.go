//go:build linux

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostileCLIInput: zips whose names hold control characters, invalid
// UTF-8 or 256-byte components, and symlinks that point out of the store
// (in a pipeline folder saved to the library, and in a workspace folder
// being imported). Each is refused with a message or handled correctly;
// no n4ws command panics, nothing outside the store is read into it or
// written, and the store stays clean.
func TestHostileCLIInput(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.txt")
	writeFile(t, secret, []byte("TOP-SECRET-CONTENT\n"))
	py(t, `import sys, zipfile, os
d = sys.argv[1]
def mk(name, entries):
    with zipfile.ZipFile(os.path.join(d, name), "w") as z:
        for n, data in entries:
            i = zipfile.ZipInfo(n) if isinstance(n, str) else zipfile.ZipInfo(n.decode("latin-1"))
            z.writestr(i, data)
ok = [("0001_a_b/metrics.json", '{"test": {"rmse": 0.5}}')]
mk("ctrl.zip", ok + [("0001_a_b/ctl\x01\x1b[2Jname", "x")])
mk("long.zip", ok + [("0001_a_b/" + "N" * 256, "x")])
mk("backslash.zip", ok + [("0001_a_b\\..\\..\\evil", "x")])
mk("many.zip", [("0001_a_b/f%06d" % i, "") for i in range(3000)])
`, dir)
	// latin-1 names with the UTF-8 flag off: bytes \xff\xfe as the zip holds them.
	py(t, `import sys, zipfile, os
with zipfile.ZipFile(os.path.join(sys.argv[1], "latin1.zip"), "w") as z:
    z.writestr(zipfile.ZipInfo("0001_a_b/bad\xff\xfe.csv"), "x")
    z.writestr(zipfile.ZipInfo("0001_a_b/metrics.json"), "{}")`, dir)
	for _, name := range []string{"ctrl", "long", "backslash", "many", "latin1"} {
		out, err := exe("", n4wsBin, "--store", store, "import", filepath.Join(dir, name+".zip"), "--dataset", "z_"+name)
		t.Logf("import %s.zip: err=%v: %s", name, err, firstLine(out))
		if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
			t.Errorf("import %s.zip crashed:\n%s", name, out)
		}
		if err != nil && !strings.Contains(out, "n4ws:") {
			t.Errorf("import %s.zip failed without a message: %v\n%s", name, err, out)
		}
	}
	for _, p := range []string{filepath.Join(dir, "evil"), filepath.Join(filepath.Dir(dir), "evil")} {
		mustNotExist(t, p)
	}
	if out, err := exe("", n4wsBin, "--store", store, "import", filepath.Join(dir, "long.zip"), "--dataset", "z_long2"); err == nil {
		t.Errorf("a 256-byte name was imported: %s", out)
	}

	// Symlinks out of the store: kept as symlinks (or refused), never
	// followed into the store or into a zip.
	mnt := mountStore(t, store)
	pipe := filepath.Join(mnt, "runs/sym/0001_a_b")
	mkdirAll(t, filepath.Join(mnt, "runs/sym"))
	landPipeline(t, mnt, "sym", t.TempDir(), pipeSpec{pid: "0001_a_b", testRMSE: 0.2})
	for name, target := range map[string]string{"abs_link": secret, "up_link": "../../../../../../../../" + strings.TrimPrefix(secret, "/")} {
		if err := os.Symlink(target, filepath.Join(pipe, name)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exe("", n4wsBin, "--store", store, "library", "save", "--filtered", "--from", "runs/sym/0001_a_b", "--name", "sym")
	t.Logf("library save with outside symlinks: err=%v: %s", err, firstLine(out))
	if zip := filepath.Join(mnt, "library/trained/filtered/sym.zip"); err == nil {
		if strings.Contains(catBytes(t, zip), "TOP-SECRET") {
			t.Errorf("library zip holds the content of a file outside the store")
		}
	}
	ws := filepath.Join(t.TempDir(), "workspace")
	src := makePipeline(t, filepath.Join(ws, "runs/wheat"), pipeSpec{pid: "0001_a_b", testRMSE: 0.3})
	if err := os.Symlink(secret, filepath.Join(src, "leak.txt")); err != nil {
		t.Fatal(err)
	}
	out, err = exe("", n4wsBin, "--store", store, "import", ws)
	t.Logf("import of a workspace with an outside symlink: err=%v: %s", err, firstLine(out))
	if strings.Contains(out, "panic") {
		t.Errorf("import crashed:\n%s", out)
	}
	if leaks := sh(t, "grep -rl TOP-SECRET "+filepath.Join(mnt, "runs")+" || true"); strings.TrimSpace(leaks) != "" {
		// grep follows no symlinks with -r, so a hit is a stored copy.
		t.Errorf("content of a file outside the store was copied in: %s", leaks)
	}
	n4ws(t, store, "fsck")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
