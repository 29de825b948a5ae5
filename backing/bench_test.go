package backing_test

import (
	"os"
	"strconv"
	"strings"
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

// BenchmarkUnlink is the store's half of rm of one file of a pipeline
// folder: below runs/ a copy goes to the trash, below library/ it does not.
func BenchmarkUnlink(b *testing.B) {
	for _, top := range []string{"library/t/0001_x/sub", "runs/ds/0001_x/sub"} {
		b.Run(top[:strings.IndexByte(top, '/')], func(b *testing.B) {
			s := backingtest.NewStore(b)
			dir, err := s.MkdirAll(ctx, top, 0o755)
			if err != nil {
				b.Fatal(err)
			}
			const n = 2000
			names := make([]string, 0, n)
			for i := range n {
				a := backingtest.WriteFile(b, s, top+"/f"+strconv.Itoa(i), "content "+strconv.Itoa(i))
				_ = a
				names = append(names, "f"+strconv.Itoa(i))
			}
			i := 0
			for b.Loop() {
				if i == n {
					b.StopTimer()
					for _, name := range names {
						backingtest.WriteFile(b, s, top+"/"+name, "again "+name)
					}
					i = 0
					b.StartTimer()
				}
				if _, err := s.Unlink(ctx, dir.Ino, names[i]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkOpenFile is the store's half of opening a small (inline) file
// for reading, which every warm small-file read pays once.
func BenchmarkOpenFile(b *testing.B) {
	s := backingtest.NewStore(b)
	dir, err := s.MkdirAll(ctx, "runs/ds", 0o755)
	if err != nil {
		b.Fatal(err)
	}
	const n = 200
	inos := make([]uint64, n)
	buf := make([]byte, 4096)
	for i := range n {
		a, err := s.Mknod(ctx, dir.Ino, "f"+strconv.Itoa(i), backing.NewNode{Mode: syscall.S_IFREG | 0o644})
		if err != nil {
			b.Fatal(err)
		}
		copy(buf, strconv.Itoa(i))
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
		inos[i] = a.Ino
	}
	i := 0
	for b.Loop() {
		if _, _, err := s.OpenFile(ctx, inos[i%n]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
