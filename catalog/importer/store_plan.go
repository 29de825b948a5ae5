package importer

// Planning the import of a nirs4all store (FORMATS.md §6): one pipeline
// folder per row of the pipelines table, its manifest.yaml naming the
// store's pipeline_id so that a second import finds it again.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
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
	d     *storeData
	p     *Plan
	mtime time.Time       // store.sqlite's, for rows without a date
	used  map[string]bool // artifact_path of the binaries imported
	dsArr map[string]bool // arrays/ files of imported datasets
}

// numbered is a new pipeline folder: its source, the name it wants and the
// name it gets.
type numbered struct {
	src, want, dest string
}

func planStoreImport(ctx context.Context, src fs.FS, t catalog.Tree, only string) (*Plan, error) {
	d, err := readStore(src)
	if err != nil {
		return nil, fmt.Errorf("store.sqlite: %w", err)
	}
	p := &Plan{}
	s := &storeImport{src: src, t: t, d: d, p: p, used: map[string]bool{}, dsArr: map[string]bool{}}
	if st, err := fs.Stat(src, "store.sqlite"); err == nil {
		s.mtime = st.ModTime()
	}
	if d.Version != 5 {
		p.note("store.sqlite: schema version %d, not 5: read by column name as far as it goes", d.Version)
	}
	byDS := map[string][]dbRow{}
	for _, pr := range d.Pipelines {
		ds := pr.str("dataset_name")
		if err := catalog.CheckDatasetName(ds); err != nil {
			p.Skipped = append(p.Skipped, Skip{storeSource(pr), "dataset name: " + err.Error()})
			continue
		}
		if only == "" || ds == only {
			byDS[ds] = append(byDS[ds], pr)
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
	return p, nil
}

func storeSource(pr dbRow) string { return "store.sqlite#" + pr.str("pipeline_id") }

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// folderName is a pipelines.name usable after NNNN_ in a folder name.
func folderName(name string) string {
	n := strings.Trim(unsafeName.ReplaceAllString(name, "_"), "_.")
	if n == "" {
		return "pipeline"
	}
	return n
}

func (s *storeImport) planDataset(ctx context.Context, ds string, pipes []dbRow) error {
	dsDir := "runs/" + ds
	existing, err := listPipelines(ctx, s.t, dsDir)
	if err != nil {
		return err
	}
	done, err := importedIDs(ctx, s.t, dsDir, existing)
	if err != nil {
		return err
	}
	arrays := s.loadArrays(ds)
	var fresh []*numbered
	freshRows := map[*numbered]dbRow{}
	for i, pr := range pipes {
		if dest, ok := done[pr.str("pipeline_id")]; ok {
			s.p.Pipelines = append(s.p.Pipelines, Pipeline{Dataset: ds, Source: storeSource(pr), Dest: dest, Already: true})
			continue
		}
		n := &numbered{src: storeSource(pr), want: fmt.Sprintf("%04d_%s", min(i+1, 9999), folderName(pr.str("name")))}
		fresh = append(fresh, n)
		freshRows[n] = pr
	}
	if err := s.p.numberFresh(ds, existing, fresh); err != nil {
		return err
	}
	planned := map[string]backing.Digest{}
	bins, err := s.planBinaries(ctx, ds, pipes, planned)
	if err != nil {
		return err
	}
	for _, n := range fresh {
		s.planPipeline(ds, n, freshRows[n], arrays, bins)
	}
	return s.planStoreFiles(ctx, ds, planned)
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

// planPipeline writes one pipeline folder: manifest.yaml, pipeline.json,
// and metrics.json with predictions.csv from its predictions.
func (s *storeImport) planPipeline(ds string, n *numbered, pr dbRow, arrays map[string]storeArrays, bins map[string]string) {
	dir := "runs/" + ds + "/" + n.dest
	mtime := s.rowTime(pr)
	s.p.addData(dir+"/"+nirs4all.ManifestFile, s.manifest(pr, n.dest, bins), mtime, dir)
	cfg := pr.str("expanded_config")
	if cfg == "" {
		cfg = "[]"
	}
	if !strings.HasSuffix(cfg, "\n") {
		cfg += "\n"
	}
	s.p.addData(dir+"/"+nirs4all.PipelineFile, []byte(cfg), mtime, dir)
	pp := Pipeline{Dataset: ds, Source: n.src, Dest: n.dest}
	rows := s.rows(pr, n.dest, arrays)
	if sy, ok := synthesize(rows); ok {
		pp.Synthesized = true
		s.p.addData(dir+"/"+nirs4all.MetricsFile, sy.Metrics, mtime, dir)
		s.p.addData(dir+"/"+nirs4all.PredictionsFile, sy.Predictions, mtime, dir)
		if sy.Note != "" {
			s.p.note("%s: %s", n.src, sy.Note)
		}
	} else {
		s.p.note("%s (%s): no prediction with arrays (status %q): no metrics.json nor predictions.csv", n.src, n.dest, pr.str("status"))
	}
	if e := pr.str("error"); e != "" {
		s.p.addData(dir+"/error.log", []byte(e+"\n"), mtime, dir)
	}
	s.p.Pipelines = append(s.p.Pipelines, pp)
}

var storeTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999"}

// rowTime is the pipeline's completion (else creation) time, else the
// store's modification time.
func (s *storeImport) rowTime(pr dbRow) time.Time {
	for _, k := range []string{"completed_at", "created_at"} {
		v := pr.str(k)
		for _, l := range storeTimeLayouts {
			if t, err := time.Parse(l, v); err == nil {
				return t
			}
		}
	}
	return s.mtime
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
		if v != nil && !containsStr(skip, k) {
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
