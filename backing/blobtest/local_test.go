package blobtest

import (
	"path/filepath"
	"testing"

	"github.com/n4ws/n4ws/backing"
)

func TestLocalBlobs(t *testing.T) {
	for _, durable := range []bool{false, true} {
		name := map[bool]string{false: "fast", true: "durable"}[durable]
		t.Run(name, func(t *testing.T) {
			Run(t, func(t *testing.T) backing.BlobStore {
				return backing.NewLocalBlobs(filepath.Join(t.TempDir(), "blobs"), durable)
			})
		})
	}
}
