package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// Refreshed says what a Refresh changed.
type Refreshed struct {
	Datasets   []string // datasets whose computed files may have changed
	Generation int64
}

// Refresh brings the catalog up to date with every change committed to
// the store before it started: it takes the directories marked dirty,
// ingests the pipeline folders among them, notices removed folders,
// re-picks the best pipelines and archives new bests, in one transaction
// that also clears the marks it handled.
//
// With many mounts of a team store, one refreshes at a time (the store's
// Exclusive lock, across machines) and reads the marks only once it holds
// it: a mount that waited finds the changes the other handled cleared,
// so each change is ingested once, not once per mount.
//
// What the store answered and has not written yet (a mount's unlinks and
// the closes in its close journal, backing/close_journal.go) is written
// first: a file whose close returned counts as committed for the catalog
// too. Files still open stay pending (their content is not committed).
func (c *Catalog) Refresh(ctx context.Context) (Refreshed, error) {
	c.store.SettleClosed()
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	if due, err := c.refreshDue(ctx); err != nil || !due {
		gen, gerr := c.Generation(ctx)
		return Refreshed{Generation: gen}, errors.Join(err, gerr)
	}
	release, err := c.store.Exclusive(ctx, "catalog refresh")
	if err != nil {
		return Refreshed{}, fmt.Errorf("refresh catalog: %w", err)
	}
	defer release()
	return c.refreshExclusive(ctx)
}

// refreshDue reports cheaply whether there is anything to refresh.
func (c *Catalog) refreshDue(ctx context.Context) (bool, error) {
	dirty, err := c.store.HasDirty(ctx)
	if err != nil || dirty {
		return dirty, err
	}
	return c.reingestDue(ctx)
}

// refreshExclusive is Refresh once no other process refreshes.
func (c *Catalog) refreshExclusive(ctx context.Context) (Refreshed, error) {
	var out Refreshed
	dirty, err := c.store.DirtyDirs(ctx)
	if err != nil {
		return out, err
	}
	full, err := c.reingestDue(ctx)
	if err != nil || (len(dirty) == 0 && !full) {
		gen, gerr := c.Generation(ctx)
		out.Generation = gen
		return out, errors.Join(err, gerr)
	}
	dirty, plan, err := c.planSettled(ctx, dirty, full)
	if err != nil {
		return out, fmt.Errorf("refresh catalog: %w", err)
	}
	var records []*pipelineRecord
	for _, p := range plan.ingest {
		rec, err := c.readPipeline(ctx, p)
		if err != nil {
			return out, fmt.Errorf("refresh catalog: ingest %s/%s: %w", p.dataset, p.pid, err)
		}
		records = append(records, rec)
	}
	err = c.store.Update(ctx, func(tx *backing.Tx) error {
		if err := c.apply(tx, plan, records); err != nil {
			return err
		}
		for ds := range plan.datasets {
			if err := c.updateBest(tx, ds); err != nil {
				return fmt.Errorf("best of %s: %w", ds, err)
			}
		}
		if len(plan.datasets) > 0 {
			if err := bumpGeneration(tx, plan.datasetNames(), false); err != nil {
				return err
			}
		}
		if full {
			if _, err := tx.Exec(`DELETE FROM cat_state WHERE key = 'reingest'`); err != nil {
				return err
			}
		}
		return tx.ClearDirty(dirty)
	})
	if err != nil {
		return out, fmt.Errorf("refresh catalog: %w", err)
	}
	for _, p := range plan.ingest {
		// One line per folder read: on a team store, the mounts' logs
		// together show that each change was ingested once.
		c.log.Info("catalog ingested pipeline folder", "dataset", p.dataset, "pipeline", p.pid)
	}
	out.Datasets = plan.datasetNames()
	out.Generation, err = c.Generation(ctx)
	return out, err
}

// planSettled plans from the marks, then reads them again: a commit
// while the plan resolved paths (a pipeline folder moved into runs/, its
// old marks read before the move, its path after) changed them, and the
// plan is made again from the new ones. The marks cleared are then those
// the plan saw the effect of, and another mount does not ingest the
// folder a second time for them. Bounded: a store busy with other
// writes settles for the second plan (a folder read twice at worst).
func (c *Catalog) planSettled(ctx context.Context, dirty []backing.DirtyDir, full bool) ([]backing.DirtyDir, *refreshPlan, error) {
	for attempt := 1; ; attempt++ {
		plan, err := c.plan(ctx, dirty, full)
		if err != nil {
			return nil, nil, err
		}
		again, err := c.store.DirtyDirs(ctx)
		if err != nil {
			return nil, nil, err
		}
		if slices.Equal(again, dirty) || attempt == 2 {
			return dirty, plan, nil
		}
		dirty = again
	}
}

// refreshPlan is what a set of dirty directories asks for.
type refreshPlan struct {
	full     bool // re-read every pipeline folder (after a schema migration)
	ingest   []pipelineRef
	present  map[string]map[string]uint64 // dataset → pipeline folders that exist now → ino
	datasets map[string]bool              // datasets touched
}

// datasetNames lists the datasets touched, sorted.
func (p *refreshPlan) datasetNames() []string {
	names := make([]string, 0, len(p.datasets))
	for ds := range p.datasets {
		names = append(names, ds)
	}
	sort.Strings(names)
	return names
}

