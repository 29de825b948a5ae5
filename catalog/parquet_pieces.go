package catalog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// The Parquet files of catalog/ are made of one piece per dataset: a
// Parquet file of that dataset's rows, taken apart (parquetPart) and kept
// while the dataset's generation (viewGeneration) does not move, and
// joined into the workspace's file by mergeParts. After one new pipeline,
// a render reads and encodes that dataset's rows only, and copies the
// others'. A kept piece's pages point into the last file it was merged
// into, so the pages are in memory once, not twice.

// pieceCache keeps each dataset's rendered pieces.
type pieceCache struct {
	mu sync.Mutex // protects m
	m  map[pieceKey]parquetPiece
}

type pieceKey struct{ file, dataset string }

type parquetPiece struct {
	gen  int64
	part parquetPart
}

// pieceRenderer renders pieces of one dataset: the file's, and others made
// from the same rows (the flat and meta files), by file name.
type pieceRenderer func(ctx context.Context, ds string) (map[string][]byte, error)

// emptyFiles writes each file of a catalog with no dataset (its schema, no row).
var emptyFiles = map[string]func(io.Writer) error{
	"flat": func(w io.Writer) error { return WriteFlat(w, nil) },
	"data": func(w io.Writer) error { return WriteData(w, nil) },
	"meta": func(w io.Writer) error { return WriteMeta(w, nil) },
}

// renderPieces renders the catalog file named file ("flat", "data",
// "meta"), rendering again only the pieces of datasets that changed.
func (c *Catalog) renderPieces(ctx context.Context, file string, piece pieceRenderer) (content, error) {
	gens, err := c.datasetGenerations(ctx)
	if err != nil {
		return nil, err
	}
	if len(gens) == 0 {
		var b bytes.Buffer
		err := emptyFiles[file](&b)
		return bytesContent(b.Bytes()), err
	}
	names := sortedDatasets(gens)
	parts := make([]parquetPart, 0, len(names))
	for _, ds := range names {
		part, err := c.piece(ctx, file, ds, gens[ds], piece)
		if err != nil {
			return nil, fmt.Errorf("%s of %s: %w", file, ds, err)
		}
		parts = append(parts, part)
	}
	c.pieces.forget(file, gens)
	out, bodies, err := mergeParts(parts, c.spillDir())
	if err != nil {
		return nil, err
	}
	c.pieces.rebase(file, names, gens, bodies)
	return out, nil
}

// piece returns dataset ds's piece of file at generation gen, from the
// cache or rendered (with the other pieces render makes, kept too).
func (c *Catalog) piece(ctx context.Context, file, ds string, gen int64, render pieceRenderer) (parquetPart, error) {
	c.pieces.mu.Lock()
	p, ok := c.pieces.m[pieceKey{file, ds}]
	c.pieces.mu.Unlock()
	if ok && p.gen == gen {
		return p.part, nil
	}
	made, err := render(ctx, ds)
	if err != nil {
		return parquetPart{}, err
	}
	parts := make(map[string]parquetPart, len(made))
	for f, data := range made {
		part, err := splitParquet(data)
		if err != nil {
			return parquetPart{}, fmt.Errorf("%s: %w", f, err)
		}
		// On disk at once, not in the heap until the merge points it into
		// its file: a first render holds every dataset's piece at once.
		if part.body, err = c.spillBody(part.body.mem); err != nil {
			return parquetPart{}, fmt.Errorf("%s: %w", f, err)
		}
		parts[f] = part
	}
	c.pieces.mu.Lock()
	defer c.pieces.mu.Unlock()
	for f, part := range parts {
		c.pieces.m[pieceKey{f, ds}] = parquetPiece{gen: gen, part: part}
	}
	return parts[file], nil
}

// rebase points the kept pieces of file at their pages in the file just
// merged (bodies, in the order of names), so that the pages are kept once,
// on disk. A piece rendered again meanwhile is left alone.
func (pc *pieceCache) rebase(file string, names []string, gens map[string]int64, bodies []partBody) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for i, ds := range names {
		k := pieceKey{file, ds}
		if p, ok := pc.m[k]; ok && p.gen == gens[ds] && p.part.body.size() == bodies[i].size() {
			p.part.body = bodies[i]
			pc.m[k] = p
		}
	}
}

// forget drops the pieces of file whose dataset the catalog no longer has.
func (pc *pieceCache) forget(file string, gens map[string]int64) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for k := range pc.m {
		if _, ok := gens[k.dataset]; k.file == file && !ok {
			delete(pc.m, k)
		}
	}
}

// datasetGenerations maps every dataset the catalog has rows of to the
// generation its views were last valid from (see viewGeneration).
func (c *Catalog) datasetGenerations(ctx context.Context) (map[string]int64, error) {
	rows, err := c.store.Reader().QueryContext(ctx, `SELECT DISTINCT dataset FROM cat_pipelines`)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	out := map[string]int64{}
	for rows.Next() {
		var ds string
		if err := rows.Scan(&ds); err != nil {
			rows.Close()
			return nil, err
		}
		out[ds] = 0
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	state, err := c.generationState(ctx)
	if err != nil {
		return nil, err
	}
	for ds := range out {
		own, ok := state[datasetGenerationKey(ds)]
		if !ok {
			own = state["generation"]
		}
		out[ds] = max(own, state[configGenerationKey])
	}
	return out, nil
}

// generationState reads every generation counter of cat_state.
func (c *Catalog) generationState(ctx context.Context) (map[string]int64, error) {
	rows, err := c.store.Reader().QueryContext(ctx, `SELECT key, value FROM cat_state WHERE key LIKE 'generation%'`)
	if err != nil {
		return nil, fmt.Errorf("generations: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// lastUpdate is when a pipeline row last changed: the Parquet files' mtime.
func (c *Catalog) lastUpdate(ctx context.Context) (time.Time, error) {
	var ns *int64
	if err := c.store.Reader().QueryRowContext(ctx, `SELECT max(updated_ns) FROM cat_pipelines`).Scan(&ns); err != nil {
		return time.Time{}, fmt.Errorf("catalog mtime: %w", err)
	}
	if ns == nil {
		return time.Time{}, nil
	}
	return time.Unix(0, *ns), nil
}
