package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// With Writeback, writes to a team store succeed while its object store is
// down (the blobs staged on this machine, read back from there), SyncBlob
// fails until the upload can happen, and once the server is back the
// uploads land by themselves. gc on either machine in between never costs
// a file its content, and fsck on the other machine is clean after.
func TestTeamWritebackWhileS3Down(t *testing.T) {
	sv := startServers(t)
	ctx := context.Background()
	_, dirA, dirB := sv.twoMachines(t)
	a, b := openOpts(t, dirA, backing.Options{Writeback: true}), open(t, dirB)
	if _, err := a.MkdirAll(ctx, "runs/corn", 0o755); err != nil {
		t.Fatal(err)
	}
	content := func(s string) ([]byte, backing.Digest) {
		data := bytes.Repeat([]byte(s), 64<<10)
		return data, backing.Digest(sha256.Sum256(data))
	}
	x, dx := content("x")
	y, _ := content("y")
	z, dz := content("z")
	write := func(p string, data []byte) {
		t.Helper()
		if _, err := a.WriteFile(ctx, p, bytes.NewReader(data), 0o644, time.Time{}); err != nil {
			t.Fatalf("write %s with S3 down: %v", p, err)
		}
	}
	read := func(s *backing.Store, p string) ([]byte, error) {
		got, err := s.ResolvePath(ctx, p)
		if err != nil {
			return nil, err
		}
		return s.ReadBlob(ctx, got.Blob, got.Size)
	}

	sv.s3.Stop()
	write("runs/corn/x.bin", x)
	write("runs/corn/y.bin", y)
	write("runs/corn/y.bin", z) // y's blob is garbage now, staged or not
	if got, err := read(a, "runs/corn/x.bin"); err != nil || !bytes.Equal(got, x) {
		t.Fatalf("read back from the staged copy: %d bytes, %v", len(got), err)
	}
	if err := a.SyncBlob(dx); err == nil {
		t.Fatal("SyncBlob with S3 down returned no error")
	}

	sv.s3.Restart(t)
	for _, s := range []*backing.Store{b, a} {
		if _, err := s.GC(ctx, backing.GCOptions{}); err != nil {
			t.Fatalf("gc: %v", err)
		}
	}
	for _, dg := range []backing.Digest{dx, dz} {
		if err := a.SyncBlob(dg); err != nil {
			t.Fatalf("SyncBlob once S3 is back: %v", err)
		}
	}
	for p, want := range map[string][]byte{"runs/corn/x.bin": x, "runs/corn/y.bin": z} {
		if got, err := read(b, p); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s on the other machine: %d bytes, %v", p, len(got), err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for staged(t, dirA) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d blobs still staged 30 s after S3 came back", staged(t, dirA))
		}
		time.Sleep(50 * time.Millisecond)
	}
	rep, err := b.Fsck(ctx, backing.FsckOptions{})
	if err != nil || !rep.Clean() {
		t.Fatalf("fsck on the other machine: %v, problems %v", err, rep.Problems)
	}
}

// staged counts the blob files in a store folder's staging folder.
func staged(t *testing.T, dir string) int {
	n := 0
	filepath.WalkDir(filepath.Join(dir, "writeback"), func(_ string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// Uploads a mount left staged are resumed by the next one (ResumeUploads),
// their bytes checked against their names on the way: a staged copy
// damaged meanwhile never reaches the object store under that name.
func TestTeamWritebackResumeChecksBytes(t *testing.T) {
	sv := startServers(t)
	ctx := context.Background()
	_, dirA, dirB := sv.twoMachines(t)
	good := bytes.Repeat([]byte("good"), 32<<10)
	bad := bytes.Repeat([]byte("bad!"), 32<<10)
	dBad := backing.Digest(sha256.Sum256(bad))

	a, err := backing.Open(ctx, dirA, backing.Options{Writeback: true})
	if err != nil {
		t.Fatal(err)
	}
	sv.s3.Stop()
	for name, data := range map[string][]byte{"runs/good.bin": good, "runs/bad.bin": bad} {
		if _, err := a.WriteFile(ctx, name, bytes.NewReader(data), 0o644, time.Time{}); err != nil {
			t.Fatalf("write %s with S3 down: %v", name, err)
		}
	}
	a.Close() // its flush fails: S3 is down
	if n := staged(t, dirA); n != 2 {
		t.Fatalf("%d blobs staged after close with S3 down, want 2", n)
	}
	h := dBad.String()
	if err := os.WriteFile(filepath.Join(dirA, "writeback", h[:2], h), bytes.Repeat([]byte("rot!"), 32<<10), 0o600); err != nil {
		t.Fatal(err)
	}

	sv.s3.Restart(t)
	b := open(t, dirB)
	// Before A resumes, B's fsck --repair sees both blobs missing: they
	// were committed moments ago, so it must report them and empty nothing.
	rep, err := b.Fsck(ctx, backing.FsckOptions{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lost != 0 || len(rep.Problems) != 2 || rep.Problems[0].Repaired || rep.Problems[1].Repaired {
		t.Fatalf("fsck --repair on another machine while uploads are pending: lost %d, problems %+v; want 2 reported, none repaired", rep.Lost, rep.Problems)
	}
	openOpts(t, dirA, backing.Options{ResumeUploads: true})
	deadline := time.Now().Add(30 * time.Second)
	for staged(t, dirA) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d blobs still staged 30 s after the resume", staged(t, dirA))
		}
		time.Sleep(50 * time.Millisecond)
	}
	got, err := b.ResolvePath(ctx, "runs/good.bin")
	if err != nil {
		t.Fatal(err)
	}
	if data, err := b.ReadBlob(ctx, got.Blob, got.Size); err != nil || !bytes.Equal(data, good) {
		t.Fatalf("the resumed upload on the other machine: %d bytes, %v", len(data), err)
	}
	rep, err = b.Fsck(ctx, backing.FsckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != backing.ProblemMissingBlob {
		t.Fatalf("fsck after a damaged staged copy: %+v, want the one blob missing (not stored with wrong bytes)", rep.Problems)
	}
}
