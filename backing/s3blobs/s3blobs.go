// Package s3blobs is the S3 engine of backing.BlobStore: blobs are objects
// <prefix>blobs/<sha256 hex> in a bucket of any S3-compatible server, read
// through a local cache folder of this machine (size-limited, least
// recently used evicted) so that reads are served from a local file, as
// FUSE passthrough needs.
package s3blobs

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/n4ws/n4ws/backing"
)

// Config says where the blobs are and where this machine caches them.
type Config struct {
	Endpoint string // host[:port] of the S3 server, e.g. s3.amazonaws.com
	Secure   bool   // HTTPS
	Region   string // empty: asked of the server
	Bucket   string
	Prefix   string // key prefix inside the bucket, e.g. "lab/" (may be empty)
	// AccessKey and SecretKey; when empty, credentials come from the usual
	// places: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials,
	// then the instance's IAM role.
	AccessKey, SecretKey string
	CacheDir             string // the local read cache folder
	CacheMax             int64  // its size limit in bytes
}

// Blobs is a bucket as a backing.BlobStore.
type Blobs struct {
	client *minio.Client
	bucket string
	prefix string // ends in "blobs/"
	cache  *cache

	mu        sync.Mutex                   // protects inflight
	inflight  map[backing.Digest]*download // downloads under way
	downloads atomic.Int64                 // objects fetched, for tests
}

// download is one fetch of an object into the cache, which concurrent
// readers of the same blob wait for instead of fetching it again.
type download struct {
	done chan struct{}
	err  error
}

var _ backing.BlobStore = (*Blobs)(nil)

// New connects to the bucket (checking that it exists) and opens the cache.
func New(ctx context.Context, cfg Config) (*Blobs, error) {
	creds := credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	if cfg.AccessKey == "" {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{}, &credentials.FileAWSCredentials{}, &credentials.IAM{},
		})
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{Creds: creds, Secure: cfg.Secure, Region: cfg.Region})
	if err != nil {
		return nil, fmt.Errorf("s3 blobs %s: %w", cfg.Endpoint, err)
	}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 blobs: bucket %s at %s: %w", cfg.Bucket, cfg.Endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("s3 blobs: bucket %s at %s: %w", cfg.Bucket, cfg.Endpoint, fs.ErrNotExist)
	}
	c, err := sharedCache(cfg.CacheDir, cfg.CacheMax)
	if err != nil {
		return nil, err
	}
	return &Blobs{client: client, bucket: cfg.Bucket, prefix: cfg.Prefix + "blobs/", cache: c,
		inflight: map[backing.Digest]*download{}}, nil
}

func (b *Blobs) key(d backing.Digest) string { return b.prefix + d.String() }

// notFound reports whether err is S3's answer for a missing object, and
// wraps it as fs.ErrNotExist.
func notFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == "NoSuchKey" || r.StatusCode == http.StatusNotFound
}

