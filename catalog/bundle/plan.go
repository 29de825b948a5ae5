package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// Bundle kinds: the three library types, and exports.
const (
	KindFiltered = "filtered"
	KindPipeline = "pipeline"
	KindFullrun  = "fullrun"
	KindExport   = "export"
)

// LibraryKinds are the folders of library/trained/.
var LibraryKinds = []string{KindFiltered, KindPipeline, KindFullrun}

// MetaFile is the description every bundle carries at its root.
const MetaFile = "n4ws_bundle.json"

// Folders of a dataset a bundle keeps next to its pipeline folders.
const (
	binariesDir = "_binaries"
	dataDir     = "_data"
)

// Spec says what to put in a bundle.
type Spec struct {
	Kind              string
	Name              string // library name or export file name
	Dataset, Pipeline string
	Binaries, Data    bool   // exports: add the referenced binaries, the training data
	ExtraData         []File // fullrun --data files, as _data/<name>
	Model, TaskType   string
	Scores            map[string]map[string]float64
}

// Meta is n4ws_bundle.json.
type Meta struct {
	Format    string                        `json:"format"`
	Name      string                        `json:"name"`
	Type      string                        `json:"type"`
	Dataset   string                        `json:"dataset"`
	Pipeline  string                        `json:"pipeline"`
	Pipelines []string                      `json:"pipelines"`
	Model     string                        `json:"model,omitempty"`
	TaskType  string                        `json:"task_type,omitempty"`
	Scores    map[string]map[string]float64 `json:"scores,omitempty"`
	Missing   []string                      `json:"missing_binaries,omitempty"`
	Files     int                           `json:"files"`
	Bytes     int64                         `json:"bytes"`
}

const bundleFormat = "n4ws-bundle/1"

// Plan is the entries of a bundle, its description included.
type Plan struct {
	Files []File
	Meta  Meta
}

// NewPlan lists what a bundle of spec holds. Inside the zip, each
// pipeline folder keeps its name and the dataset's _binaries/ and _data/
// sit next to them, as in runs/<dataset>/: the "../_binaries/X" paths of
// pipeline.json resolve inside the zip; other artifact paths are rewritten
// to that form.
func NewPlan(ctx context.Context, t catalog.Tree, spec Spec) (*Plan, error) {
	dsDir := "runs/" + spec.Dataset
	if _, err := t.Stat(ctx, dsDir+"/"+spec.Pipeline); err != nil {
		return nil, fmt.Errorf("unknown pipeline %s/%s: %w", spec.Dataset, spec.Pipeline, err)
	}
	pids := []string{spec.Pipeline}
	if spec.Kind == KindPipeline || spec.Kind == KindFullrun {
		var err error
		if pids, err = pipelineFolders(ctx, t, dsDir); err != nil {
			return nil, err
		}
	}
	p := &Plan{Meta: Meta{Format: bundleFormat, Name: spec.Name, Type: spec.Kind, Dataset: spec.Dataset,
		Pipeline: spec.Pipeline, Pipelines: pids, Model: spec.Model, TaskType: spec.TaskType, Scores: spec.Scores}}
	bins := map[string]bool{}
	for _, pid := range pids {
		if err := p.addPipeline(ctx, t, spec, dsDir, pid, bins); err != nil {
			return nil, err
		}
	}
	if spec.Kind != KindExport || spec.Binaries {
		if err := p.addBinaries(ctx, t, dsDir, bins); err != nil {
			return nil, err
		}
	}
	if err := p.addData(ctx, t, spec, dsDir); err != nil {
		return nil, err
	}
	return p, p.finish()
}

func pipelineFolders(ctx context.Context, t catalog.Tree, dsDir string) ([]string, error) {
	ents, err := t.List(ctx, dsDir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.Dir && nirs4all.IsPipelineFolder(e.Name) {
			out = append(out, e.Name)
		}
	}
	return out, nil
}

// filteredFile reports whether a filtered bundle keeps a pipeline's file.
func filteredFile(name string) bool {
	switch name {
	case nirs4all.PipelineFile, "manifest.yaml", "metrics.json":
		return true
	}
	return strings.HasPrefix(name, "predictions") && strings.HasSuffix(name, ".csv")
}

