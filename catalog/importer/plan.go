package importer

// Planning `n4ws import <folder>` (FORMATS.md §00): every original file of
// a nirs4all folder workspace goes under runs/<ds>/, each pipeline folder
// gains a synthesised metrics.json and predictions.csv, and a pipeline
// folder already imported (a folder of the dataset with the same name
// after its number holds all its files, byte for byte) is left alone, so
// that importing the same workspace twice adds nothing.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// Plan is what importing a folder workspace writes.
type Plan struct {
	Pipelines []Pipeline
	Skipped   []Skip
	Notes     []string // renumberings, choices, updated or clashing files
	Unchanged int      // dataset-level files already in the store
	writes    []wsWrite
}

// Pipeline is one source pipeline folder.
type Pipeline struct {
	Dataset     string `json:"dataset"`
	Source      string `json:"source"` // runs/<run>/<pid> in the workspace
	Dest        string `json:"dest"`   // folder name in runs/<dataset>/
	Already     bool   `json:"already_imported"`
	Synthesized bool   `json:"synthesized"`
}

type wsWrite struct {
	dst      string
	src      string // path in the workspace; "" when data is the content
	data     []byte
	size     int64
	mtime    time.Time
	pipeline string // runs/<ds>/<pid> of a new pipeline folder, "" for shared files
}

// srcFile is a hashed source file.
type srcFile struct {
	digest backing.Digest
	size   int64
	mtime  time.Time
}

// New counts the pipeline folders the import creates.
func (p *Plan) New() int {
	n := 0
	for _, pp := range p.Pipelines {
		if !pp.Already {
			n++
		}
	}
	return n
}

// Bytes is the content the plan writes.
func (p *Plan) Bytes() int64 {
	var n int64
	for _, w := range p.writes {
		n += w.size
	}
	return n
}

