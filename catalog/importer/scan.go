package importer

// What a nirs4all folder workspace holds (FORMATS.md §0, §1): run folders
// of eras A/B (runs/YYYY-MM-DD_<ds>/) and C (runs/<ds>/), the per-dataset
// prediction files at the root, era C's binaries/<ds>/, and what is not
// imported (exports/, library/, ...), with the reason.

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// Skip is a source entry left out, and why.
type Skip struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// wsRun is one run folder.
type wsRun struct {
	Dir       string   // runs/<name>
	Dated     bool     // era A/B
	Pipelines []string // pipeline folder names, sorted
	Others    []string // other files, relative to Dir (best_*.csv, _binaries/..)
}

// wsDataset gathers a dataset's sources.
type wsDataset struct {
	Name     string
	Runs     []*wsRun // dated runs by date, then the era C folder
	Files    []string // root-level <ds>.json, <ds>.meta.parquet, <ds>.arrays.parquet
	Binaries []string // binaries/<ds>/**
}

// wsSource is a scanned workspace.
type wsSource struct {
	Datasets map[string]*wsDataset
	Skipped  []Skip
}

var datedRun = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}_(.+)$`)

// Root entries nirs4all made that n4ws does not import, with the reason.
var notImported = map[string]string{
	"exports":   "nirs4all exports are recomputed by n4ws (exports/<ds>/)",
	"library":   "nirs4all library folders are not imported (use n4ws library save)",
	"catalog":   "nirs4all catalog Parquet files are recomputed by n4ws (catalog/)",
	"results":   "era 0 results/ beside runs/: import a copy of the workspace without runs/ to bring it in",
	"artifacts": "part of a nirs4all store (store.sqlite) beside runs/: import a copy without runs/ to bring it in",
	"arrays":    "part of a nirs4all store (store.sqlite) beside runs/: import a copy without runs/ to bring it in",
}

// ErrNotWorkspace is returned for a folder nirs4all did not make.
var ErrNotWorkspace = errors.New("not a nirs4all workspace")

// scanWorkspace reads the layout of a folder workspace.
func scanWorkspace(src fs.FS) (*wsSource, error) {
	ents, err := fs.ReadDir(src, ".")
	if err != nil {
		return nil, err
	}
	w := &wsSource{Datasets: map[string]*wsDataset{}}
	var rootFiles []string
	hasRuns := false
	for _, e := range ents {
		name := e.Name()
		switch {
		case name == "runs" && e.IsDir():
			hasRuns = true
			if err := w.scanRuns(src); err != nil {
				return nil, err
			}
		case name == "binaries" && e.IsDir():
		case e.Type().IsRegular():
			rootFiles = append(rootFiles, name)
		case notImported[name] != "":
			w.skip(name+"/", notImported[name])
		default:
			w.skip(name, "not part of a nirs4all workspace")
		}
	}
	if !hasRuns {
		return nil, notWorkspaceError(src, ents)
	}
	if len(w.Datasets) == 0 {
		return nil, fmt.Errorf("%w: runs/ holds no pipeline folder (NNNN_<name>_<hash>/)", ErrNotWorkspace)
	}
	w.assignRootFiles(rootFiles)
	w.scanBinaries(src)
	for _, d := range w.Datasets {
		sort.SliceStable(d.Runs, func(i, j int) bool { return runOrder(d.Runs[i]) < runOrder(d.Runs[j]) })
	}
	return w, nil
}

func runOrder(r *wsRun) string {
	if r.Dated {
		return "0" + r.Dir
	}
	return "1" + r.Dir
}

func notWorkspaceError(src fs.FS, ents []fs.DirEntry) error {
	for _, e := range ents {
		switch e.Name() {
		case "store.sqlite", "store.duckdb":
			return fmt.Errorf("%w folder: %s is a nirs4all store (FORMATS §6), whose import is not supported yet", ErrNotWorkspace, e.Name())
		case "results":
			return fmt.Errorf("%w folder of a supported era: results/ is era 0, whose import is not supported yet", ErrNotWorkspace)
		}
		if e.IsDir() {
			if st, err := fs.Stat(src, e.Name()+"/runs"); err == nil && st.IsDir() {
				return fmt.Errorf("%w: no runs/ here, but %s/runs/ exists: import %s/ instead", ErrNotWorkspace, e.Name(), e.Name())
			}
		}
	}
	return fmt.Errorf("%w: no runs/ folder (nor results/ or store.sqlite)", ErrNotWorkspace)
}

func (w *wsSource) skip(p, reason string) {
	w.Skipped = append(w.Skipped, Skip{Path: p, Reason: reason})
}

func (w *wsSource) dataset(name string) *wsDataset {
	d := w.Datasets[name]
	if d == nil {
		d = &wsDataset{Name: name}
		w.Datasets[name] = d
	}
	return d
}

// scanRuns reads runs/: each folder is a run of era A/B or C.
func (w *wsSource) scanRuns(src fs.FS) error {
	ents, err := fs.ReadDir(src, "runs")
	if err != nil {
		return err
	}
	for _, e := range ents {
		p := "runs/" + e.Name()
		if !e.IsDir() {
			w.skip(p, "a file directly in runs/, outside any run folder")
			continue
		}
		run := &wsRun{Dir: p}
		ds := e.Name()
		if m := datedRun.FindStringSubmatch(ds); m != nil {
			run.Dated, ds = true, m[1]
		}
		if err := catalog.CheckDatasetName(ds); err != nil {
			w.skip(p+"/", "dataset name: "+err.Error())
			continue
		}
		if err := w.scanRun(src, run); err != nil {
			return err
		}
		if len(run.Pipelines) == 0 {
			w.skip(p+"/", "no pipeline folder (NNNN_<name>_<hash>/) inside")
			continue
		}
		d := w.dataset(ds)
		d.Runs = append(d.Runs, run)
	}
	return nil
}

// scanRun lists a run folder's pipelines and its other files.
func (w *wsSource) scanRun(src fs.FS, run *wsRun) error {
	ents, err := fs.ReadDir(src, run.Dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() && nirs4all.IsPipelineFolder(e.Name()) {
			run.Pipelines = append(run.Pipelines, e.Name())
			continue
		}
		files, skipped := walkFiles(src, run.Dir, e.Name())
		run.Others = append(run.Others, files...)
		w.Skipped = append(w.Skipped, skipped...)
	}
	return nil
}

// walkFiles lists the regular files at or below dir/rel, as paths
// relative to dir. Symlinks and special files are skipped with a reason.
func walkFiles(src fs.FS, dir, rel string) ([]string, []Skip) {
	var files []string
	var skipped []Skip
	fs.WalkDir(src, path.Join(dir, rel), func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			skipped = append(skipped, Skip{p, "unreadable: " + err.Error()})
		case d.Type().IsRegular():
			files = append(files, strings.TrimPrefix(p, dir+"/"))
		case !d.IsDir():
			skipped = append(skipped, Skip{p, "not a regular file (symlink or special file)"})
		}
		return nil
	})
	return files, skipped
}

// assignRootFiles files <ds>.json and <ds>.{meta,arrays}.parquet under
// their dataset; other root files are skipped.
func (w *wsSource) assignRootFiles(names []string) {
	for _, n := range names {
		ds := ""
		for _, suf := range []string{".meta.parquet", ".arrays.parquet", ".json"} {
			if strings.HasSuffix(n, suf) {
				ds = strings.TrimSuffix(n, suf)
				break
			}
		}
		if d := w.Datasets[ds]; d != nil && ds != "" {
			d.Files = append(d.Files, n)
			continue
		}
		w.skip(n, "a root file that is no dataset's prediction file (<ds>.json, <ds>.meta.parquet, <ds>.arrays.parquet)")
	}
}

// scanBinaries files era C's binaries/<ds>/ under their dataset.
func (w *wsSource) scanBinaries(src fs.FS) {
	ents, err := fs.ReadDir(src, "binaries")
	if err != nil {
		return
	}
	for _, e := range ents {
		d := w.Datasets[e.Name()]
		if d == nil || !e.IsDir() {
			w.skip("binaries/"+e.Name(), "no run folder of this dataset")
			continue
		}
		files, skipped := walkFiles(src, "binaries/"+e.Name(), ".")
		for _, f := range files {
			d.Binaries = append(d.Binaries, strings.TrimPrefix(f, "./"))
		}
		w.Skipped = append(w.Skipped, skipped...)
	}
}
