//go:build linux

package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fsyncScript fsyncs the file named by its argument and prints the errno
// name of a failure (python3 is the tool: coreutils' sync FILE hides it).
const fsyncScript = `import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    os.fsync(fd)
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
`

func fsyncResult(t *testing.T, path string) string {
	t.Helper()
	return strings.TrimSpace(run(t, "", "python3", "-c", fsyncScript, path))
}

// stagedFiles lists the blobs a store's machine holds for upload.
func stagedFiles(t *testing.T, store string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(store, "writeback"), func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// `n4ws mount --writeback` on a team store: with the object store down,
// cp of a large file returns 0 (its content staged on this machine and
// indexed), the file reads back here from the staged copy, fsync fails
// with EIO; once S3 is back the upload happens by itself and the other
// machine reads the same bytes. A mount killed with an upload pending
// resumes it when mounted again; meanwhile the other machine lists the
// file but cannot read it.
func TestTeamWritebackUploadsInBackground(t *testing.T) {
	stores, _, s3 := teamStoreOn(t, 2)
	mntA := filepath.Join(t.TempDir(), "mnt")
	pidA := mountAt(t, stores[0], mntA, "--writeback")
	mntB := mountStore(t, stores[1])
	dir := t.TempDir()
	src1, src2 := filepath.Join(dir, "one.bin"), filepath.Join(dir, "two.bin")
	run(t, "", "dd", "if=/dev/urandom", "of="+src1, "bs=64k", "count=16", "status=none")
	run(t, "", "dd", "if=/dev/urandom", "of="+src2, "bs=64k", "count=16", "status=none")

	s3.Stop()
	one := filepath.Join("runs", "one.bin")
	run(t, "", "cp", src1, filepath.Join(mntA, one)) // fails without --writeback (TestTeamMountSurvivesS3Outage)
	run(t, "", "cmp", src1, filepath.Join(mntA, one))
	if got := fsyncResult(t, filepath.Join(mntA, one)); got != "EIO" {
		t.Fatalf("fsync of a file whose upload cannot happen: %s, want EIO", got)
	}
	if n := len(stagedFiles(t, stores[0])); n != 1 {
		t.Fatalf("%d blobs staged on the writing machine, want 1", n)
	}

	s3.Restart(t)
	seenWithin(t, 30*time.Second, "the staged file on the other machine once S3 is back", func() bool {
		_, err := exe("", "cmp", src1, filepath.Join(mntB, one))
		return err == nil
	})
	if got := fsyncResult(t, filepath.Join(mntA, one)); got != "ok" {
		t.Fatalf("fsync once the upload is done: %s", got)
	}
	if staged := stagedFiles(t, stores[0]); len(staged) != 0 {
		t.Fatalf("staged copies left after the upload: %v", staged)
	}

	// kill -9 after close, before the upload.
	s3.Stop()
	two := filepath.Join("runs", "two.bin")
	run(t, "", "cp", src2, filepath.Join(mntA, two))
	killDaemon(t, pidA)
	s3.Restart(t)
	seenWithin(t, 5*time.Second, "the killed machine's file listed on the other", func() bool {
		out, err := exe("", "ls", filepath.Join(mntB, "runs"))
		return err == nil && strings.Contains(out, "two.bin")
	})
	if out, err := exe("", "cat", filepath.Join(mntB, two)); err == nil || !strings.Contains(out, "Input/output error") {
		t.Fatalf("reading a file whose upload has not landed: %v %q, want EIO", err, out)
	}
	if n := len(stagedFiles(t, stores[0])); n != 1 {
		t.Fatalf("%d blobs staged after kill -9, want 1", n)
	}
	if out := n4ws(t, stores[0], "status"); !regexp.MustCompile(`uploads pending\s+1 blobs staged on this machine`).MatchString(out) {
		t.Fatalf("n4ws status does not show the pending upload:\n%s", out)
	}

	mountAt(t, stores[0], mntA) // the machine comes back, without --writeback
	seenWithin(t, 30*time.Second, "the resumed upload on the other machine", func() bool {
		_, err := exe("", "cmp", src2, filepath.Join(mntB, two))
		return err == nil
	})
	run(t, "", "cmp", src2, filepath.Join(mntA, two))
	if staged := stagedFiles(t, stores[0]); len(staged) != 0 {
		t.Fatalf("staged copies left after the resumed upload: %v", staged)
	}
	n4ws(t, stores[1], "fsck")
}
