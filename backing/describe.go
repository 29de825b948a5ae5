package backing

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	"gopkg.in/yaml.v3"
)

// A team store keeps its index in a database server and its blobs in an
// object store; on each machine its folder holds only the description of
// where they are (store.yaml), the spool, the blob read cache and the
// native files. The description has no secrets: credentials come from the
// usual places of each client (PGPASSWORD or ~/.pgpass; AWS_ACCESS_KEY_ID
// and AWS_SECRET_ACCESS_KEY or ~/.aws/credentials).

// DescriptionFile is the team store's description in its folder.
const DescriptionFile = "store.yaml"

// Description says where a team store's index and blobs are.
type Description struct {
	Index      string `yaml:"index"`                 // postgres://host[:port]/db[?options], no password
	Blobs      string `yaml:"blobs"`                 // s3://bucket[/prefix]
	S3Endpoint string `yaml:"s3_endpoint,omitempty"` // http[s]://host[:port] of a non-AWS server
	CacheMax   int64  `yaml:"cache_max,omitempty"`   // the local read cache's limit in bytes (0: DefaultCacheMax)
}

// DefaultCacheMax is the default size limit of a team store's read cache.
const DefaultCacheMax = 10 << 30

// IndexOpener opens an index engine from a description's index URL.
type IndexOpener func(ctx context.Context, rawURL string) (IndexEngine, error)

// BlobsOpener opens a blob store from a description; cacheDir is this
// machine's read cache folder.
type BlobsOpener func(ctx context.Context, d Description, cacheDir string) (BlobStore, error)

var (
	enginesMu    sync.Mutex // protects the following
	indexOpeners = map[string]IndexOpener{}
	blobsOpeners = map[string]BlobsOpener{}
)

// RegisterIndex makes an index engine available for URLs of scheme; the
// engine's package calls it in its init (backing/pgindex: "postgres").
func RegisterIndex(scheme string, open IndexOpener) {
	enginesMu.Lock()
	defer enginesMu.Unlock()
	indexOpeners[scheme] = open
}

// RegisterBlobs makes a blob store available for URLs of scheme
// (backing/s3blobs: "s3").
func RegisterBlobs(scheme string, open BlobsOpener) {
	enginesMu.Lock()
	defer enginesMu.Unlock()
	blobsOpeners[scheme] = open
}

// openers checks d and returns the engines' openers.
func (d Description) openers() (IndexOpener, BlobsOpener, error) {
	iu, err := url.Parse(d.Index)
	if err != nil || iu.Scheme == "" {
		return nil, nil, fmt.Errorf("index %q: not a URL (want postgres://host/db): %w", d.Index, ErrInvalid)
	}
	if _, hasPass := iu.User.Password(); hasPass || iu.Query().Has("password") {
		return nil, nil, fmt.Errorf("index URL has a password: the store description holds no secrets; put it in PGPASSWORD or ~/.pgpass: %w", ErrInvalid)
	}
	bu, err := url.Parse(d.Blobs)
	if err != nil || bu.Scheme == "" || bu.Host == "" {
		return nil, nil, fmt.Errorf("blobs %q: not a URL (want s3://bucket/prefix): %w", d.Blobs, ErrInvalid)
	}
	if bu.User != nil {
		return nil, nil, fmt.Errorf("blobs URL has credentials: put them in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials: %w", ErrInvalid)
	}
	if d.S3Endpoint != "" {
		if eu, err := url.Parse(d.S3Endpoint); err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" {
			return nil, nil, fmt.Errorf("s3 endpoint %q: want http://host:port or https://host: %w", d.S3Endpoint, ErrInvalid)
		}
	}
	enginesMu.Lock()
	defer enginesMu.Unlock()
	oi, ok := indexOpeners[iu.Scheme]
	if !ok {
		return nil, nil, fmt.Errorf("index %q: no engine for %s:// (this n4ws knows postgres://): %w", d.Index, iu.Scheme, ErrInvalid)
	}
	ob, ok := blobsOpeners[bu.Scheme]
	if !ok {
		return nil, nil, fmt.Errorf("blobs %q: no engine for %s:// (this n4ws knows s3://): %w", d.Blobs, bu.Scheme, ErrInvalid)
	}
	return oi, ob, nil
}

