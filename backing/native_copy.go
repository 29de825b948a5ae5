package backing

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// CopyNative copies the native folder of the store in srcDir (nirs4all's
// own files: store.sqlite, arrays/, logs/...) over the one of the new
// store in dstDir, as `n4ws migrate` copies everything else: regular
// files with their mode and modification time, folders and symlinks.
// Neither store may be mounted (nirs4all's SQLite files are then closed).
// A source without a native folder copies nothing.
func CopyNative(srcDir, dstDir string) (files int, err error) {
	src, dst := filepath.Join(srcDir, NativeDirName), filepath.Join(dstDir, NativeDirName)
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == src && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipDir
			}
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(to, info.Mode().Perm())
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			os.Remove(to)
			return os.Symlink(target, to)
		case d.Type().IsRegular():
			files++
			return copyNativeFile(p, to, info)
		}
		return nil // fifos, sockets: nothing nirs4all keeps
	})
	if err != nil {
		return files, fmt.Errorf("copy native files to %s: %w", dst, err)
	}
	return files, nil
}

func copyNativeFile(from, to string, info fs.FileInfo) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return err
	}
	_, cerr := io.Copy(out, in)
	if err := errors.Join(cerr, out.Sync(), out.Close()); err != nil {
		return err
	}
	return os.Chtimes(to, info.ModTime(), info.ModTime())
}
