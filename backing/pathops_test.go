package backing_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

func TestResolveAndMkdirAll(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	for _, p := range []string{"", "/", ".", "/runs/.."} {
		if a := resolve(t, s, p); a.Ino != backing.RootIno {
			t.Errorf("resolve %q: ino %d", p, a.Ino)
		}
	}
	d, err := s.MkdirAll(ctx, "runs/ds/0001_pls_abc123", 0o750)
	if err != nil || !d.IsDir() || d.Mode&0o7777 != 0o750 {
		t.Fatalf("mkdir -p: %+v %v", d, err)
	}
	again, err := s.MkdirAll(ctx, "/runs//ds/0001_pls_abc123/", 0o700)
	if err != nil || again.Ino != d.Ino {
		t.Errorf("mkdir -p again: %+v %v", again, err)
	}
	if a := resolve(t, s, "/runs/./ds/../ds/0001_pls_abc123"); a.Ino != d.Ino {
		t.Errorf("resolve with dots: %d", a.Ino)
	}
	backingtest.WriteFile(t, s, "runs/ds/file", "x")
	_, err = s.MkdirAll(ctx, "runs/ds/file/sub", 0o755)
	wantErr(t, "mkdir -p through a file", err, backing.ErrNotDir)
	_, err = s.MkdirAll(ctx, "runs/ds/file", 0o755)
	wantErr(t, "mkdir -p onto a file", err, backing.ErrNotDir)
	_, err = s.ResolvePath(ctx, "runs/ds/file/sub")
	wantErr(t, "resolve through a file", err, backing.ErrNotDir)
	_, err = s.ResolvePath(ctx, "runs/nope")
	wantErr(t, "resolve missing", err, backing.ErrNotFound)
	mustClean(t, s)
}

func TestWriteFile(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	a, err := s.WriteFile(ctx, "runs/ds/0001_x/metrics.json", strings.NewReader(`{"rmse": 0.5}`), 0o600, mtime)
	if err != nil || !a.IsRegular() || a.Mode&0o7777 != 0o600 || a.Size != 13 || !a.Mtime.Equal(mtime) {
		t.Fatalf("write: %+v %v", a, err)
	}
	b, err := s.WriteFile(ctx, "runs/ds/0001_x/metrics.json", strings.NewReader(`{"rmse": 0.25}`), 0o644, zeroTime)
	if err != nil || b.Ino != a.Ino || b.Mode&0o7777 != 0o600 || b.Mtime.Equal(mtime) {
		t.Errorf("rewrite keeps the node and its mode, sets mtime now: %+v %v", b, err)
	}
	if got := readContent(t, s, "runs/ds/0001_x/metrics.json"); got != `{"rmse": 0.25}` {
		t.Errorf("content %q", got)
	}
	_, err = s.WriteFile(ctx, "runs/ds", strings.NewReader("x"), 0o644, zeroTime)
	wantErr(t, "write onto a dir", err, backing.ErrIsDir)
	if _, err := s.Symlink(ctx, "runs/ds/best", "0001_x"); err != nil {
		t.Fatal(err)
	}
	_, err = s.WriteFile(ctx, "runs/ds/best", strings.NewReader("x"), 0o644, zeroTime)
	wantErr(t, "write onto a symlink", err, backing.ErrInvalid)
	_, err = s.WriteFile(ctx, "/", strings.NewReader("x"), 0o644, zeroTime)
	wantErr(t, "write the root", err, backing.ErrInvalid)
	if entries, _ := os.ReadDir(filepath.Join(s.Dir(), "spool")); len(entries) != 0 {
		t.Errorf("spool files left: %v", entries)
	}
	mustClean(t, s)
}

func TestWriteFileLarge(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	a, err := s.WriteFile(ctx, "runs/big.bin", bytes.NewReader(data), 0o644, zeroTime)
	if err != nil || a.Size != int64(len(data)) {
		t.Fatalf("write: %+v %v", a, err)
	}
	if got := readContent(t, s, "runs/big.bin"); got != string(data) {
		t.Error("large content differs")
	}
	mustClean(t, s)
}

// failingReader returns some bytes, then an error, like a broken pipe.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n > 0 {
		r.n = 0
		return copy(p, "partial"), nil
	}
	return 0, errors.New("source broke")
}

func TestWriteFileFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	_, err := s.WriteFile(ctx, "runs/half.csv", &failingReader{n: 1}, 0o644, zeroTime)
	if err == nil || !strings.Contains(err.Error(), "source broke") {
		t.Fatalf("write from a broken reader: %v", err)
	}
	c, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.WriteFile(c, "runs/cancelled.csv", strings.NewReader("x"), 0o644, zeroTime)
	wantErr(t, "cancelled write", err, context.Canceled)
	for _, p := range []string{"runs/half.csv", "runs/cancelled.csv"} {
		_, err := s.ResolvePath(ctx, p)
		wantErr(t, p+" after failed write", err, backing.ErrNotFound)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Dir(), "spool")); len(entries) != 0 {
		t.Errorf("spool files left: %v", entries)
	}
	mustClean(t, s)
}

func TestSymlink(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	a, err := s.Symlink(ctx, "library/templates/new/link", "../../runs")
	if err != nil || a.Target != "../../runs" || a.Size != 10 {
		t.Fatalf("symlink: %+v %v", a, err)
	}
	_, err = s.Symlink(ctx, "library/templates/new/link", "x")
	wantErr(t, "symlink over existing", err, backing.ErrExists)
	_, err = s.Symlink(ctx, "library/templates/empty", "")
	wantErr(t, "empty target", err, backing.ErrInvalid)
	mustClean(t, s)
}

func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	s := backingtest.NewStore(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			for i := range 8 {
				// Every writer races to create the same folders and shares content.
				p := "runs/ds/" + strconv.Itoa(i%3) + "/w" + strconv.Itoa(w) + "_" + strconv.Itoa(i)
				if _, err := s.WriteFile(ctx, p, strings.NewReader("content "+strconv.Itoa(i%2)), 0o644, zeroTime); err != nil {
					errs <- err
				}
				if _, err := s.ReadDir(ctx, backing.RootIno); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st, err := s.Stats(ctx)
	if err != nil || st.Files != 64 || st.Blobs != 2 {
		t.Errorf("stats after concurrent writes: %+v %v", st, err)
	}
	mustClean(t, s)
}
