package s3blobs

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// connectTimeout bounds how long opening a team store waits for its
// object store.
const connectTimeout = 15 * time.Second

func init() {
	backing.RegisterBlobs("s3", func(ctx context.Context, d backing.Description, cacheDir string) (backing.BlobStore, error) {
		cfg, err := ConfigOf(d)
		if err != nil {
			return nil, err
		}
		cfg.CacheDir = cacheDir
		ctx, cancel := context.WithTimeout(ctx, connectTimeout)
		defer cancel()
		return New(ctx, cfg)
	})
}

// ConfigOf turns a store description's blobs URL (s3://bucket/prefix)
// and endpoint into a Config, credentials left to the usual places.
func ConfigOf(d backing.Description) (Config, error) {
	u, err := url.Parse(d.Blobs)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return Config{}, fmt.Errorf("blobs %q: want s3://bucket/prefix", d.Blobs)
	}
	cfg := Config{Endpoint: "s3.amazonaws.com", Secure: true, Bucket: u.Host, CacheMax: d.CacheMax}
	if p := strings.Trim(u.Path, "/"); p != "" {
		cfg.Prefix = p + "/"
	}
	if d.S3Endpoint != "" {
		e, err := url.Parse(d.S3Endpoint)
		if err != nil || e.Host == "" {
			return Config{}, fmt.Errorf("s3 endpoint %q: want http://host:port or https://host", d.S3Endpoint)
		}
		cfg.Endpoint, cfg.Secure = e.Host, e.Scheme == "https"
	}
	if cfg.CacheMax == 0 {
		cfg.CacheMax = backing.DefaultCacheMax
	}
	return cfg, nil
}
