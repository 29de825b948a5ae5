package importer

// Import of an era 0 workspace (FORMATS.md §0): results/<ds>/<config>/
// pipeline folders with results/<ds>/predictions.json (rows as §3.7)
// become runs/<ds>/NNNN_<config>/, numbered in name order, every original
// file kept, metrics.json and predictions.csv synthesised from the rows.

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

const era0Predictions = "predictions.json"

// era0Dataset is one results/<ds>/ folder.
type era0Dataset struct {
	name    string
	configs []string // sub-folders, in name order
	files   []string // other files, relative to results/<ds>/
}

func planEra0Import(ctx context.Context, src fs.FS, t catalog.Tree, only string) (*Plan, error) {
	p := &Plan{}
	dss, err := p.scanEra0(src)
	if err != nil {
		return nil, err
	}
	var picked []*era0Dataset
	for _, d := range dss {
		if only == "" || d.name == only {
			picked = append(picked, d)
		}
	}
	if len(picked) == 0 {
		if only != "" {
			return nil, fmt.Errorf("the workspace has no dataset %q", only)
		}
		return nil, fmt.Errorf("%w: results/ holds no results/<ds>/<config>/ folder", ErrNotWorkspace)
	}
	for _, d := range picked {
		if err := p.planEra0Dataset(ctx, src, t, d); err != nil {
			return nil, fmt.Errorf("dataset %s: %w", d.name, err)
		}
	}
	return p, nil
}

