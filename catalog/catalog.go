package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/n4ws/n4ws/backing"
)

// Catalog derives the nirs4all views from the store: it ingests pipeline
// folders as they change, keeps what it learnt in its own tables (which
// outlive the folders), picks each dataset's best pipeline and renders the
// computed files.
type Catalog struct {
	store *backing.Store // read only
	log   *slog.Logger   // read only
	skel  skeletonInos   // read only

	reports Reports // read only; nil: no report files

	refreshMu sync.Mutex // one Refresh at a time in this process

	cacheMu sync.Mutex // protects cache
	cache   map[string]rendered

	pieces pieceCache   // each dataset's part of the Parquet files (parquet_pieces.go)
	parts  datasetParts // each dataset's part of the reports (dataset_parts.go)
}

// Options configure a Catalog.
type Options struct {
	Logger *slog.Logger
	// Reports draws the HTML reports and charts (report.Views); nil leaves
	// the report folders empty.
	Reports Reports
}

// skeletonInos are the folders the catalog reads or writes by role.
type skeletonInos struct {
	runs, archivesBest uint64
}

// Open prepares the catalog's tables in store.
func Open(ctx context.Context, store *backing.Store, opts Options) (*Catalog, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := store.EnsureSchema(ctx, "catalog", migrations); err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	c := &Catalog{store: store, log: opts.Logger, reports: opts.Reports, cache: map[string]rendered{},
		pieces: pieceCache{m: map[pieceKey]parquetPiece{}}}
	for _, s := range []struct {
		path string
		ino  *uint64
	}{{"runs", &c.skel.runs}, {"catalog/archives/best_predictions", &c.skel.archivesBest}} {
		a, err := store.ResolvePath(ctx, s.path)
		if err != nil {
			return nil, fmt.Errorf("open catalog: %s: %w", s.path, err)
		}
		*s.ino = a.Ino
	}
	return c, nil
}

// Generation counts the catalog's changes; computed files rendered at one
// generation stay valid until it moves.
func (c *Catalog) Generation(ctx context.Context) (int64, error) {
	var g int64
	err := c.store.Reader().QueryRowContext(ctx,
		`SELECT coalesce((SELECT value FROM cat_state WHERE key = 'generation'), 0)`).Scan(&g)
	if err != nil {
		return 0, fmt.Errorf("catalog generation: %w", err)
	}
	return g, nil
}

// RunsIno is the inode of the runs/ folder.
func (c *Catalog) RunsIno() uint64 { return c.skel.runs }

var errSkip = errors.New("skip")