// PutFile uploads the file unless the object exists, and links the file
// into the cache so that this machine reads it back without a download.
func (b *Blobs) PutFile(ctx context.Context, d backing.Digest, size int64, path string) error {
	if _, err := b.Stat(ctx, d); err == nil {
		return nil // stored already: deduplicated
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	_, err := b.client.FPutObject(ctx, b.bucket, b.key(d), path, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("put blob %s: %w", d, err)
	}
	b.cache.link(d, size, path)
	return nil
}

// Put writes r to a cache file while hashing it, and uploads that file
// once the hash and size are right: a corrupt stream never reaches S3.
func (b *Blobs) Put(ctx context.Context, d backing.Digest, size int64, r io.Reader) error {
	if _, err := b.Stat(ctx, d); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tmp, err := b.fill(d, size, r)
	if err != nil {
		return fmt.Errorf("put blob %s: %w", d, err)
	}
	defer os.Remove(tmp) // after a successful add it is gone already
	_, err = b.client.FPutObject(ctx, b.bucket, b.key(d), tmp, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("put blob %s: %w", d, err)
	}
	return b.cache.add(d, size, tmp)
}

// fill copies r into a new temporary cache file, checking that it holds
// size bytes hashing to d, and returns the file's name.
func (b *Blobs) fill(d backing.Digest, size int64, r io.Reader) (string, error) {
	f, err := b.cache.tempFile()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if got := backing.Digest(h.Sum(nil)); err == nil && (n != size || got != d) {
		err = fmt.Errorf("content is %d bytes hashing to %s, want %d bytes: %w", n, got, size, backing.ErrCorrupt)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// Open returns the cached file, downloading the object into the cache
// first if needed (once, however many readers ask at the same time). The
// download is checked against the digest.
func (b *Blobs) Open(ctx context.Context, d backing.Digest) (*os.File, error) {
	if f, err := b.cache.open(d); err == nil {
		return f, nil
	}
	b.mu.Lock()
	dl, busy := b.inflight[d]
	if !busy {
		// Look again: a download may have ended since the first look.
		if f, err := b.cache.open(d); err == nil {
			b.mu.Unlock()
			return f, nil
		}
		dl = &download{done: make(chan struct{})}
		b.inflight[d] = dl
	}
	b.mu.Unlock()
	if !busy {
		dl.err = b.fetch(ctx, d)
		b.mu.Lock()
		delete(b.inflight, d)
		b.mu.Unlock()
		close(dl.done)
	}
	select {
	case <-dl.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("open blob %s: %w", d, ctx.Err())
	}
	if dl.err != nil {
		return nil, dl.err
	}
	f, err := os.Open(b.cache.path(d))
	if err != nil {
		return nil, b.openErr(d, err)
	}
	return f, nil
}

// fetch downloads object d into the cache.
func (b *Blobs) fetch(ctx context.Context, d backing.Digest) error {
	b.downloads.Add(1)
	obj, err := b.client.GetObject(ctx, b.bucket, b.key(d), minio.GetObjectOptions{})
	if err != nil {
		return b.openErr(d, err)
	}
	defer obj.Close()
	info, err := obj.Stat()
	if err != nil {
		return b.openErr(d, err)
	}
	tmp, err := b.fill(d, info.Size, obj)
	if err != nil {
		return b.openErr(d, err)
	}
	if err := b.cache.add(d, info.Size, tmp); err != nil {
		os.Remove(tmp)
		return b.openErr(d, err)
	}
	return nil
}

func (b *Blobs) openErr(d backing.Digest, err error) error {
	if notFound(err) {
		return fmt.Errorf("open blob %s: %w (%v)", d, fs.ErrNotExist, err)
	}
	return fmt.Errorf("open blob %s: %w", d, err)
}

// Stat asks the server for the object's size.
func (b *Blobs) Stat(ctx context.Context, d backing.Digest) (int64, error) {
	info, err := b.client.StatObject(ctx, b.bucket, b.key(d), minio.StatObjectOptions{})
	if err != nil {
		if notFound(err) {
			return 0, fmt.Errorf("stat blob %s: %w", d, fs.ErrNotExist)
		}
		return 0, fmt.Errorf("stat blob %s: %w", d, err)
	}
	return info.Size, nil
}

// Delete removes the object and this machine's cached copy. Other
// machines' copies stay until evicted; the index no longer names the blob.
func (b *Blobs) Delete(ctx context.Context, d backing.Digest) error {
	b.cache.remove(d)
	if err := b.client.RemoveObject(ctx, b.bucket, b.key(d), minio.RemoveObjectOptions{}); err != nil && !notFound(err) {
		return fmt.Errorf("delete blob %s: %w", d, err)
	}
	return nil
}

// List lists the objects under the prefix; keys that are not blobs are
// skipped.
func (b *Blobs) List(ctx context.Context, fn func(backing.Digest, int64) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing goroutine when fn stops early
	for obj := range b.client.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("list blobs: %w", obj.Err)
		}
		d, err := backing.ParseDigest(strings.TrimPrefix(obj.Key, b.prefix))
		if err != nil {
			continue
		}
		if err := fn(d, obj.Size); err != nil {
			return err
		}
	}
	return nil
}

// ListAged is List with each object's upload time, for gc's grace period.
func (b *Blobs) ListAged(ctx context.Context, fn func(backing.Digest, int64, time.Time) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range b.client.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("list blobs: %w", obj.Err)
		}
		d, err := backing.ParseDigest(strings.TrimPrefix(obj.Key, b.prefix))
		if err != nil {
			continue
		}
		if err := fn(d, obj.Size, obj.LastModified); err != nil {
			return err
		}
	}
	return nil
}

var _ backing.AgedLister = (*Blobs)(nil)

// CacheUsage returns the bytes and files in this machine's read cache.
func (b *Blobs) CacheUsage() (bytes int64, files int) { return b.cache.usage() }
