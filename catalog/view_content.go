package catalog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// content is a rendered file's bytes, wherever they are kept: in memory
// (small files) or in a spill file on the store's disk (the Parquet files,
// hundreds of MB for a large catalog, which the mount's heap would
// otherwise hold for as long as the catalog generation lasts).
type content interface {
	io.ReaderAt
	Size() int64
}

// bytesContent is content held in memory.
type bytesContent []byte

func (b bytesContent) Size() int64 { return int64(len(b)) }

func (b bytesContent) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(b).ReadAt(p, off)
}

// spillFile is content written once to an unlinked file in the store's
// spool folder: its pages live in the kernel's page cache, which the
// kernel may reclaim, not in the heap. The file has no name, so nothing
// is left behind by a crash; its descriptor is closed once no view,
// piece or reader refers to it any more (runtime.AddCleanup).
type spillFile struct {
	f    *os.File
	size int64
}

func (s *spillFile) Size() int64 { return s.size }

func (s *spillFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := s.f.ReadAt(p, off)
	runtime.KeepAlive(s) // the cleanup closes s.f once s is unreachable
	return n, err
}

// spillWriter writes a spill file sequentially, counting its offset.
type spillWriter struct {
	f   *os.File
	buf *bufio.Writer
	n   int64
	err error
}

// newSpillWriter starts a spill file in dir, written through a buffer
// (the merge writes many small pieces: page indexes, footers).
func newSpillWriter(dir string) (*spillWriter, error) {
	f, err := openSpill(dir)
	if err != nil {
		return nil, err
	}
	return &spillWriter{f: f, buf: bufio.NewWriterSize(f, 256<<10)}, nil
}

// openSpill opens an unnamed file in dir (O_TMPFILE; a named file
// removed at once where the filesystem lacks it).
func openSpill(dir string) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err == nil {
		return os.NewFile(uintptr(fd), filepath.Join(dir, "(spill)")), nil
	}
	f, err := os.CreateTemp(dir, ".spill-*")
	if err != nil {
		return nil, fmt.Errorf("spill file in %s: %w", dir, err)
	}
	if err := os.Remove(f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		f.Close()
		return nil, fmt.Errorf("spill file: %w", err)
	}
	return f, nil
}

// newSpillFile makes a spill file of f, closed once unreachable.
func newSpillFile(f *os.File, size int64) *spillFile {
	s := &spillFile{f: f, size: size}
	runtime.AddCleanup(s, func(f *os.File) { f.Close() }, f)
	return s
}

func (w *spillWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.buf.Write(p)
	w.n += int64(n)
	w.err = err
	return n, err
}

// finish flushes the file and returns it as content.
func (w *spillWriter) finish() (*spillFile, error) {
	if err := errors.Join(w.err, w.buf.Flush()); err != nil {
		w.f.Close()
		return nil, fmt.Errorf("spill file: %w", err)
	}
	return newSpillFile(w.f, w.n), nil
}

// abort drops a spill file that will not be finished.
func (w *spillWriter) abort() { w.f.Close() }

// contentBytes reads a content whole into memory.
func contentBytes(c content) ([]byte, error) {
	if b, ok := c.(bytesContent); ok {
		return b, nil
	}
	out := make([]byte, c.Size())
	if _, err := c.ReadAt(out, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return out, nil
}

// spillDir is where the catalog writes its spill files: the store's spool
// folder, on the store's disk (a tmpfs /tmp would put them back in memory).
func (c *Catalog) spillDir() string { return c.store.SpoolDir() }

// spillBody writes a piece's pages to a spill file of their own.
func (c *Catalog) spillBody(pages []byte) (partBody, error) {
	f, err := openSpill(c.spillDir())
	if err != nil {
		return partBody{}, err
	}
	if _, err := f.Write(pages); err != nil {
		f.Close()
		return partBody{}, fmt.Errorf("spill file: %w", err)
	}
	return partBody{file: newSpillFile(f, int64(len(pages))), n: int64(len(pages))}, nil
}
