package bundle

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/n4ws/n4ws/catalog"
)

// Limits of the zips n4ws reads: a zip beyond them is refused before
// anything is written (a zip bomb, or not a bundle at all).
const (
	MaxBundleEntries = 200_000
	MaxBundleBytes   = 64 << 30 // uncompressed, all entries
	// MaxBundleRatio is the expansion a large entry may have; deflate
	// reaches ~1000 only on degenerate content such as zeros.
	MaxBundleRatio    = 200
	bundleRatioFloor  = 4 << 20 // entries smaller than this are not checked
	bundleMetaMaxSize = 16 << 20
)

// zipDOSDate and zipDOSTime are the fixed modification time of every
// entry (2000-01-01 00:00:00), so the same files give the same bytes.
const (
	zipDOSDate = (2000-1980)<<9 | 1<<5 | 1
	zipDOSTime = 0
)

// File is one entry of a zip n4ws writes.
type File struct {
	Path string // slash path inside the zip
	Size int64  // expected size, for progress
	Open func(ctx context.Context) (io.ReadCloser, error)
}

// bytesFile is an entry whose content is in memory.
func bytesFile(p string, data []byte) File {
	return File{Path: p, Size: int64(len(data)), Open: func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}
}

// treeFile is an entry read from the store.
func treeFile(t catalog.Tree, zipPath, src string, size int64) File {
	return File{Path: zipPath, Size: size, Open: func(ctx context.Context) (io.ReadCloser, error) {
		return t.Open(ctx, src)
	}}
}

// WriteZip writes files as a deterministic zip: entries sorted by path,
// Deflate, a fixed time, mode 0644, no extra fields and no comment.
// progress (may be nil) gets the bytes done and the total.
func WriteZip(ctx context.Context, w io.Writer, files []File, progress func(done, total int64)) error {
	files = append([]File(nil), files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	var total, done int64
	for i, f := range files {
		if i > 0 && files[i-1].Path == f.Path {
			return fmt.Errorf("zip: %s twice", f.Path)
		}
		total += f.Size
	}
	zw := zip.NewWriter(w)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		h := &zip.FileHeader{Name: f.Path, Method: zip.Deflate, ModifiedDate: zipDOSDate, ModifiedTime: zipDOSTime}
		h.SetMode(0o644)
		dst, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("zip %s: %w", f.Path, err)
		}
		n, err := copyFile(ctx, dst, f)
		if err != nil {
			return fmt.Errorf("zip %s: %w", f.Path, err)
		}
		done += n
		if progress != nil {
			progress(done, max(total, done))
		}
	}
	return zw.Close()
}

func copyFile(ctx context.Context, dst io.Writer, f File) (int64, error) {
	r, err := f.Open(ctx)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return io.Copy(dst, ctxReader{ctx, r})
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ZipEntry is a checked entry of a zip n4ws reads.
type ZipEntry struct {
	Path    string // clean slash path, never absolute, never with ".."
	Size    int64
	Symlink bool
	Target  string // of a symlink: relative and inside the tree
	file    *zip.File
}

// Open reads the entry's content.
func (e *ZipEntry) Open() (io.ReadCloser, error) { return e.file.Open() }

// OpenZip reads and checks a zip: no absolute paths, no "..", no
// symlink leading out of the tree, no entry twice, and a sane size and
// expansion ratio. Folder entries are dropped. The entries come sorted.
func OpenZip(r io.ReaderAt, size int64) ([]*ZipEntry, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a zip file: %w", err)
	}
	if len(zr.File) > MaxBundleEntries {
		return nil, fmt.Errorf("zip has %d entries; more than %d is not a bundle", len(zr.File), MaxBundleEntries)
	}
	var out []*ZipEntry
	seen := map[string]bool{}
	var total uint64
	for _, f := range zr.File {
		p, err := checkZipName(f.Name)
		if err != nil {
			return nil, err
		}
		if seen[p] {
			return nil, fmt.Errorf("zip entry %q appears twice", p)
		}
		seen[p] = true
		if err := checkRatio(f); err != nil {
			return nil, err
		}
		if total += f.UncompressedSize64; total > MaxBundleBytes {
			return nil, fmt.Errorf("zip expands to more than %d bytes", uint64(MaxBundleBytes))
		}
		if f.FileInfo().IsDir() || strings.HasSuffix(f.Name, "/") {
			continue
		}
		e := &ZipEntry{Path: p, Size: int64(f.UncompressedSize64), file: f}
		if f.Mode()&fs.ModeSymlink != 0 {
			if err := readSymlink(e); err != nil {
				return nil, err
			}
		} else if !f.Mode().IsRegular() && f.Mode()&fs.ModeType != 0 {
			return nil, fmt.Errorf("zip entry %q is not a file, folder or symlink", p)
		}
		out = append(out, e)
	}
	return out, checkPrefixes(out)
}

// checkZipName refuses names that would land outside the target folder.
func checkZipName(name string) (string, error) {
	n := strings.TrimSuffix(name, "/")
	switch {
	case n == "" || strings.ContainsRune(n, 0):
		return "", fmt.Errorf("zip entry with an empty or invalid name %q", name)
	case strings.HasPrefix(n, "/") || strings.HasPrefix(n, "\\") || len(n) > 1 && n[1] == ':':
		return "", fmt.Errorf("zip entry %q has an absolute path", name)
	case strings.ContainsRune(n, '\\'):
		return "", fmt.Errorf("zip entry %q has a backslash in its path", name)
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", fmt.Errorf("zip entry %q has a '..' component", name)
		}
		if part == "" || part == "." {
			return "", fmt.Errorf("zip entry %q has an empty or '.' component", name)
		}
	}
	return n, nil
}

func checkRatio(f *zip.File) error {
	u, c := f.UncompressedSize64, f.CompressedSize64
	if u > bundleRatioFloor && (c == 0 || u/c > MaxBundleRatio) {
		return fmt.Errorf("zip entry %q expands %d bytes to %d: more than %dx, refused as a zip bomb", f.Name, c, u, MaxBundleRatio)
	}
	return nil
}

// readSymlink reads a symlink entry's target and refuses one that leaves
// the tree the zip unpacks into.
func readSymlink(e *ZipEntry) error {
	if e.Size > 4096 {
		return fmt.Errorf("zip symlink %q: target of %d bytes", e.Path, e.Size)
	}
	r, err := e.Open()
	if err != nil {
		return fmt.Errorf("zip symlink %q: %w", e.Path, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 4097))
	if err != nil {
		return fmt.Errorf("zip symlink %q: %w", e.Path, err)
	}
	t := string(b)
	resolved := path.Join(path.Dir(e.Path), t)
	if t == "" || strings.HasPrefix(t, "/") || resolved == ".." || strings.HasPrefix(resolved, "../") {
		return fmt.Errorf("zip symlink %q points out of the tree (%q)", e.Path, t)
	}
	e.Symlink, e.Target = true, t
	return nil
}

// checkPrefixes refuses a file that is also a folder of other entries.
func checkPrefixes(es []*ZipEntry) error {
	sort.Slice(es, func(i, j int) bool { return es[i].Path < es[j].Path })
	files := map[string]bool{}
	for _, e := range es {
		files[e.Path] = true
	}
	for _, e := range es {
		for d := path.Dir(e.Path); d != "."; d = path.Dir(d) {
			if files[d] {
				return fmt.Errorf("zip entry %q is both a file and a folder", d)
			}
		}
	}
	return nil
}

var errNoBundle = errors.New("not an n4ws bundle")
