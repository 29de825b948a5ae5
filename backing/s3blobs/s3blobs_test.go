package s3blobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

func newBlobs(t *testing.T, srv *backingtest.S3, cacheDir string, cacheMax int64) *Blobs {
	t.Helper()
	b, err := New(context.Background(), Config{
		Endpoint: srv.Endpoint, Bucket: srv.Bucket, Prefix: "lab/",
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, CacheDir: cacheDir, CacheMax: cacheMax,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func blob(seed byte, n int) ([]byte, backing.Digest) {
	b := bytes.Repeat([]byte{seed, seed + 1, seed + 2}, n/3+1)[:n]
	return b, backing.Digest(sha256.Sum256(b))
}

func readAll(t *testing.T, b *Blobs, d backing.Digest) []byte {
	t.Helper()
	f, err := b.Open(context.Background(), d)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Two machines share the bucket: what one writes the other reads, through
// its own cache, which stays under its limit by evicting the least
// recently used blobs, and keeps what it holds across a restart.
func TestCacheTwoMachines(t *testing.T) {
	srv := backingtest.StartS3(t)
	ctx := context.Background()
	writer := newBlobs(t, srv, filepath.Join(t.TempDir(), "a"), 1<<30)
	readerDir := filepath.Join(t.TempDir(), "b")
	const max = 250_000
	reader := newBlobs(t, srv, readerDir, max)
	var ds []backing.Digest
	var contents [][]byte
	for i := range 5 {
		data, d := blob(byte(10*i), 100_000)
		if err := writer.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		ds, contents = append(ds, d), append(contents, data)
	}
	for i, d := range ds {
		if !bytes.Equal(readAll(t, reader, d), contents[i]) {
			t.Fatalf("blob %d read on the other machine differs", i)
		}
		if used, _ := reader.CacheUsage(); used > max {
			t.Fatalf("cache holds %d bytes after %d reads, limit %d", used, i+1, max)
		}
	}
	// The two most recent blobs are cached; the first was evicted.
	if _, err := os.Stat(reader.cache.path(ds[0])); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("least recently used blob still cached: %v", err)
	}
	if _, err := os.Stat(reader.cache.path(ds[4])); err != nil {
		t.Fatalf("most recent blob not cached: %v", err)
	}
	// A restart takes the cached files back, without downloading them.
	again := newBlobs(t, srv, readerDir, max)
	if used, files := again.CacheUsage(); files != 2 || used != 200_000 {
		t.Fatalf("cache after restart: %d files, %d bytes; want 2, 200000", files, used)
	}
}

// A download that does not hash to the blob's name is refused and not
// cached: the cache can only ever hold the right bytes.
func TestOpenRefusesCorruptObject(t *testing.T) {
	srv := backingtest.StartS3(t)
	ctx := context.Background()
	w := newBlobs(t, srv, filepath.Join(t.TempDir(), "w"), 1<<30)
	data, d := blob(1, 5000)
	if err := w.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	// versitygw's posix backend keeps the object as a file: damage it.
	obj := filepath.Join(srv.Dir, srv.Bucket, "lab", "blobs", d.String())
	bad := append([]byte(nil), data...)
	bad[0] ^= 0xff
	if err := os.WriteFile(obj, bad, 0o600); err != nil {
		t.Fatalf("damage object: %v", err)
	}
	r := newBlobs(t, srv, filepath.Join(t.TempDir(), "r"), 1<<30)
	if f, err := r.Open(ctx, d); !errors.Is(err, backing.ErrCorrupt) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("open damaged object: %v, want ErrCorrupt", err)
	}
	if _, files := r.CacheUsage(); files != 0 {
		t.Fatalf("damaged object cached (%d files)", files)
	}
}

// With the server down, cached blobs still read, new ones fail with an
// error (no hang, nothing half stored), and all works again when the
// server is back, with no reconnect step.
func TestServerOutage(t *testing.T) {
	srv := backingtest.StartS3(t)
	ctx := context.Background()
	b := newBlobs(t, srv, filepath.Join(t.TempDir(), "c"), 1<<30)
	cached, dc := blob(1, 50_000)
	if err := b.Put(ctx, dc, int64(len(cached)), bytes.NewReader(cached)); err != nil {
		t.Fatal(err)
	}
	fresh, df := blob(2, 50_000)

	srv.Stop()
	if !bytes.Equal(readAll(t, b, dc), cached) {
		t.Fatal("cached blob differs during the outage")
	}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := b.Put(tctx, df, int64(len(fresh)), bytes.NewReader(fresh)); err == nil {
		t.Fatal("put during the outage succeeded")
	} else {
		t.Logf("put during the outage: %v", err)
	}
	if f, err := b.Open(tctx, df); err == nil {
		f.Close()
		t.Fatal("open of an uncached blob during the outage succeeded")
	}

	srv.Restart(t)
	if err := b.Put(ctx, df, int64(len(fresh)), bytes.NewReader(fresh)); err != nil {
		t.Fatalf("put after the outage: %v", err)
	}
	other := newBlobs(t, srv, filepath.Join(t.TempDir(), "d"), 1<<30)
	if !bytes.Equal(readAll(t, other, df), fresh) || !bytes.Equal(readAll(t, other, dc), cached) {
		t.Fatal("blobs read on another machine after the outage differ")
	}
}

// Readers of one uncached blob at the same time share one download.
func TestConcurrentReadersOneDownload(t *testing.T) {
	srv := backingtest.StartS3(t)
	ctx := context.Background()
	w := newBlobs(t, srv, filepath.Join(t.TempDir(), "w"), 1<<30)
	data, d := blob(3, 4<<20)
	if err := w.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	r := newBlobs(t, srv, filepath.Join(t.TempDir(), "r"), 1<<30)
	const readers = 8
	errs := make(chan error, readers)
	for range readers {
		go func() {
			f, err := r.Open(ctx, d)
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			got, err := io.ReadAll(f)
			if err == nil && !bytes.Equal(got, data) {
				err = errors.New("content differs")
			}
			errs <- err
		}()
	}
	for range readers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	// Readers during the download waited for it, later ones found the
	// cache: one fetch in all.
	if n := r.downloads.Load(); n != 1 {
		t.Fatalf("%d readers made %d downloads, want 1", readers, n)
	}
}