// PlanWorkspace scans the workspace src and decides what goes where
// in the store t. only, when not "", restricts the import to one dataset.
// Nothing is written.
func PlanWorkspace(ctx context.Context, src fs.FS, t catalog.Tree, only string) (*Plan, error) {
	if p, ok, err := planOtherLayout(ctx, src, t, only); ok {
		return p, err // a nirs4all store, or era 0's results/
	}
	w, err := scanWorkspace(src)
	if err != nil {
		return nil, err
	}
	p := &Plan{Skipped: w.Skipped}
	var names []string
	for ds := range w.Datasets {
		if only == "" || ds == only {
			names = append(names, ds)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("the workspace has no dataset %q", only)
	}
	sort.Strings(names)
	for _, ds := range names {
		if err := p.planDataset(ctx, src, t, w.Datasets[ds]); err != nil {
			return nil, fmt.Errorf("dataset %s: %w", ds, err)
		}
	}
	return p, nil
}

// srcPipe is a source pipeline folder being planned.
type srcPipe struct {
	run   *wsRun
	pid   string
	files map[string]srcFile // relative to the folder
	dest  string
}

func (p *Plan) planDataset(ctx context.Context, src fs.FS, t catalog.Tree, d *wsDataset) error {
	dsDir := "runs/" + d.Name
	rows := p.loadRows(src, d)
	existing, err := listPipelines(ctx, t, dsDir)
	if err != nil {
		return err
	}
	owner := map[string]*wsRun{} // pid → the latest run holding it: its rows' owner
	var pipes []*srcPipe
	for _, run := range d.Runs {
		for _, pid := range run.Pipelines {
			sp := &srcPipe{run: run, pid: pid, files: p.hashTree(src, run.Dir+"/"+pid)}
			if prev := owner[pid]; prev != nil && rows[pid] != nil {
				p.note("%s/%s and %s/%s share a name: the prediction rows of %s go to the later one", prev.Dir, pid, run.Dir, pid, pid)
			}
			owner[pid] = run
			pipes = append(pipes, sp)
		}
	}
	fresh, err := p.matchImported(ctx, t, dsDir, existing, pipes)
	if err != nil {
		return err
	}
	if err := p.number(d.Name, existing, fresh); err != nil {
		return err
	}
	for _, sp := range fresh {
		var r []importRow
		if owner[sp.pid] == sp.run {
			r = rows[sp.pid]
		}
		p.planPipeline(d.Name, sp, r)
	}
	return p.planShared(ctx, src, t, d)
}

func (p *Plan) note(format string, args ...any) {
	p.Notes = append(p.Notes, fmt.Sprintf(format, args...))
}

// hashTree hashes the regular files below dir, relative to it; unreadable
// files are skipped with the reason.
func (p *Plan) hashTree(src fs.FS, dir string) map[string]srcFile {
	files, skipped := walkFiles(src, dir, ".")
	p.Skipped = append(p.Skipped, skipped...)
	out := map[string]srcFile{}
	for _, rel := range files {
		f, err := hashFile(src, dir+"/"+rel)
		if err != nil {
			p.Skipped = append(p.Skipped, Skip{dir + "/" + rel, "unreadable: " + err.Error()})
			continue
		}
		out[rel] = f
	}
	return out
}

func hashFile(src fs.FS, name string) (srcFile, error) {
	f, err := src.Open(name)
	if err != nil {
		return srcFile{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return srcFile{}, err
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return srcFile{}, err
	}
	out := srcFile{size: n, mtime: st.ModTime()}
	if n > 0 {
		h.Sum(out.digest[:0])
	}
	return out, nil
}

// listPipelines maps the numbers of the dataset's pipeline folders to
// their names.
func listPipelines(ctx context.Context, t catalog.Tree, dsDir string) (map[int]string, error) {
	ents, err := t.List(ctx, dsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[int]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[int]string{}
	for _, e := range ents {
		if n, _, _, ok := nirs4all.ParsePipelineID(e.Name); ok && e.Dir {
			out[n] = e.Name
		}
	}
	return out, nil
}

// matchImported marks the source pipelines an earlier import brought in
// and returns the others, in source order.
func (p *Plan) matchImported(ctx context.Context, t catalog.Tree, dsDir string, existing map[int]string, pipes []*srcPipe) ([]*srcPipe, error) {
	var fresh []*srcPipe
	for _, sp := range pipes {
		match := ""
		for _, name := range existing {
			if name[5:] != sp.pid[5:] || len(sp.files) == 0 {
				continue
			}
			have, err := treeFiles(ctx, t, dsDir+"/"+name)
			if err != nil {
				return nil, err
			}
			if holdsAll(have, sp.files) && (match == "" || name < match) {
				match = name
			}
		}
		if match == "" {
			fresh = append(fresh, sp)
			continue
		}
		p.Pipelines = append(p.Pipelines, Pipeline{Dataset: path.Base(dsDir), Source: sp.run.Dir + "/" + sp.pid, Dest: match, Already: true})
	}
	return fresh, nil
}

func holdsAll(have map[string]catalog.TreeEntry, want map[string]srcFile) bool {
	for rel, f := range want {
		h, ok := have[rel]
		if !ok || h.Dir || h.Size != f.size || h.Digest != f.digest {
			return false
		}
	}
	return true
}

// treeFiles lists the files below dir in the store, relative to it.
func treeFiles(ctx context.Context, t catalog.Tree, dir string) (map[string]catalog.TreeEntry, error) {
	out := map[string]catalog.TreeEntry{}
	var walk func(rel string) error
	walk = func(rel string) error {
		ents, err := t.List(ctx, path.Join(dir, rel))
		if err != nil {
			return err
		}
		for _, e := range ents {
			r := path.Join(rel, e.Name)
			if e.Dir {
				if err := walk(r); err != nil {
					return err
				}
				continue
			}
			out[r] = e
		}
		return nil
	}
	return out, walk("")
}

// number keeps each new pipeline's number when free and gives the others,
// in source order, the numbers after the highest in use.
func (p *Plan) number(ds string, existing map[int]string, fresh []*srcPipe) error {
	wants := make([]string, len(fresh))
	for i, sp := range fresh {
		wants[i] = sp.pid
	}
	dests, moved, err := assignNumbers(existing, wants)
	if err != nil {
		return err
	}
	for i, sp := range fresh {
		sp.dest = dests[i]
		if moved[i] {
			p.note("renumbered %s/%s → runs/%s/%s (number taken)", sp.run.Dir, sp.pid, ds, sp.dest)
		}
	}
	return nil
}

// planCopies plans the copy of a folder's files, in name order, into the
// pipeline folder dir, and returns the newest modification time.
func (p *Plan) planCopies(dir, srcDir string, files map[string]srcFile) time.Time {
	var newest time.Time
	rels := make([]string, 0, len(files))
	for rel := range files {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		f := files[rel]
		newest = later(newest, f.mtime)
		p.writes = append(p.writes, wsWrite{dst: dir + "/" + rel, src: srcDir + "/" + rel, size: f.size, mtime: f.mtime, pipeline: dir})
	}
	return newest
}

// assignNumbers keeps each wanted folder name's number when it is free and
// gives the others, in order, the numbers after the highest in use. It
// returns the folder names to use and which of them were renumbered.
func assignNumbers(existing map[int]string, wants []string) ([]string, []bool, error) {
	used := map[int]bool{}
	highest := 0
	for n := range existing {
		used[n], highest = true, max(highest, n)
	}
	dests, moved := make([]string, len(wants)), make([]bool, len(wants))
	var clash []int
	for i, w := range wants {
		n, _, _, _ := nirs4all.ParsePipelineID(w)
		if used[n] {
			clash = append(clash, i)
			continue
		}
		used[n], highest, dests[i] = true, max(highest, n), w
	}
	for _, i := range clash {
		highest++
		if highest > 9999 {
			return nil, nil, errors.New("pipeline numbers would pass 9999")
		}
		dests[i], moved[i] = fmt.Sprintf("%04d_%s", highest, wants[i][5:]), true
	}
	return dests, moved, nil
}

// planPipeline writes a new pipeline folder: its files, and metrics.json
// and predictions.csv synthesised from rows unless the folder has them.
func (p *Plan) planPipeline(ds string, sp *srcPipe, rows []importRow) {
	dir := "runs/" + ds + "/" + sp.dest
	srcDir := sp.run.Dir + "/" + sp.pid
	newest := p.planCopies(dir, srcDir, sp.files)
	pp := Pipeline{Dataset: ds, Source: srcDir, Dest: sp.dest}
	_, hasM := sp.files[nirs4all.MetricsFile]
	_, hasP := sp.files[nirs4all.PredictionsFile]
	if !hasM && !hasP {
		if s, ok := synthesize(rows); ok {
			pp.Synthesized = true
			p.addData(dir+"/"+nirs4all.MetricsFile, s.Metrics, newest, dir)
			p.addData(dir+"/"+nirs4all.PredictionsFile, s.Predictions, newest, dir)
			if s.Note != "" {
				p.note("%s: %s", srcDir, s.Note)
			}
		} else {
			p.note("%s: no prediction rows (failed or unfinished in nirs4all): no metrics.json nor predictions.csv", srcDir)
		}
	}
	p.Pipelines = append(p.Pipelines, pp)
}

func (p *Plan) addData(dst string, data []byte, mtime time.Time, pipeline string) {
	p.writes = append(p.writes, wsWrite{dst: dst, data: data, size: int64(len(data)), mtime: mtime, pipeline: pipeline})
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// relDst is where a dataset-level source file goes under runs/<ds>/.
func relDst(ds, srcPath string) string {
	return "runs/" + ds + "/" + strings.TrimPrefix(srcPath, "/")
}
