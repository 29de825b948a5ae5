package backing_test

import (
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

func BenchmarkLookup(b *testing.B) {
	s := backingtest.NewStore(b)
	dir, err := s.MkdirAll(ctx, "runs/ds", 0o755)
	if err != nil {
		b.Fatal(err)
	}
	const n = 1000
	for i := range n {
		if _, err := s.Mknod(ctx, dir.Ino, "f"+strconv.Itoa(i), backing.NewNode{Mode: syscall.S_IFREG | 0o644}); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		if _, err := s.Lookup(ctx, dir.Ino, "f"+strconv.Itoa(i%n)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkMknodCommit is the store's half of creating a 4 KiB file: the
// node, a spool file, its hash and the commit that places the blob.
func BenchmarkMknodCommit(b *testing.B) {
	s := backingtest.NewStore(b)
	dir, err := s.MkdirAll(ctx, "runs/ds", 0o755)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 4096)
	i := 0
	for b.Loop() {
		a, err := s.Mknod(ctx, dir.Ino, "f"+strconv.Itoa(i), backing.NewNode{Mode: syscall.S_IFREG | 0o644})
		if err != nil {
			b.Fatal(err)
		}
		copy(buf, strconv.Itoa(i)) // distinct content: one blob per file
		f, err := s.NewSpool(a.Ino)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		d, size, err := backing.HashFile(f)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.CommitContent(ctx, a.Ino, backing.Content{File: f.Name(), Digest: d, Size: size}); err != nil {
			b.Fatal(err)
		}
		f.Close()
		os.Remove(f.Name())
		i++
	}
	b.SetBytes(int64(len(buf)))
}
