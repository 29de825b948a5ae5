package backing

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
)

// serviceNames are the user's words for an engine's server, by URL scheme.
var serviceNames = map[string]string{"postgres": "PostgreSQL (the index)", "s3": "S3 (the blobs)"}

func serviceName(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		if name, ok := serviceNames[u.Scheme]; ok {
			return name
		}
	}
	return rawURL
}

// CheckServers tells which of a team store's servers do not answer: it
// opens the index and the blob store of dir's description one at a time,
// and returns one error per server that fails, naming the service, its
// address and the cause (an empty slice: both answer, or dir is a local
// store). It is for messages: Open fails on the first server alone.
func CheckServers(ctx context.Context, dir string) []error {
	d, err := ReadDescription(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return []error{err}
	}
	oi, ob, err := d.openers()
	if err != nil {
		return []error{err}
	}
	var down []error
	if idx, err := oi(ctx, d.Index); err != nil {
		// err names the index's URL already.
		down = append(down, fmt.Errorf("%s is unavailable: %w", serviceName(d.Index), err))
	} else {
		idx.Close()
	}
	where := d.Blobs
	if d.S3Endpoint != "" {
		where += " (" + d.S3Endpoint + ")"
	}
	if _, err := ob(ctx, d, filepath.Join(dir, "cache")); err != nil {
		down = append(down, fmt.Errorf("%s at %s is unavailable: %w", serviceName(d.Blobs), where, err))
	}
	return down
}
