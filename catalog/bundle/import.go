package bundle

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// ImportPlan is what importing a bundle into a dataset writes.
type ImportPlan struct {
	Dataset   string
	Pipelines [][2]string // folder in the zip → new folder of runs/<dataset>/
	Skipped   []string    // shared files already there with the same content
	Ignored   []string    // zip entries that are not part of a pipeline
	writes    []importWrite
}

type importWrite struct {
	dst   string
	entry *ZipEntry
}

// PlanImport decides where each entry of a checked zip goes: every
// pipeline folder of the zip becomes runs/<dataset>/<NNNN>_<name_hash>
// numbered from next; _binaries/ and _data/ go to the dataset's, where a
// file already there must have the same content. Nothing is written.
func PlanImport(ctx context.Context, t catalog.Tree, entries []*ZipEntry, dataset string, next int) (*ImportPlan, error) {
	if err := catalog.CheckDatasetName(dataset); err != nil {
		return nil, err
	}
	p := &ImportPlan{Dataset: dataset}
	groups := map[string][]*ZipEntry{}
	for _, e := range entries {
		top, _, nested := strings.Cut(e.Path, "/")
		switch {
		case nested && (nirs4all.IsPipelineFolder(top) || top == binariesDir || top == dataDir):
			groups[top] = append(groups[top], e)
		case e.Path != MetaFile:
			p.Ignored = append(p.Ignored, e.Path)
		}
	}
	var pids []string
	for top := range groups {
		if nirs4all.IsPipelineFolder(top) {
			pids = append(pids, top)
		}
	}
	if len(pids) == 0 {
		return nil, errors.New("the zip holds no pipeline folder (NNNN_[name_]hash/): not a library or export zip")
	}
	sort.Strings(pids)
	if next+len(pids)-1 > 9999 {
		return nil, fmt.Errorf("dataset %s: pipeline numbers would pass 9999", dataset)
	}
	// Shared files first: an import killed midway (kill -9 skips Apply's
	// clean-up) then never leaves a pipeline folder without its binaries.
	for _, top := range []string{binariesDir, dataDir} {
		for _, e := range groups[top] {
			if err := p.planShared(ctx, t, e); err != nil {
				return nil, err
			}
		}
	}
	for i, pid := range pids {
		dst := fmt.Sprintf("%04d_%s", next+i, pid[5:])
		p.Pipelines = append(p.Pipelines, [2]string{pid, dst})
		for _, e := range groups[pid] {
			p.writes = append(p.writes, importWrite{"runs/" + dataset + "/" + dst + e.Path[len(pid):], e})
		}
	}
	return p, nil
}

// planShared plans a file of _binaries/ or _data/.
func (p *ImportPlan) planShared(ctx context.Context, t catalog.Tree, e *ZipEntry) error {
	dst := "runs/" + p.Dataset + "/" + e.Path
	have, err := t.Stat(ctx, dst)
	if errors.Is(err, fs.ErrNotExist) {
		p.writes = append(p.writes, importWrite{dst, e})
		return nil
	}
	if err != nil {
		return err
	}
	same, err := sameContent(e, have)
	if err != nil {
		return err
	}
	if !same {
		return fmt.Errorf("%s exists with other content than the zip's %s: not overwritten", dst, e.Path)
	}
	p.Skipped = append(p.Skipped, dst)
	return nil
}

func sameContent(e *ZipEntry, have catalog.TreeEntry) (bool, error) {
	if have.Dir || have.Symlink || e.Symlink || have.Size != e.Size {
		return false, nil
	}
	if e.Size == 0 {
		return true, nil
	}
	r, err := e.Open()
	if err != nil {
		return false, fmt.Errorf("read %s in the zip: %w", e.Path, err)
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return false, fmt.Errorf("read %s in the zip: %w", e.Path, err)
	}
	var d backing.Digest
	h.Sum(d[:0])
	return d == have.Digest, nil
}

// Bytes is the content the plan writes.
func (p *ImportPlan) Bytes() int64 {
	var n int64
	for _, w := range p.writes {
		n += w.entry.Size
	}
	return n
}

// Apply writes the plan. On failure it removes what it created, so that
// a failed or interrupted import leaves the dataset as it was; a process
// killed outright leaves the shared files and the pipeline folders written
// so far (the last one possibly incomplete), which fsck finds consistent.
func (p *ImportPlan) Apply(ctx context.Context, t catalog.WritableTree, progress func(done, total int64)) (err error) {
	var created []string
	defer func() {
		if err != nil {
			for _, c := range created {
				t.RemoveAll(context.WithoutCancel(ctx), c)
			}
		}
	}()
	for _, pp := range p.Pipelines {
		created = append(created, "runs/"+p.Dataset+"/"+pp[1])
	}
	var done, total = int64(0), p.Bytes()
	for _, w := range p.writes {
		if !isPipelinePath(p, w.dst) {
			created = append(created, w.dst)
		}
		if err := writeEntry(ctx, t, w); err != nil {
			return fmt.Errorf("import %s: %w", w.entry.Path, err)
		}
		done += w.entry.Size
		if progress != nil {
			progress(done, total)
		}
	}
	return nil
}

func isPipelinePath(p *ImportPlan, dst string) bool {
	for _, pp := range p.Pipelines {
		if strings.HasPrefix(dst, "runs/"+p.Dataset+"/"+pp[1]+"/") {
			return true
		}
	}
	return false
}

func writeEntry(ctx context.Context, t catalog.WritableTree, w importWrite) error {
	if w.entry.Symlink {
		return t.Symlink(ctx, w.dst, w.entry.Target)
	}
	r, err := w.entry.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	return t.WriteFile(ctx, w.dst, r)
}
