package blobtest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
	"github.com/n4ws/n4ws/backing/s3blobs"
)

// TestS3Blobs runs the suite against versitygw: one server, a fresh key
// prefix and cache folder per subtest.
func TestS3Blobs(t *testing.T) {
	srv := backingtest.StartS3(t)
	n := 0
	for _, cacheMax := range []int64{1 << 30, 64 << 10} { // roomy, and smaller than most blobs
		t.Run(fmt.Sprintf("cache%dK", cacheMax>>10), func(t *testing.T) {
			Run(t, func(t *testing.T) backing.BlobStore {
				n++
				b, err := s3blobs.New(context.Background(), s3blobs.Config{
					Endpoint: srv.Endpoint, Bucket: srv.Bucket, Prefix: fmt.Sprintf("t%d/", n),
					AccessKey: srv.AccessKey, SecretKey: srv.SecretKey,
					CacheDir: filepath.Join(t.TempDir(), "cache"), CacheMax: cacheMax,
				})
				if err != nil {
					t.Fatal(err)
				}
				return b
			})
		})
	}
}
