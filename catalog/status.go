package catalog

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// What `n4ws status` and `n4ws runs next-id` ask of the catalog: counts per
// dataset, work not ingested yet, files that could not be used, and
// folders in runs/<dataset>/ that are not pipeline folders.

// DatasetStatus counts one dataset's pipelines.
type DatasetStatus struct {
	Dataset    string `json:"dataset"`
	Folder     bool   `json:"folder"`    // runs/<dataset>/ exists
	Pipelines  int    `json:"pipelines"` // pipeline folders that exist
	OK         int    `json:"ok"`
	Failed     int    `json:"failed"`
	Incomplete int    `json:"incomplete"`
	Deleted    int    `json:"deleted"` // known to the catalog, folder removed
	Best       string `json:"best,omitempty"`
}

// StatusError is a file of a pipeline the catalog could not use.
type StatusError struct {
	Dataset  string `json:"dataset"`
	Pipeline string `json:"pipeline"`
	File     string `json:"file"` // runs/<dataset>/<pipeline>/<file>
	Reason   string `json:"reason"`
}

// Status is the state of the workspace as the catalog sees it.
type Status struct {
	Datasets []DatasetStatus `json:"datasets"`
	// Pending lists the directories changed but not ingested yet.
	Pending []string      `json:"pending_ingestion"`
	Errors  []StatusError `json:"errors"`
	// NotPipelines lists folders in runs/<dataset>/ whose names are not
	// NNNN_[name_]hash (names starting with "_" are left alone).
	NotPipelines []string `json:"not_pipeline_folders"`
}

// Status reports datasets, pending ingestion, errors and stray folders.
// It does not refresh: callers that want the newest state call Refresh
// first.
func (c *Catalog) Status(ctx context.Context) (Status, error) {
	st := Status{Datasets: []DatasetStatus{}, Pending: []string{}, Errors: []StatusError{}, NotPipelines: []string{}}
	folders, err := c.datasetFolders(ctx)
	if err != nil {
		return st, err
	}
	rows, err := c.Pipelines(ctx, "")
	if err != nil {
		return st, err
	}
	byDS := map[string]*DatasetStatus{}
	get := func(ds string) *DatasetStatus {
		d := byDS[ds]
		if d == nil {
			_, folder := folders[ds]
			d = &DatasetStatus{Dataset: ds, Folder: folder}
			byDS[ds] = d
		}
		return d
	}
	for ds := range folders {
		get(ds)
	}
	present := map[[2]string]bool{}
	for i := range rows {
		p := &rows[i]
		d := get(p.Dataset)
		if !p.Present {
			d.Deleted++
			continue
		}
		present[[2]string{p.Dataset, p.PID}] = true
		d.Pipelines++
		switch p.Status {
		case "ok":
			d.OK++
		case "failed":
			d.Failed++
		default:
			d.Incomplete++
		}
		if p.Best {
			d.Best = p.PID
		}
	}
	for _, d := range byDS {
		st.Datasets = append(st.Datasets, *d)
	}
	sort.Slice(st.Datasets, func(i, j int) bool { return st.Datasets[i].Dataset < st.Datasets[j].Dataset })

	errs, err := c.Errors(ctx, "")
	if err != nil {
		return st, err
	}
	for _, e := range errs {
		if present[[2]string{e.Dataset, e.PID}] { // a removed folder's errors are gone with it
			st.Errors = append(st.Errors, StatusError{Dataset: e.Dataset, Pipeline: e.PID,
				File: "runs/" + e.Dataset + "/" + e.PID + "/" + e.File, Reason: e.Reason})
		}
	}
	if st.Pending, err = c.PendingDirs(ctx); err != nil {
		return st, err
	}
	names := make([]string, 0, len(folders))
	for ds := range folders {
		names = append(names, ds)
	}
	sort.Strings(names)
	for _, ds := range names {
		stray, err := c.strayIn(ctx, folders[ds])
		if err != nil {
			return st, err
		}
		for _, s := range stray {
			st.NotPipelines = append(st.NotPipelines, "runs/"+ds+"/"+s)
		}
	}
	return st, nil
}

// datasetFolders maps the folders in runs/ to their nodes.
func (c *Catalog) datasetFolders(ctx context.Context) (map[string]uint64, error) {
	ents, err := c.store.ReadDir(ctx, c.skel.runs)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, e := range ents {
		if isDirMode(e.Mode) && !strings.HasPrefix(e.Name, "_") {
			out[e.Name] = e.Ino
		}
	}
	return out, nil
}