// ReadDescription reads dir's store.yaml; fs.ErrNotExist when dir is not
// a team store's folder.
func ReadDescription(dir string) (Description, error) {
	var d Description
	f, err := os.Open(filepath.Join(dir, DescriptionFile))
	if err != nil {
		return d, err
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		return d, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return d, nil
}

// IsStore reports whether dir holds a store: a local one (index.db) or
// this machine's folder of a team store (store.yaml).
func IsStore(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "index.db"))
	return err == nil || isTeamStore(dir)
}

// isTeamStore reports whether dir holds a store description.
func isTeamStore(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, DescriptionFile))
	return !errors.Is(err, fs.ErrNotExist)
}

// openTeam opens the team store described in dir.
func openTeam(ctx context.Context, dir string, opts Options) (*Store, error) {
	d, err := ReadDescription(dir)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return openDescribed(ctx, dir, d, opts)
}

func openDescribed(ctx context.Context, dir string, d Description, opts Options) (*Store, error) {
	oi, ob, err := d.openers()
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	blobs, err := ob(ctx, d, filepath.Join(dir, "cache"))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	if _, aged := blobs.(AgedLister); aged { // a remote store: uploads may be staged
		if opts.Logger == nil {
			opts.Logger = slog.Default()
		}
		blobs, err = newWriteback(blobs, filepath.Join(dir, "writeback"), opts, opts.Logger)
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", dir, err)
		}
	}
	idx, err := oi(ctx, d.Index)
	if err != nil {
		if wb, ok := blobs.(*writeback); ok {
			wb.Close()
		}
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return OpenWith(ctx, dir, idx, blobs, opts)
}

// InitTeam makes dir this machine's folder of the team store d: it checks
// that both servers answer, creates the index's tables and the workspace
// tree if no other machine did yet, and writes store.yaml last, so that a
// failed init leaves no description behind. It reports whether it wrote
// one (false: dir already describes this store).
func InitTeam(ctx context.Context, dir string, d Description) (created bool, err error) {
	if old, err := ReadDescription(dir); err == nil {
		if old != d {
			return false, fmt.Errorf("init store %s: it describes another store (%s, %s): %w", dir, old.Index, old.Blobs, ErrExists)
		}
		return false, nil
	}
	if _, err := os.Stat(filepath.Join(dir, "index.db")); err == nil {
		return false, fmt.Errorf("init store %s: a local store is there already (n4ws migrate copies it into a team store): %w", dir, ErrExists)
	}
	if _, _, err := d.openers(); err != nil {
		return false, fmt.Errorf("init store %s: %w", dir, err)
	}
	if err := makeStoreDir(dir, "spool", "cache", NativeDirName); err != nil {
		return false, err
	}
	s, err := openDescribed(ctx, dir, d, Options{})
	if err != nil {
		return false, err
	}
	defer s.Close()
	if err := s.createSkeleton(ctx); err != nil {
		return false, fmt.Errorf("init store %s: %w", dir, err)
	}
	if err := ensureNative(dir); err != nil {
		return false, fmt.Errorf("init store %s: %w", dir, err)
	}
	data, err := yaml.Marshal(d)
	if err != nil {
		return false, fmt.Errorf("init store %s: %w", dir, err)
	}
	tmp := filepath.Join(dir, DescriptionFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return false, fmt.Errorf("init store %s: %w", dir, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, DescriptionFile)); err != nil {
		return false, fmt.Errorf("init store %s: %w", dir, err)
	}
	return true, nil
}

// makeStoreDir creates a store's private folder and its subfolders.
func makeStoreDir(dir string, subs ...string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("init store %s: %w", dir, err)
	}
	// The store holds users' results: private whatever the umask says.
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("init store %s: %w", dir, err)
	}
	for _, sub := range subs {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return fmt.Errorf("init store %s: %w", dir, err)
		}
	}
	return nil
}