func (p *Plan) addPipeline(ctx context.Context, t catalog.Tree, spec Spec, dsDir, pid string, bins map[string]bool) error {
	files, err := walkTree(ctx, t, dsDir+"/"+pid, pid)
	if err != nil {
		return err
	}
	var pipeJSON []byte
	for _, f := range files {
		if spec.Kind == KindFiltered && (path.Dir(f.zip) != pid || !filteredFile(path.Base(f.zip))) {
			continue
		}
		switch f.zip {
		case pid + "/" + nirs4all.PipelineFile:
			if pipeJSON, err = readTreeFile(ctx, t, f.src); err != nil {
				return err
			}
			continue // added once its paths are rewritten
		case pid + "/manifest.yaml":
			if data, err := readTreeFile(ctx, t, f.src); err == nil {
				if info, err := nirs4all.ParseManifest(data); err == nil {
					noteArtifacts(info.Artifacts, bins)
				}
			}
		}
		p.Files = append(p.Files, treeFile(t, f.zip, f.src, f.size))
	}
	if pipeJSON != nil {
		if info, err := nirs4all.ParsePipelineJSON(pipeJSON); err == nil {
			noteArtifacts(info.Artifacts, bins)
			pipeJSON = rewriteArtifactPaths(pipeJSON, info.Artifacts)
		}
		p.Files = append(p.Files, bytesFile(pid+"/"+nirs4all.PipelineFile, pipeJSON))
	}
	return nil
}

// artifactBase is the file name in _binaries/ an artifact path names.
func artifactBase(p string) string {
	return path.Base(strings.ReplaceAll(p, "\\", "/"))
}

func noteArtifacts(arts []catalog.Artifact, bins map[string]bool) {
	for _, a := range arts {
		if b := artifactBase(a.Path); a.Path != "" && b != "." && b != "/" && b != ".." {
			bins[b] = true
		}
	}
}

// rewriteArtifactPaths makes every artifact path of pipeline.json
// "../_binaries/<file>". The file is otherwise left byte for byte.
func rewriteArtifactPaths(data []byte, arts []catalog.Artifact) []byte {
	s := string(data)
	for _, a := range arts {
		want := "../" + binariesDir + "/" + artifactBase(a.Path)
		if a.Path == "" || a.Path == want {
			continue
		}
		from, _ := json.Marshal(a.Path)
		to, _ := json.Marshal(want)
		s = strings.ReplaceAll(s, string(from), string(to))
	}
	return []byte(s)
}

func (p *Plan) addBinaries(ctx context.Context, t catalog.Tree, dsDir string, bins map[string]bool) error {
	names := make([]string, 0, len(bins))
	for b := range bins {
		names = append(names, b)
	}
	sort.Strings(names)
	for _, b := range names {
		src := dsDir + "/" + binariesDir + "/" + b
		e, err := t.Stat(ctx, src)
		if errors.Is(err, fs.ErrNotExist) || err == nil && e.Dir {
			p.Meta.Missing = append(p.Meta.Missing, b)
			continue
		}
		if err != nil {
			return err
		}
		p.Files = append(p.Files, treeFile(t, binariesDir+"/"+b, src, e.Size))
	}
	return nil
}

func (p *Plan) addData(ctx context.Context, t catalog.Tree, spec Spec, dsDir string) error {
	if spec.Kind != KindFullrun && !(spec.Kind == KindExport && spec.Data) {
		return nil
	}
	if len(spec.ExtraData) > 0 {
		for _, f := range spec.ExtraData {
			f.Path = dataDir + "/" + f.Path
			p.Files = append(p.Files, f)
		}
		return nil
	}
	files, err := walkTree(ctx, t, dsDir+"/"+dataDir, dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	for _, f := range files {
		p.Files = append(p.Files, treeFile(t, f.zip, f.src, f.size))
	}
	return err
}

// finish adds the description and checks that no path is there twice.
func (p *Plan) finish() error {
	sort.Slice(p.Files, func(i, j int) bool { return p.Files[i].Path < p.Files[j].Path })
	for i := 1; i < len(p.Files); i++ {
		if p.Files[i].Path == p.Files[i-1].Path {
			return fmt.Errorf("two files would be %s in the zip", p.Files[i].Path)
		}
	}
	p.Meta.Files = len(p.Files)
	for _, f := range p.Files {
		p.Meta.Bytes += f.Size
	}
	meta, err := json.MarshalIndent(p.Meta, "", "  ")
	if err != nil {
		return err
	}
	p.Files = append(p.Files, bytesFile(MetaFile, append(meta, '\n')))
	return nil
}

type walked struct {
	src, zip string
	size     int64
}

// walkTree lists the regular files below dir (symlinks are skipped).
func walkTree(ctx context.Context, t catalog.Tree, dir, zipDir string) ([]walked, error) {
	ents, err := t.List(ctx, dir)
	if err != nil {
		return nil, err
	}
	var out []walked
	for _, e := range ents {
		switch {
		case e.Dir:
			sub, err := walkTree(ctx, t, dir+"/"+e.Name, zipDir+"/"+e.Name)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		case !e.Symlink:
			out = append(out, walked{dir + "/" + e.Name, zipDir + "/" + e.Name, e.Size})
		}
	}
	return out, nil
}

func readTreeFile(ctx context.Context, t catalog.Tree, p string) ([]byte, error) {
	r, err := t.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
