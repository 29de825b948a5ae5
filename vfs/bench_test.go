package vfs

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Mount benchmarks. Each runs the same loop in the mount and in a native
// directory (sub-benchmarks "mount" and "native"), so that benchstat can
// show the cost of the mount next to the file system under it:
//
//	go test -run '^$' -bench . -benchmem -count 10 ./vfs/ | tee new.txt
//
// The client runs in the test process, next to the server; STYLE §10
// prefers another process for a clean split of the cost, which
// integration/bench does. These are for quick before/after comparisons.

// benchBoth runs fn on a directory in a fresh mount and on a native one.
func benchBoth(b *testing.B, fn func(b *testing.B, dir string)) {
	b.Run("mount", func(b *testing.B) {
		mnt, _ := mountTest(b, Options{Passthrough: true})
		dir := filepath.Join(mnt, "runs", "bench")
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		fn(b, dir)
	})
	b.Run("native", func(b *testing.B) {
		fn(b, b.TempDir())
	})
}

// BenchmarkCreate4K creates, writes and closes new 4 KiB files: the commit
// on close is one index transaction with the content inline.
func BenchmarkCreate4K(b *testing.B) {
	data := randBytes(1, 4*kib)
	benchBoth(b, func(b *testing.B, dir string) {
		b.SetBytes(int64(len(data)))
		i := 0
		for b.Loop() {
			f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("f%07d", i)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.Write(data); err != nil {
				b.Fatal(err)
			}
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkStat stats one file over and over; through the mount it is
// mostly answered from the kernel's attribute cache (10 s timeout).
func BenchmarkStat(b *testing.B) {
	benchBoth(b, func(b *testing.B, dir string) {
		p := filepath.Join(dir, "f")
		writeFile(b, p, randBytes(2, 4*kib))
		var st syscall.Stat_t
		for b.Loop() {
			if err := syscall.Stat(p, &st); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReadSmallWarm opens, reads and closes a 4 KiB file whose content
// the kernel already holds: every open still reaches the mount, which
// answers with FOPEN_KEEP_CACHE.
func BenchmarkReadSmallWarm(b *testing.B) {
	data := randBytes(3, 4*kib)
	benchBoth(b, func(b *testing.B, dir string) {
		p := filepath.Join(dir, "f")
		writeFile(b, p, data)
		buf := make([]byte, 2*len(data))
		read := func() {
			fd, err := syscall.Open(p, syscall.O_RDONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			n, err := syscall.Read(fd, buf)
			syscall.Close(fd)
			if err != nil || n != len(data) {
				b.Fatalf("read %d bytes, %v", n, err)
			}
		}
		read() // warm the caches
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			read()
		}
	})
}
