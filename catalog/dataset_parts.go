package catalog

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Workspace-wide files made of one part per dataset (the reports of
// exports/session_reports/ and catalog/reports/) follow the catalog's
// generation, so they are drawn again after any change. Drawing every
// dataset again each time costs as much as the whole catalog (about 40 s
// of CPU per report at a million pipelines): EachDataset keeps each
// dataset's part while that dataset's generation holds, so after one new
// pipeline only its dataset's part is made again. The Parquet files keep
// their pieces the same way (parquet_pieces.go).

// datasetParts keeps what EachDataset made, by kind and dataset.
type datasetParts struct {
	mu sync.Mutex // protects m and made
	m  map[partKey]keptPart
	// made counts the parts made (not taken from m) by kind: what the
	// tests check to see that an unchanged dataset was not drawn again.
	made map[string]int
}

type partKey struct{ kind, dataset string }

type keptPart struct {
	gen  int64
	part any
}

// Parts is what a draw of EachDataset may return to make parts of several
// kinds from one load of a dataset's rows (the costly part at 10,000
// pipelines): each is kept under its kind, as if EachDataset of that kind
// had drawn it with the same generation, and EachDataset returns the one
// of its own kind.
type Parts map[string]any

// EachDataset returns draw's part of every dataset the catalog has rows
// of, in name order. A part is kept under kind while its dataset's
// generation (and the best rule's) holds, and draw runs again only for the
// datasets that changed since; parts of datasets the catalog no longer has
// are dropped. draw must depend on nothing but the dataset's catalog rows
// and the best rule, which is what the generations count.
func (c *Catalog) EachDataset(ctx context.Context, kind string, draw func(ds string) (any, error)) ([]any, error) {
	gens, err := c.datasetGenerations(ctx)
	if err != nil {
		return nil, err
	}
	names := sortedDatasets(gens)
	out := make([]any, 0, len(names))
	for _, ds := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if part, ok := c.parts.get(kind, ds, gens[ds]); ok {
			out = append(out, part)
			continue
		}
		// The generation was read before the rows draw reads: a part
		// newer than its generation is only drawn again once more.
		part, err := draw(ds)
		if err != nil {
			return nil, fmt.Errorf("%s of %s: %w", kind, ds, err)
		}
		if ps, ok := part.(Parts); ok {
			for k, p := range ps {
				if k != kind {
					c.parts.put(k, ds, gens[ds], p)
				}
			}
			part = ps[kind]
		}
		c.parts.put(kind, ds, gens[ds], part)
		out = append(out, part)
	}
	c.parts.forget(kind, gens)
	return out, nil
}

// PartsMade counts the parts EachDataset made under kind (not kept ones).
func (c *Catalog) PartsMade(kind string) int {
	c.parts.mu.Lock()
	defer c.parts.mu.Unlock()
	return c.parts.made[kind]
}

func (dp *datasetParts) get(kind, ds string, gen int64) (any, bool) {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	p, ok := dp.m[partKey{kind, ds}]
	return p.part, ok && p.gen == gen
}

func (dp *datasetParts) put(kind, ds string, gen int64, part any) {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if dp.m == nil {
		dp.m, dp.made = map[partKey]keptPart{}, map[string]int{}
	}
	dp.m[partKey{kind, ds}] = keptPart{gen: gen, part: part}
	dp.made[kind]++
}

// forget drops the parts of kind whose dataset the catalog no longer has.
func (dp *datasetParts) forget(kind string, gens map[string]int64) {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	for k := range dp.m {
		if _, ok := gens[k.dataset]; k.kind == kind && !ok {
			delete(dp.m, k)
		}
	}
}

// sortedDatasets lists the datasets of gens by name.
func sortedDatasets(gens map[string]int64) []string {
	names := make([]string, 0, len(gens))
	for ds := range gens {
		names = append(names, ds)
	}
	sort.Strings(names)
	return names
}
