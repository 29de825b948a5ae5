//go:build linux

package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// skeletonDirs is the tree of a fresh store, per docs/CLI_CONTRACT.md.
var skeletonDirs = []string{
	"runs",
	"exports", "exports/best_predictions", "exports/session_reports",
	"library", "library/templates", "library/trained",
	"library/trained/filtered", "library/trained/pipeline", "library/trained/fullrun",
	"catalog", "catalog/reports", "catalog/archives",
	"catalog/archives/filtered", "catalog/archives/pipeline", "catalog/archives/best_predictions",
}

func TestSkeleton(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)

	// store.sqlite is nirs4all's (an empty SQLite database until nirs4all
	// runs; see TestNativeLegacyCheck).
	if got := strings.Fields(run(t, "", "ls", "-A", mnt)); strings.Join(got, " ") != "catalog exports library runs store.sqlite" {
		t.Errorf("ls -A of the mount root: got %q, want catalog exports library runs store.sqlite", got)
	}
	for _, d := range skeletonDirs {
		p := filepath.Join(mnt, d)
		// ls -ld: a directory, owned by the mounting user, with a real date (not 1970).
		fields := strings.Fields(run(t, "", "stat", "-c", "%F %u %Y %h", p))
		if len(fields) != 4 || fields[0] != "directory" {
			t.Errorf("stat %s: %q, want a directory", d, fields)
			continue
		}
		if uid, _ := strconv.Atoi(fields[1]); uid != os.Getuid() {
			t.Errorf("%s owned by uid %d, want %d", d, uid, os.Getuid())
		}
		if sec, _ := strconv.ParseInt(fields[2], 10, 64); time.Unix(sec, 0).Year() < 2020 {
			t.Errorf("%s has mtime %s, want a real date", d, time.Unix(sec, 0))
		}
		if n, _ := strconv.Atoi(fields[3]); n < 1 {
			t.Errorf("%s has nlink %d, want >= 1", d, n)
		}
	}
}

// TestSkeletonProtected: skeleton folders cannot be removed or renamed, and
// exports/ and catalog/ refuse new entries with EROFS. (The root takes
// nirs4all's own files: native_test.go.)
func TestSkeletonProtected(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	at := func(p string) string { return filepath.Join(mnt, p) }

	for _, d := range []string{"runs", "library", "exports", "catalog"} {
		out, _ := runFail(t, "", "rmdir", at(d))
		wantOneOf(t, "rmdir "+d, out, "Operation not permitted", "Read-only file system")
		out, _ = runFail(t, "", "mv", at(d), at("x"))
		wantOneOf(t, "mv "+d+" x", out, "Operation not permitted", "Read-only file system")
	}
	// Inside writable library/ the skeleton folders are protected with EPERM.
	for _, d := range []string{"library/templates", "library/trained/fullrun"} {
		out, _ := runFail(t, "", "rmdir", at(d))
		wantOneOf(t, "rmdir "+d, out, "Operation not permitted")
		out, _ = runFail(t, "", "mv", at(d), at("library/moved"))
		wantOneOf(t, "mv "+d, out, "Operation not permitted")
	}
	readOnly := [][]string{
		{"touch", at("exports/x")},
		{"touch", at("exports/best_predictions/x.csv")},
		{"mkdir", at("catalog/x")},
		{"mkdir", at("catalog/archives/pipeline/x")},
		{"ln", "-s", "runs", at("exports/link")},
		{"cp", "/etc/hostname", at("catalog/reports/")},
	}
	for _, c := range readOnly {
		out, _ := runFail(t, "", c[0], c[1:]...)
		wantOneOf(t, strings.Join(c, " "), out, "Read-only file system")
	}
	for _, d := range skeletonDirs {
		if fi, err := os.Stat(at(d)); err != nil || !fi.IsDir() {
			t.Errorf("%s after the refused operations: %v", d, err)
		}
	}
	for _, gone := range []string{"x", "exports/link", "library/moved", "exports/x", "catalog/x"} {
		if _, err := os.Lstat(at(gone)); !os.IsNotExist(err) {
			t.Errorf("%s exists after a refused create/rename (err=%v)", gone, err)
		}
	}
	if got := strings.Fields(run(t, "", "ls", "-A", mnt)); len(got) != 5 {
		t.Errorf("root now lists %q", got)
	}
}

// wantOneOf fails unless out contains one of the messages.
func wantOneOf(t testing.TB, what, out string, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if strings.Contains(out, m) {
			return
		}
	}
	t.Errorf("%s: got %q, want a message containing one of %q", what, strings.TrimSpace(out), msgs)
}
