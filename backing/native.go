package backing

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// The native folder holds the files nirs4all itself writes at the root of
// its workspace (store.sqlite and its -wal/-shm/-journal, arrays/, logs/,
// outputs/...) as ordinary files, mirroring their paths below the mount
// root. They are rewritten in place, locked and mmapped, which content
// addressing cannot serve at local-disk speed; the mount passes them
// through to these files. Everything else (the skeleton, artifacts/) stays
// in the index and blobs.

// NativeDirName is the native folder's name inside the store.
const NativeDirName = "native"

// NativeSeedFile is created empty in the native folder when absent. An
// empty file is a valid empty SQLite database, and its presence is what
// nirs4all (0.11+) checks before refusing a workspace that also holds
// runs/*/*/manifest.yaml as a "legacy filesystem workspace": with it,
// nirs4all opens the store and creates its schema.
const NativeSeedFile = "store.sqlite"

// StoredRootName reports whether name, created at the root, is kept in the
// index rather than in the native folder. The root is otherwise read-only
// in the index: artifacts/ is content-addressed so that the binaries shown
// under runs/ and library/ are the same blobs.
func StoredRootName(name string) bool { return name == "artifacts" }

// NativeDir returns the store's native folder.
func (s *Store) NativeDir() string { return filepath.Join(s.dir, NativeDirName) }

// EnsureNative creates the native folder and its seed file when missing.
func (s *Store) EnsureNative() error { return ensureNative(s.dir) }

func ensureNative(dir string) error {
	nd := filepath.Join(dir, NativeDirName)
	if err := os.MkdirAll(nd, 0o755); err != nil {
		return fmt.Errorf("native folder %s: %w", nd, err)
	}
	seed := filepath.Join(nd, NativeSeedFile)
	f, err := os.OpenFile(seed, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("native seed %s: %w", seed, err)
	}
	return f.Close()
}

// NativeStats counts what the native folder holds.
type NativeStats struct {
	Files int64 `json:"files"` // regular files (hard links count once)
	Dirs  int64 `json:"dirs"`  // directories below the native folder
	Other int64 `json:"other"` // symlinks, fifos, sockets, devices
	Bytes int64 `json:"bytes"` // apparent size of the regular files
}

// NativeStats walks the native folder. A store without one (made before
// the folder existed, never mounted since) holds nothing there.
func (s *Store) NativeStats() (NativeStats, error) {
	var st NativeStats
	seen := map[uint64]bool{}
	root := s.NativeDir()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipDir
			}
			return err
		}
		if p == root {
			return nil
		}
		switch {
		case d.IsDir():
			st.Dirs++
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if ino, ok := inodeOf(fi); ok {
				if seen[ino] {
					return nil
				}
				seen[ino] = true
			}
			st.Files++
			st.Bytes += fi.Size()
		default:
			st.Other++
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("native stats: %w", err)
	}
	return st, nil
}

// inodeOf returns a file's inode number, to count hard links once.
func inodeOf(fi fs.FileInfo) (uint64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Ino, true
}

// storedAtRoot reports whether name may be added to or removed from the
// otherwise read-only root (see StoredRootName).
func storedAtRoot(parent uint64, name string) bool {
	return parent == RootIno && StoredRootName(name)
}