type pipelineRef struct {
	dataset, pid string
	ino          uint64
}

// plan maps dirty directories to work: a pipeline folder is re-ingested,
// a dataset folder is reconciled with its pipeline rows, runs/ with the
// datasets. Everything else (library/, subfolders of a pipeline) is no
// concern of the catalog. A full plan re-reads every pipeline folder and
// settles every dataset the catalog knows, deleted ones included.
func (c *Catalog) plan(ctx context.Context, dirty []backing.DirtyDir, full bool) (*refreshPlan, error) {
	p := &refreshPlan{full: full, present: map[string]map[string]uint64{}, datasets: map[string]bool{}}
	ingest := map[string]pipelineRef{}
	if full {
		if err := c.planAllDatasets(ctx, p, ingest); err != nil {
			return nil, err
		}
		all, err := c.Datasets(ctx)
		if err != nil {
			return nil, err
		}
		for _, ds := range all {
			p.datasets[ds] = true
		}
	}
	paths := newPlanPaths(c.store)
	for _, d := range dirty {
		path, err := paths.path(ctx, d.Ino)
		if errors.Is(err, backing.ErrNotFound) {
			continue // removed since: its parent is dirty too
		}
		if err != nil {
			return nil, err
		}
		parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
		if parts[0] != "runs" {
			continue
		}
		switch {
		case len(parts) == 1:
			if err := c.planAllDatasets(ctx, p, ingest); err != nil {
				return nil, err
			}
		case len(parts) == 2:
			if err := c.planDataset(ctx, p, parts[1], d.Ino, ingest); err != nil {
				return nil, err
			}
		case len(parts) == 3 && nirs4all.IsPipelineFolder(parts[2]):
			ingest[parts[1]+"/"+parts[2]] = pipelineRef{parts[1], parts[2], d.Ino}
			p.datasets[parts[1]] = true
		}
	}
	for _, r := range ingest {
		p.ingest = append(p.ingest, r)
	}
	sort.Slice(p.ingest, func(i, j int) bool {
		return p.ingest[i].dataset+"/"+p.ingest[i].pid < p.ingest[j].dataset+"/"+p.ingest[j].pid
	})
	return p, nil
}

// planAllDatasets reconciles every dataset folder, and datasets the
// catalog knows whose folder is gone.
func (c *Catalog) planAllDatasets(ctx context.Context, p *refreshPlan, ingest map[string]pipelineRef) error {
	ents, err := c.store.ReadDir(ctx, c.skel.runs)
	if err != nil {
		return err
	}
	listed := map[string]bool{}
	for _, e := range ents {
		if isDirMode(e.Mode) && !strings.HasPrefix(e.Name, "_") {
			listed[e.Name] = true
			if err := c.planDataset(ctx, p, e.Name, e.Ino, ingest); err != nil {
				return err
			}
		}
	}
	known, err := c.knownDatasets(ctx)
	if err != nil {
		return err
	}
	for _, ds := range known {
		if !listed[ds] {
			p.present[ds] = map[string]uint64{}
			p.datasets[ds] = true
		}
	}
	return nil
}

// planDataset lists a dataset folder: pipeline folders the catalog does
// not know under that node are ingested; the others are compared in apply.
func (c *Catalog) planDataset(ctx context.Context, p *refreshPlan, ds string, ino uint64, ingest map[string]pipelineRef) error {
	ents, err := c.store.ReadDir(ctx, ino)
	if err != nil {
		return err
	}
	known, err := c.knownPipelines(ctx, ds)
	if err != nil {
		return err
	}
	present := map[string]uint64{}
	for _, e := range ents {
		if !isDirMode(e.Mode) || !nirs4all.IsPipelineFolder(e.Name) {
			continue
		}
		present[e.Name] = e.Ino
		if known[e.Name] != e.Ino || p.full {
			ingest[ds+"/"+e.Name] = pipelineRef{ds, e.Name, e.Ino}
		}
	}
	p.present[ds] = present
	p.datasets[ds] = true
	return nil
}

// knownPipelines maps the dataset's pipeline rows whose folder exists to
// that folder's node.
func (c *Catalog) knownPipelines(ctx context.Context, ds string) (map[string]uint64, error) {
	rows, err := c.store.Reader().QueryContext(ctx,
		`SELECT pid, coalesce(dir_ino, 0) FROM cat_pipelines WHERE dataset = ?`, ds)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var pid string
		var ino uint64
		if err := rows.Scan(&pid, &ino); err != nil {
			return nil, err
		}
		out[pid] = ino
	}
	return out, rows.Err()
}

func (c *Catalog) knownDatasets(ctx context.Context) ([]string, error) {
	return c.queryStrings(ctx, `SELECT DISTINCT dataset FROM cat_pipelines WHERE dir_ino IS NOT NULL`)
}

// reingestDue reports whether a schema migration asked for every pipeline
// folder to be read again.
func (c *Catalog) reingestDue(ctx context.Context) (bool, error) {
	var n int
	err := c.store.Reader().QueryRowContext(ctx, `SELECT count(*) FROM cat_state WHERE key = 'reingest'`).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("catalog state: %w", err)
	}
	return n > 0, nil
}
