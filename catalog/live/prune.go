package live

// Files the projection wrote and no longer produces. When nirs4all drops
// artifacts of a pipeline (per-fold models after a refit, the artifact
// rows of a deleted run) or a file of its folder (error.log of a pipeline
// run again), the pipeline's projection no longer lists them: a folder
// file is removed at once; a runs/<ds>/_binaries/ file (shared by the
// dataset's pipelines) is removed at the end of the pass when nothing
// uses it any more. Only files a mapping records (live_pipelines.files)
// are ever removed: the projection never touches what others wrote.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/importer"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

const binariesPrefix = "_binaries/"

// staleBinaries are _binaries/ files a mapping stopped listing during a
// pass: dataset → name → the digest recorded when it was written.
type staleBinaries map[string]map[string]string

func (s staleBinaries) add(ds, name, digest string) {
	if s[ds] == nil {
		s[ds] = map[string]string{}
	}
	s[ds][name] = digest
}

// dropUnproduced forgets the files m records that the projection proj no
// longer produces: folder files are removed from dir now, _binaries/ ones
// are noted in stale for removeStaleBinaries.
func (p *Projector) dropUnproduced(ctx context.Context, m *mapping, dir string, proj importer.Projected, stale staleBinaries, rep *Report) error {
	produced := make(map[string]bool, len(proj.Files)+len(proj.Binaries))
	for n := range proj.Files {
		produced[n] = true
	}
	for _, b := range proj.Binaries {
		produced[binariesPrefix+b.Name] = true
	}
	for _, key := range sortedKeys(m.files) {
		if produced[key] {
			continue
		}
		digest := m.files[key]
		delete(m.files, key)
		if name, ok := strings.CutPrefix(key, binariesPrefix); ok {
			stale.add(m.dataset, name, digest)
			continue
		}
		if err := p.removeIfHolds(ctx, dir+"/"+key, digest, rep); err != nil {
			return err
		}
	}
	return nil
}

// removeStaleBinaries removes each stale runs/<ds>/_binaries/<name> that
// still holds what the projection wrote there and that nothing uses: no
// live pipeline lists it, and no other pipeline folder of the dataset
// (copied or imported there) references it. The pipelines are read again
// from the index (this pass's are saved by then): on a team store another
// machine's projection may have listed the file since this pass began.
func (p *Projector) removeStaleBinaries(ctx context.Context, stale staleBinaries, rep *Report) error {
	if len(stale) == 0 {
		return nil
	}
	maps, err := p.loadMappings(ctx)
	if err != nil {
		return err
	}
	for _, ds := range sortedKeys(stale) {
		live := map[string]bool{} // folders of the dataset's live pipelines
		for _, m := range maps {
			if m.dataset != ds || m.deleted {
				continue
			}
			live[m.folder] = true
			for key := range m.files {
				if name, ok := strings.CutPrefix(key, binariesPrefix); ok {
					delete(stale[ds], name)
				}
			}
		}
		if len(stale[ds]) == 0 {
			continue
		}
		if err := p.keepReferenced(ctx, ds, live, stale[ds]); err != nil {
			return err
		}
		for _, name := range sortedKeys(stale[ds]) {
			if err := p.removeIfHolds(ctx, "runs/"+ds+"/"+binariesPrefix+name, stale[ds][name], rep); err != nil {
				return err
			}
		}
	}
	return nil
}

// keepReferenced drops from names those a pipeline folder of runs/<ds>
// other than the live ones references (its manifest.yaml or
// pipeline.json lists the artifact).
func (p *Projector) keepReferenced(ctx context.Context, ds string, live map[string]bool, names map[string]string) error {
	tree := catalog.StoreTree{S: p.opts.Store}
	ents, err := tree.List(ctx, "runs/"+ds)
	if err != nil {
		return fmt.Errorf("list runs/%s: %w", ds, err)
	}
	for _, e := range ents {
		if !e.Dir || live[e.Name] || strings.HasPrefix(e.Name, "_") {
			continue
		}
		for _, f := range []string{nirs4all.ManifestFile, nirs4all.PipelineFile} {
			data, err := readTreeFile(ctx, tree, "runs/"+ds+"/"+e.Name+"/"+f)
			if err != nil {
				continue // no such file: it references nothing
			}
			parse := nirs4all.ParseManifest
			if f == nirs4all.PipelineFile {
				parse = nirs4all.ParsePipelineJSON
			}
			info, _ := parse(data)
			for _, a := range info.Artifacts {
				delete(names, path.Base(strings.ReplaceAll(a.Path, "\\", "/")))
			}
		}
	}
	return nil
}

// removeIfHolds removes the stored file p if it still holds digest (hex),
// the content the projection wrote: a file replaced since is someone
// else's.
func (p *Projector) removeIfHolds(ctx context.Context, file, digest string, rep *Report) error {
	a, err := p.opts.Store.ResolvePath(ctx, file)
	if errors.Is(err, backing.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if a.IsDir() || a.Blob.String() != digest {
		return nil
	}
	if _, err := p.opts.Store.RemoveAll(ctx, file); err != nil && !errors.Is(err, backing.ErrNotFound) {
		return err
	}
	rep.Stale = append(rep.Stale, file)
	return nil
}

func readTreeFile(ctx context.Context, t catalog.StoreTree, p string) ([]byte, error) {
	r, err := t.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
