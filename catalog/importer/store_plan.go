package importer

// Planning the import of a nirs4all store (FORMATS.md §6): one pipeline
// folder per row of the pipelines table, its manifest.yaml naming the
// store's pipeline_id so that a second import finds it again.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// storeImport is one store import being planned.
type storeImport struct {
	src   fs.FS
	t     catalog.Tree
	snap  *Snapshot
	p     *Plan
	mtime time.Time       // store.sqlite's, for rows without a date
	used  map[string]bool // artifact_path of the binaries imported
	dsArr map[string]bool // arrays/ files of imported datasets
}

func planStoreImport(ctx context.Context, src fs.FS, t catalog.Tree, only string) (*Plan, error) {
	snap, err := LoadSnapshot(ctx, src)
	if err != nil {
		return nil, err
	}
	p := &Plan{}
	s := &storeImport{src: src, t: t, snap: snap, p: p, used: map[string]bool{}, dsArr: map[string]bool{}}
	if st, err := fs.Stat(src, "store.sqlite"); err == nil {
		s.mtime = st.ModTime()
	}
	byDS := map[string][]StorePipeline{}
	for _, sp := range snap.Pipelines() {
		if err := catalog.CheckDatasetName(sp.Dataset); err != nil {
			p.Skipped = append(p.Skipped, Skip{storeSource(sp), "dataset name: " + err.Error()})
			continue
		}
		if only == "" || sp.Dataset == only {
			byDS[sp.Dataset] = append(byDS[sp.Dataset], sp)
		}
	}
	if len(byDS) == 0 {
		if only != "" {
			return nil, fmt.Errorf("the store has no dataset %q", only)
		}
		return nil, fmt.Errorf("%w: store.sqlite holds no pipeline", ErrNotWorkspace)
	}
	names := make([]string, 0, len(byDS))
	for ds := range byDS {
		names = append(names, ds)
	}
	sort.Strings(names)
	for _, ds := range names {
		if err := s.planDataset(ctx, ds, byDS[ds]); err != nil {
			return nil, fmt.Errorf("dataset %s: %w", ds, err)
		}
	}
	s.skipRest()
	p.Notes = append(p.Notes, snap.Notes()...)
	return p, nil
}

func storeSource(sp StorePipeline) string { return "store.sqlite#" + sp.ID }

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// folderName is a pipelines.name usable after NNNN_ in a folder name.
func folderName(name string) string {
	n := strings.Trim(unsafeName.ReplaceAllString(name, "_"), "_.")
	if n == "" {
		return "pipeline"
	}
	return n
}

// NextNumber is the number a newly seen store pipeline gets: one more
// than the highest in use in the dataset (folders, and numbers given
// before). The import and the live projection number alike.
func NextNumber(used map[int]bool) (int, error) {
	highest := 0
	for n := range used {
		highest = max(highest, n)
	}
	if highest >= 9999 {
		return 0, errors.New("pipeline numbers would pass 9999")
	}
	return highest + 1, nil
}

// planDataset plans a folder per pipeline, in creation order: a pipeline
// imported before (its manifest names its pipeline_id) keeps its folder,
// whose files are brought up to date (a pipeline seen running is
// finished since); the others take the next numbers.
func (s *storeImport) planDataset(ctx context.Context, ds string, pipes []StorePipeline) error {
	dsDir := "runs/" + ds
	existing, err := listPipelines(ctx, s.t, dsDir)
	if err != nil {
		return err
	}
	done, err := importedIDs(ctx, s.t, dsDir, existing)
	if err != nil {
		return err
	}
	used := map[int]bool{}
	for n := range existing {
		used[n] = true
	}
	planned := map[string]backing.Digest{}
	for _, sp := range pipes {
		dest, already := done[sp.ID]
		if !already {
			n, err := NextNumber(used)
			if err != nil {
				return err
			}
			used[n], dest = true, FolderName(n, sp)
		}
		if err := s.planPipeline(ctx, ds, sp, dest, already, planned); err != nil {
			return err
		}
	}
	s.dsArr[path.Base(arraysFile(ds))] = true
	return s.planStoreFiles(ctx, ds, planned)
}

