package bundle

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/n4ws/n4ws/catalog"
)

// tarTime is the fixed modification time of tar entries (see zipDOSDate).
var tarTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// WriteTarGz writes the regular files below dir as a deterministic
// tar.gz whose entries start with prefix/ (sorted, fixed times, 0644).
func WriteTarGz(ctx context.Context, t catalog.Tree, dir, prefix string, w io.Writer, progress func(done, total int64)) error {
	files, err := walkTree(ctx, t, dir, prefix)
	if err != nil {
		return err
	}
	var total, done int64
	for _, f := range files {
		total += f.size
	}
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := &tar.Header{Name: f.zip, Mode: 0o644, Size: f.size, ModTime: tarTime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("tar %s: %w", f.zip, err)
		}
		n, err := copyFile(ctx, tw, treeFile(t, f.zip, f.src, f.size))
		if err != nil {
			return fmt.Errorf("tar %s: %w", f.zip, err)
		}
		if n != f.size {
			return fmt.Errorf("tar %s: %d bytes, want %d (changed while archiving)", f.zip, n, f.size)
		}
		done += n
		if progress != nil {
			progress(done, total)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}
