// Package blobtest is the conformance suite of backing.BlobStore: the same
// tests run against every engine (the local folder, S3), as perkeep's
// storagetest and rclone's fstests do for their backends.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/n4ws/n4ws/backing"
)

// Run runs the suite. newStore returns an empty store for one subtest (it
// registers its own cleanup).
func Run(t *testing.T, newStore func(t *testing.T) backing.BlobStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, backing.BlobStore)
	}{
		{"PutFileOpen", testPutFileOpen},
		{"PutReaderOpen", testPutReaderOpen},
		{"PutWrongHash", testPutWrongHash},
		{"PutTwice", testPutTwice},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"List", testList},
		{"Empty", testEmpty},
		{"ConcurrentPutOpen", testConcurrentPutOpen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

// content returns n bytes that differ with seed, and their digest.
func content(seed, n int) ([]byte, backing.Digest) {
	b := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b, backing.Digest(sha256.Sum256(b))
}

// spool writes data to a file of the test's own, as a spool file would be.
func spool(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "spool")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkBlob checks that d opens as a local file holding want, and stats to
// its size.
func checkBlob(t *testing.T, s backing.BlobStore, d backing.Digest, want []byte) {
	t.Helper()
	ctx := context.Background()
	f, err := s.Open(ctx, d)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("read %s: %v", d, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("blob %s: read %d bytes, want %d (content differs)", d, len(got), len(want))
	}
	// ReadAt at an offset, as a FUSE read does.
	if len(want) > 10 {
		buf := make([]byte, 10)
		if _, err := f.ReadAt(buf, int64(len(want)-10)); err != nil || !bytes.Equal(buf, want[len(want)-10:]) {
			t.Fatalf("ReadAt end of %s: %v", d, err)
		}
	}
	size, err := s.Stat(ctx, d)
	if err != nil || size != int64(len(want)) {
		t.Fatalf("stat %s: %d, %v; want %d", d, size, err, len(want))
	}
}

func testPutFileOpen(t *testing.T, s backing.BlobStore) {
	for i, n := range []int{1, 4096, 1<<20 + 3} {
		data, d := content(i, n)
		if err := s.PutFile(context.Background(), d, int64(n), spool(t, data)); err != nil {
			t.Fatalf("put %d bytes: %v", n, err)
		}
		checkBlob(t, s, d, data)
	}
}

func testPutReaderOpen(t *testing.T, s backing.BlobStore) {
	data, d := content(7, 300_000)
	if err := s.Put(context.Background(), d, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("put: %v", err)
	}
	checkBlob(t, s, d, data)
}

// A reader whose bytes do not hash to the digest stores nothing: a blob's
// name must always be the hash of its content.
func testPutWrongHash(t *testing.T, s backing.BlobStore) {
	ctx := context.Background()
	data, d := content(1, 5000)
	bad := append([]byte(nil), data...)
	bad[100] ^= 1
	err := s.Put(ctx, d, int64(len(bad)), bytes.NewReader(bad))
	if !errors.Is(err, backing.ErrCorrupt) {
		t.Fatalf("put with wrong content: %v, want ErrCorrupt", err)
	}
	if err := s.Put(ctx, d, int64(len(data)-1), bytes.NewReader(data[:len(data)-1])); !errors.Is(err, backing.ErrCorrupt) {
		t.Fatalf("put short content: %v, want ErrCorrupt", err)
	}
	if _, err := s.Stat(ctx, d); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat after failed puts: %v, want not exist", err)
	}
	checkList(t, s, nil)
}

func testPutTwice(t *testing.T, s backing.BlobStore) {
	ctx := context.Background()
	data, d := content(2, 70_000)
	for i := range 2 {
		if err := s.PutFile(ctx, d, int64(len(data)), spool(t, data)); err != nil {
			t.Fatalf("put file #%d: %v", i, err)
		}
		if err := s.Put(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatalf("put #%d: %v", i, err)
		}
	}
	checkBlob(t, s, d, data)
	checkList(t, s, map[backing.Digest]int64{d: int64(len(data))})
}