// planPipeline plans one pipeline folder (only the files that differ, for
// a folder imported before) and the binaries it uses.
func (s *storeImport) planPipeline(ctx context.Context, ds string, sp StorePipeline, dest string, already bool, planned map[string]backing.Digest) error {
	dir := "runs/" + ds + "/" + dest
	proj := s.snap.Project(sp, dest)
	have := map[string]catalog.TreeEntry{}
	if already {
		var err error
		if have, err = treeFiles(ctx, s.t, dir); err != nil {
			return err
		}
	}
	mtime := s.rowTime(sp.row)
	changed := 0
	for _, name := range sortedKeys(proj.Files) {
		data := proj.Files[name]
		if h, ok := have[name]; ok && h.Size == int64(len(data)) && h.Digest == digestOf(data) {
			continue
		}
		changed++
		s.p.addData(dir+"/"+name, data, mtime, dir)
	}
	base := "runs/" + ds + "/"
	for _, b := range proj.Binaries {
		s.used[strings.TrimPrefix(b.Source, "artifacts/")] = true
		if err := s.p.sharedOne(ctx, s.src, s.t, b.Source, base+"_binaries/"+b.Name, base+importDir+"/"+b.Source, planned); err != nil {
			return err
		}
	}
	for _, n := range proj.Notes {
		s.p.note("%s (%s): %s", storeSource(sp), dest, n)
	}
	s.p.Pipelines = append(s.p.Pipelines, Pipeline{Dataset: ds, Source: storeSource(sp), Dest: dest,
		Already: already && changed == 0, Synthesized: proj.Synthesized && (!already || changed > 0)})
	return nil
}

func sortedKeys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// digestOf is the store's digest of data (zero for empty content).
func digestOf(data []byte) backing.Digest {
	var d backing.Digest
	if len(data) > 0 {
		d = sha256.Sum256(data)
	}
	return d
}

// importedIDs maps the store pipeline_id written in the manifest.yaml of
// each existing pipeline folder to that folder.
func importedIDs(ctx context.Context, t catalog.Tree, dsDir string, existing map[int]string) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range existing {
		r, err := t.Open(ctx, dsDir+"/"+name+"/"+nirs4all.ManifestFile)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "store_pipeline_id: "); ok {
				id := strings.Trim(v, `'"`)
				if prev, ok := out[id]; !ok || name < prev {
					out[id] = name
				}
				break
			}
		}
		r.Close()
	}
	return out, nil
}

var storeTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999"}

// rowTime is the pipeline's completion (else creation) time, else the
// store's modification time.
func (s *storeImport) rowTime(pr dbRow) time.Time {
	if t, ok := (StorePipeline{row: pr}).Time(); ok {
		return t
	}
	return s.mtime
}

// Time is the pipeline's completion time, else its creation time (UTC,
// SQLite's current_timestamp); ok is false when the row has neither.
func (p StorePipeline) Time() (time.Time, bool) {
	for _, k := range []string{"completed_at", "created_at"} {
		v := p.row.str(k)
		for _, l := range storeTimeLayouts {
			if t, err := time.Parse(l, v); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// jsonValue decodes a TEXT column holding JSON (plain float64 numbers, so
// YAML writes them as numbers); other text stays as it is.
func jsonValue(v any) any {
	str, ok := v.(string)
	if !ok {
		return v
	}
	t := strings.TrimSpace(str)
	if t == "" || (t[0] != '{' && t[0] != '[') {
		return v
	}
	var out any
	if err := json.Unmarshal([]byte(t), &out); err != nil {
		return v
	}
	return out
}

// rowMap is a row with JSON columns decoded and NULLs left out.
func rowMap(r dbRow, skip ...string) map[string]any {
	out := map[string]any{}
	for k, v := range r {
		if v != nil && k != rowDigestKey && !containsStr(skip, k) {
			out[k] = jsonValue(v)
		}
	}
	return out
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// numbered is a new pipeline folder: its source, the name it wants and the
// name it gets.
type numbered struct {
	src, want, dest string
}

// numberFresh keeps each new folder's wanted number when free and gives
// the others, in order, the numbers after the highest in use.
func (p *Plan) numberFresh(ds string, existing map[int]string, fresh []*numbered) error {
	wants := make([]string, len(fresh))
	for i, f := range fresh {
		wants[i] = f.want
	}
	dests, moved, err := assignNumbers(existing, wants)
	if err != nil {
		return err
	}
	for i, f := range fresh {
		f.dest = dests[i]
		if moved[i] {
			p.note("renumbered %s (%s) → runs/%s/%s (number taken)", f.src, f.want, ds, f.dest)
		}
	}
	return nil
}