// datasetFolder returns the node of runs/<ds>/, or 0 when there is none.
func (c *Catalog) datasetFolder(ctx context.Context, ds string) (uint64, error) {
	if err := CheckDatasetName(ds); err != nil {
		return 0, err
	}
	a, err := c.store.Lookup(ctx, c.skel.runs, ds)
	if errors.Is(err, backing.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if !a.IsDir() {
		return 0, nil
	}
	return a.Ino, nil
}

// strayIn lists the sub-folders of a dataset folder that are not pipeline
// folders, ignoring names that start with "_" (_binaries/) and files.
func (c *Catalog) strayIn(ctx context.Context, ino uint64) ([]string, error) {
	ents, err := c.store.ReadDir(ctx, ino)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if isDirMode(e.Mode) && !strings.HasPrefix(e.Name, "_") && !nirs4all.IsPipelineFolder(e.Name) {
			out = append(out, e.Name)
		}
	}
	return out, nil
}

// NotPipelineFolders lists the folders of runs/<ds>/ that are not
// pipeline folders (see Status); nil when the dataset has no folder.
func (c *Catalog) NotPipelineFolders(ctx context.Context, ds string) ([]string, error) {
	ino, err := c.datasetFolder(ctx, ds)
	if err != nil || ino == 0 {
		return nil, err
	}
	return c.strayIn(ctx, ino)
}

// PendingDirs lists, as paths, the folders whose changes the catalog has
// not ingested yet: runs/, dataset folders and pipeline folders. (Other
// changed directories, such as catalog/archives/ where a refresh itself
// adds files, concern no ingestion; a Refresh takes them all.)
func (c *Catalog) PendingDirs(ctx context.Context) ([]string, error) {
	dirty, err := c.store.DirtyDirs(ctx)
	if err != nil {
		return nil, err
	}
	out := []string{}
	paths := newPlanPaths(c.store) // pendingKind looks at 3 components at most
	for _, d := range dirty {
		p, err := paths.path(ctx, d.Ino)
		if errors.Is(err, backing.ErrNotFound) {
			continue // removed since; its parent is pending too
		}
		if err != nil {
			return nil, err
		}
		if pendingKind(strings.TrimPrefix(p, "/")) {
			out = append(out, strings.TrimPrefix(p, "/"))
		}
	}
	sort.Strings(out)
	return out, nil
}

// NextID returns the next free pipeline number of a dataset: one more
// than the highest NNNN among its pipeline folders, 1 for a dataset with
// none or without a folder.
func (c *Catalog) NextID(ctx context.Context, ds string) (int, error) {
	ino, err := c.datasetFolder(ctx, ds)
	if err != nil || ino == 0 {
		return 1, err
	}
	ents, err := c.store.ReadDir(ctx, ino)
	if err != nil {
		return 0, err
	}
	highest := 0
	for _, e := range ents {
		if n, _, _, ok := nirs4all.ParsePipelineID(e.Name); ok && isDirMode(e.Mode) && n > highest {
			highest = n
		}
	}
	if highest >= 9999 {
		return 0, fmt.Errorf("dataset %s: pipeline numbers are used up to 9999", ds)
	}
	return highest + 1, nil
}

// HasDataset reports whether ds is a dataset: the catalog knows pipelines
// of it (run folders deleted or not), or runs/<ds>/ exists.
func (c *Catalog) HasDataset(ctx context.Context, ds string) (bool, error) {
	ino, err := c.datasetFolder(ctx, ds)
	if err != nil || ino != 0 {
		return ino != 0, err
	}
	var n int
	err = c.store.Reader().QueryRowContext(ctx,
		`SELECT count(*) FROM (SELECT 1 FROM cat_pipelines WHERE dataset = ? LIMIT 1) AS one`, ds).Scan(&n)
	return n > 0, err
}

// CheckDatasetName refuses names that cannot be a folder of runs/.
func CheckDatasetName(ds string) error {
	if ds == "" || ds == "." || ds == ".." || strings.ContainsAny(ds, "/\x00") || len(ds) > 255 {
		return fmt.Errorf("%q is not a dataset name (a folder name of runs/)", ds)
	}
	return nil
}

// pendingKind reports whether a changed directory is one Refresh ingests.
func pendingKind(p string) bool {
	parts := strings.Split(p, "/")
	if parts[0] != "runs" {
		return false
	}
	return len(parts) <= 2 || (len(parts) == 3 && nirs4all.IsPipelineFolder(parts[2]))
}