// scanEra0 lists results/<ds>/ folders, sorted by name; everything else
// is skipped with the reason.
func (p *Plan) scanEra0(src fs.FS) ([]*era0Dataset, error) {
	root, err := fs.ReadDir(src, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range root {
		if n := e.Name(); n != "results" {
			reason := notImported[n]
			if reason == "" || n == "arrays" || n == "artifacts" {
				reason = "not part of an era 0 workspace (results/<ds>/<config>/)"
			}
			p.Skipped = append(p.Skipped, Skip{n, reason})
		}
	}
	ents, err := fs.ReadDir(src, "results")
	if err != nil {
		return nil, err
	}
	var out []*era0Dataset
	for _, e := range ents {
		rp := "results/" + e.Name()
		if !e.IsDir() {
			p.Skipped = append(p.Skipped, Skip{rp, "a file directly in results/, outside any dataset folder"})
			continue
		}
		if err := catalog.CheckDatasetName(e.Name()); err != nil {
			p.Skipped = append(p.Skipped, Skip{rp + "/", "dataset name: " + err.Error()})
			continue
		}
		d := &era0Dataset{name: e.Name()}
		sub, err := fs.ReadDir(src, rp)
		if err != nil {
			p.Skipped = append(p.Skipped, Skip{rp + "/", "unreadable: " + err.Error()})
			continue
		}
		for _, s := range sub {
			switch {
			case s.IsDir():
				d.configs = append(d.configs, s.Name())
			case s.Type().IsRegular():
				d.files = append(d.files, s.Name())
			default:
				p.Skipped = append(p.Skipped, Skip{rp + "/" + s.Name(), "not a regular file (symlink or special file)"})
			}
		}
		if len(d.configs) == 0 {
			p.Skipped = append(p.Skipped, Skip{rp + "/", "no pipeline folder (results/<ds>/<config>/) inside"})
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// era0Pipe is a config folder being planned.
type era0Pipe struct {
	n     *numbered
	dir   string // results/<ds>/<config>
	cfg   string
	files map[string]srcFile
}

func (p *Plan) planEra0Dataset(ctx context.Context, src fs.FS, t catalog.Tree, d *era0Dataset) error {
	dsDir := "runs/" + d.name
	existing, err := listPipelines(ctx, t, dsDir)
	if err != nil {
		return err
	}
	rows := p.era0Rows(src, d)
	var fresh []*numbered
	var pipes []*era0Pipe
	for i, cfg := range d.configs {
		dir := "results/" + d.name + "/" + cfg
		ep := &era0Pipe{dir: dir, cfg: cfg, files: p.hashTree(src, dir),
			n: &numbered{src: dir, want: fmt.Sprintf("%04d_%s", min(i+1, 9999), folderName(cfg))}}
		if len(ep.files) == 0 {
			p.Skipped = append(p.Skipped, Skip{dir + "/", "an empty folder"})
			continue
		}
		match, err := era0Imported(ctx, t, dsDir, existing, ep)
		if err != nil {
			return err
		}
		if match != "" {
			p.Pipelines = append(p.Pipelines, Pipeline{Dataset: d.name, Source: dir, Dest: match, Already: true})
			continue
		}
		fresh = append(fresh, ep.n)
		pipes = append(pipes, ep)
	}
	if err := p.numberFresh(d.name, existing, fresh); err != nil {
		return err
	}
	for _, ep := range pipes {
		p.planEra0Pipeline(d.name, ep, rows[ep.cfg])
	}
	return p.planEra0Shared(ctx, src, t, d)
}

// era0Imported finds the existing folder, named as the config after its
// number, that holds all the config folder's files byte for byte.
func era0Imported(ctx context.Context, t catalog.Tree, dsDir string, existing map[int]string, ep *era0Pipe) (string, error) {
	match := ""
	for _, name := range existing {
		if name[5:] != ep.n.want[5:] {
			continue
		}
		have, err := treeFiles(ctx, t, dsDir+"/"+name)
		if err != nil {
			return "", err
		}
		if holdsAll(have, ep.files) && (match == "" || name < match) {
			match = name
		}
	}
	return match, nil
}

// planEra0Pipeline copies the config folder's files and synthesises
// metrics.json and predictions.csv unless it has them.
func (p *Plan) planEra0Pipeline(ds string, ep *era0Pipe, rows []importRow) {
	dir := "runs/" + ds + "/" + ep.n.dest
	newest := p.planCopies(dir, ep.dir, ep.files)
	pp := Pipeline{Dataset: ds, Source: ep.dir, Dest: ep.n.dest}
	_, hasM := ep.files[nirs4all.MetricsFile]
	_, hasP := ep.files[nirs4all.PredictionsFile]
	if !hasM && !hasP {
		if s, ok := synthesize(rows); ok {
			pp.Synthesized = true
			p.addData(dir+"/"+nirs4all.MetricsFile, s.Metrics, newest, dir)
			p.addData(dir+"/"+nirs4all.PredictionsFile, s.Predictions, newest, dir)
			if s.Note != "" {
				p.note("%s: %s", ep.dir, s.Note)
			}
		} else {
			p.note("%s: no prediction rows (failed or unfinished in nirs4all): no metrics.json nor predictions.csv", ep.dir)
		}
	}
	p.Pipelines = append(p.Pipelines, pp)
}

// planEra0Shared keeps results/<ds>/'s own files: predictions.json under
// _nirs4all/ (a newer one replaces it), the others as era A's run files.
func (p *Plan) planEra0Shared(ctx context.Context, src fs.FS, t catalog.Tree, d *era0Dataset) error {
	planned := map[string]backing.Digest{}
	base := "runs/" + d.name + "/"
	for _, rel := range d.files {
		srcPath := "results/" + d.name + "/" + rel
		dst, alt := base+rel, base+importDir+"/results/"+rel
		switch {
		case rel == era0Predictions:
			dst, alt = base+importDir+"/"+rel, ""
		case catalog.IsDatasetViewName(rel):
			dst = base + importDir + "/" + rel
		}
		if err := p.sharedOne(ctx, src, t, srcPath, dst, alt, planned); err != nil {
			return err
		}
	}
	return nil
}

// era0Rows reads results/<ds>/predictions.json: §3.7 rows, as an array or
// an object of rows, each matched to a config folder by config_name,
// pipeline_uid or config_path.
func (p *Plan) era0Rows(src fs.FS, d *era0Dataset) map[string][]importRow {
	file := "results/" + d.name + "/" + era0Predictions
	data, err := fs.ReadFile(src, file)
	if err != nil {
		p.note("%s: no predictions (%v): no metrics synthesised", d.name, err)
		return nil
	}
	objs, err := era0Objects(data)
	if err != nil {
		p.rowsNote(file, "", err)
		return nil
	}
	cfgs := map[string]bool{}
	for _, c := range d.configs {
		cfgs[c] = true
	}
	out := map[string][]importRow{}
	dropped := 0
	for _, obj := range objs {
		cfg := era0Config(obj, cfgs)
		tmp := maps.Clone(obj)
		tmp["pipeline_uid"] = "0001_era0" // any pipeline folder name: jsonRow wants one
		r, err := jsonRow(tmp)
		if cfg == "" || err != nil {
			dropped++
			continue
		}
		r.PID = cfg
		out[cfg] = append(out[cfg], r)
	}
	if dropped > 0 {
		p.note("%s: %d prediction rows without a config folder or usable arrays were left out", file, dropped)
	}
	return out
}

func era0Objects(data []byte) ([]map[string]any, error) {
	v, err := nirs4all.DecodeJSON(data)
	if err != nil {
		return nil, err
	}
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			items = append(items, x[k])
		}
	default:
		return nil, fmt.Errorf("want a JSON array of predictions, got %s", nirs4all.TypeName(v))
	}
	var out []map[string]any
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// era0Config is the config folder a row names.
func era0Config(obj map[string]any, cfgs map[string]bool) string {
	for _, k := range []string{"config_name", "pipeline_uid", "config_path"} {
		s, _ := nirs4all.AsString(nirs4all.UnwrapValue(obj[k]))
		for s != "" && s != "." && s != "/" {
			if cfgs[s] {
				return s
			}
			if cfgs[path.Base(s)] {
				return path.Base(s)
			}
			s = path.Dir(s)
		}
	}
	return ""
}
