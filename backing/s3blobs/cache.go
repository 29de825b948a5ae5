package s3blobs

import (
	"container/list"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// cache is a machine's local copy of remote blobs: one file per blob,
// <dir>/aa/<hex>, evicted least recently used first when the files pass
// max bytes. A blob never changes, so a cached file is never stale and
// nothing is ever invalidated (restic's internal/cache, perkeep's
// proxycache). Recency survives restarts as the files' mtimes.
type cache struct {
	dir string // read only

	mu    sync.Mutex // protects the following
	max   int64      // the folder's size bound
	lru   *list.List // of *cacheEntry, most recently used at the front
	byKey map[backing.Digest]*list.Element
	used  int64 // bytes of the files in lru
}

type cacheEntry struct {
	d    backing.Digest
	size int64
}

// staleTempAge is how long a temporary file of the cache goes unwritten
// before an opening takes it for a leftover of an interrupted download.
const staleTempAge = 10 * time.Minute

// openCaches are the caches opened in this process, by folder. A process
// may open one store twice (a mount and its live projection each hold a
// handle): they share the cache, so that its size bound holds for the
// folder, not for each handle.
var openCaches = struct {
	sync.Mutex
	byDir map[string]*cache
}{byDir: map[string]*cache{}}

// sharedCache returns this process's cache of dir, opening it the first
// time; a later opening with a smaller bound lowers it.
func sharedCache(dir string, max int64) (*cache, error) {
	key := filepath.Clean(dir)
	if abs, err := filepath.Abs(dir); err == nil {
		key = abs
	}
	openCaches.Lock()
	defer openCaches.Unlock()
	if c, ok := openCaches.byDir[key]; ok {
		c.mu.Lock()
		if max < c.max {
			c.max = max
			c.evictLocked(backing.Digest{})
		}
		c.mu.Unlock()
		return c, nil
	}
	c, err := openCache(dir, max)
	if err != nil {
		return nil, err
	}
	openCaches.byDir[key] = c
	return c, nil
}

// openCache opens the cache folder dir, taking in the blobs a previous run
// left there, and removing temporary files of interrupted downloads.
func openCache(dir string, max int64) (*cache, error) {
	c := &cache{dir: dir, max: max, lru: list.New(), byKey: map[backing.Digest]*list.Element{}}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open blob cache: %w", err)
	}
	type found struct {
		d     backing.Digest
		size  int64
		mtime time.Time
	}
	var files []found
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed since listed (another opening of the store)
		}
		if err != nil || e.IsDir() {
			return err
		}
		if strings.HasPrefix(e.Name(), ".tmp-") {
			// Other processes and handles share the folder (a CLI command
			// beside a mount, the mount's live projection): a recent
			// temporary file may be a download under way, not a leftover.
			// The other opening may also remove a leftover first.
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) < staleTempAge {
				return nil
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		}
		d, perr := backing.ParseDigest(e.Name())
		fi, ierr := e.Info()
		if perr != nil || ierr != nil || p != c.path(d) {
			return nil // not ours: leave it
		}
		files = append(files, found{d, fi.Size(), fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open blob cache: %w", err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mtime.Before(files[j].mtime) })
	for _, f := range files { // oldest first, so the newest end at the front
		c.byKey[f.d] = c.lru.PushFront(&cacheEntry{f.d, f.size})
		c.used += f.size
	}
	c.mu.Lock()
	c.evictLocked(backing.Digest{})
	c.mu.Unlock()
	return c, nil
}

func (c *cache) path(d backing.Digest) string {
	h := d.String()
	return filepath.Join(c.dir, h[:2], h)
}

// open opens blob d's cached file, marking it recently used; an error
// wrapping fs.ErrNotExist means it is not cached.
func (c *cache) open(d backing.Digest) (*os.File, error) {
	c.mu.Lock()
	e, ok := c.byKey[d]
	if ok {
		c.lru.MoveToFront(e)
	}
	c.mu.Unlock()
	if !ok {
		return nil, fs.ErrNotExist
	}
	f, err := os.Open(c.path(d))
	if errors.Is(err, fs.ErrNotExist) {
		c.remove(d) // removed behind our back (by hand, or another process)
	}
	if err == nil {
		now := time.Now()
		os.Chtimes(f.Name(), now, now) // recency for the next run; best effort
	}
	return f, err
}

// tempFile creates a file in the cache folder to be filled and then added.
func (c *cache) tempFile() (*os.File, error) {
	return os.CreateTemp(c.dir, ".tmp-*")
}

// add moves the complete file at tmp (in the cache folder) into the cache
// as blob d of the given size, then evicts down to the limit.
func (c *cache) add(d backing.Digest, size int64, tmp string) error {
	dst := c.path(d)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[d]; ok {
		c.lru.MoveToFront(e)
		return nil
	}
	c.byKey[d] = c.lru.PushFront(&cacheEntry{d, size})
	c.used += size
	c.evictLocked(d)
	return nil
}

// link adds a hard link to the local file p as blob d, when p is on the
// cache's filesystem: a blob written on this machine is read back without
// a download. Failing to link is no error: the blob is fetched when read.
func (c *cache) link(d backing.Digest, size int64, p string) {
	f, err := c.tempFile() // reserves a unique name
	if err != nil {
		return
	}
	tmp := f.Name()
	f.Close()
	os.Remove(tmp)
	if os.Link(p, tmp) != nil {
		return
	}
	if c.add(d, size, tmp) != nil {
		os.Remove(tmp)
	}
}

// evictLocked removes least recently used files until the cache fits,
// sparing keep (the blob just added, however large). An open file stays
// readable after its name is removed.
func (c *cache) evictLocked(keep backing.Digest) {
	for c.used > c.max {
		e := c.lru.Back()
		if e == nil {
			return
		}
		ent := e.Value.(*cacheEntry)
		if ent.d == keep {
			if c.lru.Len() == 1 {
				return
			}
			c.lru.MoveToFront(e)
			continue
		}
		c.removeLocked(ent.d)
	}
}

func (c *cache) remove(d backing.Digest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(d)
}

func (c *cache) removeLocked(d backing.Digest) {
	if e, ok := c.byKey[d]; ok {
		c.used -= e.Value.(*cacheEntry).size
		c.lru.Remove(e)
		delete(c.byKey, d)
	}
	os.Remove(c.path(d))
}

// usage returns the bytes and files held.
func (c *cache) usage() (bytes int64, files int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used, c.lru.Len()
}