func testMissing(t *testing.T, s backing.BlobStore) {
	ctx := context.Background()
	_, d := content(3, 10)
	if f, err := s.Open(ctx, d); !errors.Is(err, fs.ErrNotExist) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("open missing blob: %v, want not exist", err)
	}
	if _, err := s.Stat(ctx, d); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat missing blob: %v, want not exist", err)
	}
	if err := s.Delete(ctx, d); err != nil {
		t.Fatalf("delete missing blob: %v, want nil", err)
	}
}

func testDelete(t *testing.T, s backing.BlobStore) {
	ctx := context.Background()
	keep, dk := content(4, 2000)
	gone, dg := content(5, 3000)
	for _, b := range [][]byte{keep, gone} {
		if err := s.Put(ctx, backing.Digest(sha256.Sum256(b)), int64(len(b)), bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	checkBlob(t, s, dg, gone) // a reader may have it cached: it must still go
	if err := s.Delete(ctx, dg); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s.Stat(ctx, dg); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stat deleted blob: %v, want not exist", err)
	}
	if f, err := s.Open(ctx, dg); !errors.Is(err, fs.ErrNotExist) {
		if f != nil {
			f.Close()
		}
		t.Fatalf("open deleted blob: %v, want not exist", err)
	}
	checkBlob(t, s, dk, keep)
	checkList(t, s, map[backing.Digest]int64{dk: int64(len(keep))})
}

func testList(t *testing.T, s backing.BlobStore) {
	ctx := context.Background()
	want := map[backing.Digest]int64{}
	for i := range 25 {
		data, d := content(100+i, 10+i*97)
		if err := s.PutFile(ctx, d, int64(len(data)), spool(t, data)); err != nil {
			t.Fatal(err)
		}
		want[d] = int64(len(data))
	}
	checkList(t, s, want)
	stop := errors.New("stop")
	calls := 0
	err := s.List(ctx, func(backing.Digest, int64) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("list stopped by its callback: %v after %d calls, want stop after 1", err, calls)
	}
}

func testEmpty(t *testing.T, s backing.BlobStore) {
	checkList(t, s, nil)
	data, d := []byte{}, backing.EmptyDigest
	if err := s.Put(context.Background(), d, 0, bytes.NewReader(data)); err != nil {
		t.Fatalf("put empty blob: %v", err)
	}
	checkBlob(t, s, d, data)
}

// Many writers of one blob (two files with the same content, closed at
// once) and readers of it all see the whole blob.
func testConcurrentPutOpen(t *testing.T, s backing.BlobStore) {
	ctx := context.Background()
	data, d := content(9, 200_000)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for i := range 8 {
		path := spool(t, data)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 {
				err = s.PutFile(ctx, d, int64(len(data)), path)
			} else {
				err = s.Put(ctx, d, int64(len(data)), bytes.NewReader(data))
			}
			if err != nil {
				errs <- fmt.Errorf("writer %d: %w", i, err)
				return
			}
			f, err := s.Open(ctx, d)
			if err != nil {
				errs <- fmt.Errorf("reader %d: %w", i, err)
				return
			}
			defer f.Close()
			if got, err := io.ReadAll(f); err != nil || !bytes.Equal(got, data) {
				errs <- fmt.Errorf("reader %d: %d bytes, %v", i, len(got), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func checkList(t *testing.T, s backing.BlobStore, want map[backing.Digest]int64) {
	t.Helper()
	got := map[backing.Digest]int64{}
	err := s.List(context.Background(), func(d backing.Digest, size int64) error {
		if _, dup := got[d]; dup {
			return fmt.Errorf("blob %s listed twice", d)
		}
		got[d] = size
		return nil
	})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("list: %d blobs, want %d", len(got), len(want))
	}
	for d, size := range want {
		if g, ok := got[d]; !ok || g != size {
			t.Fatalf("list: blob %s has size %d (listed %v), want %d", d, g, ok, size)
		}
	}
}
