package importer

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// ArraysCache keeps the prediction arrays read from arrays/<ds>.parquet
// across snapshots, while the file is unchanged: a live view takes a
// snapshot every pass and would otherwise parse every dataset's arrays
// each time. nirs4all replaces the file (write .tmp, os.replace) on every
// flush, so its inode, size and modification time tell a new one.
type ArraysCache struct {
	// Dir is where the workspace's arrays/ really is (a mount's backing
	// folder: the kernel caches the attributes of the mount's files).
	Dir string

	mu sync.Mutex // protects m
	m  map[string]cachedArrays
}

type cachedArrays struct {
	key    string
	arrays map[string]storeArrays
}

// UseArraysCache makes the snapshot take arrays from c (and add to it).
func (s *Snapshot) UseArraysCache(c *ArraysCache) { s.cache = c }

// fileKey identifies one version of the file f, "" when it cannot.
func (c *ArraysCache) fileKey(f string) string {
	st, err := os.Stat(filepath.Join(c.Dir, filepath.FromSlash(f)))
	if err != nil {
		return ""
	}
	var ino uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = sys.Ino
	}
	return fmt.Sprintf("%d/%d/%d", ino, st.Size(), st.ModTime().UnixNano())
}

// load gives f's arrays from the cache, else from read (keyed by the
// file's state seen before reading, so a file replaced meanwhile is read
// again next time). What read could not read cleanly (ok false) is not
// kept: it is read again, and noted again, next time.
func (c *ArraysCache) load(f string, read func() (map[string]storeArrays, bool)) map[string]storeArrays {
	key := c.fileKey(f)
	if key == "" {
		a, _ := read()
		return a
	}
	c.mu.Lock()
	e, ok := c.m[f]
	c.mu.Unlock()
	if ok && e.key == key {
		return e.arrays
	}
	a, clean := read()
	if !clean {
		return a
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]cachedArrays{}
	}
	c.m[f] = cachedArrays{key: key, arrays: a}
	c.mu.Unlock()
	return a
}
