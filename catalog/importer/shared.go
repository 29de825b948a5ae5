package importer

// Dataset-level files of a workspace import (run-level files such as
// best_<pid>.csv and _binaries/, era C's binaries/<ds>/, the per-dataset
// prediction files), the prediction rows, and applying a plan.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
)

// importDir is the folder of runs/<ds>/ that keeps the workspace's
// per-dataset files, nirs4all's best_<pid>.csv (a stored file of that name
// would hide the one n4ws computes) and files that clashed with others of
// the same name.
const importDir = "_nirs4all"

// loadRows reads the dataset's prediction files. Parquet rows (eras B, C)
// win over era A's JSON rows for the same pipeline. A file that cannot be
// read is noted; it is still stored as is.
func (p *Plan) loadRows(src fs.FS, d *wsDataset) map[string][]importRow {
	has := map[string]bool{}
	for _, f := range d.Files {
		has[f] = true
	}
	out := map[string][]importRow{}
	if j := d.Name + ".json"; has[j] {
		rows, note, err := readRowsFile(src, j, "", rowsFromJSON2)
		p.rowsNote(j, note, err)
		out = groupRows(rows)
	}
	meta, arrays := d.Name+".meta.parquet", d.Name+".arrays.parquet"
	switch {
	case has[meta] && has[arrays]:
		rows, note, err := readRowsFile(src, meta, arrays, rowsFromParquet)
		p.rowsNote(meta, note, err)
		for pid, r := range groupRows(rows) {
			out[pid] = r
		}
	case has[meta] || has[arrays]:
		p.note("%s: %s and %s must both be present to read predictions", d.Name, meta, arrays)
	}
	return out
}

func rowsFromJSON2(data, _ []byte) ([]importRow, string, error) { return rowsFromJSON(data) }

func readRowsFile(src fs.FS, a, b string, parse func(a, b []byte) ([]importRow, string, error)) ([]importRow, string, error) {
	da, err := fs.ReadFile(src, a)
	if err != nil {
		return nil, "", err
	}
	var db []byte
	if b != "" {
		if db, err = fs.ReadFile(src, b); err != nil {
			return nil, "", err
		}
	}
	return parse(da, db)
}

func (p *Plan) rowsNote(file, note string, err error) {
	switch {
	case err != nil:
		p.note("%s: cannot read predictions (%v): stored as is, no metrics synthesised from it", file, err)
	case note != "":
		p.note("%s: %s", file, note)
	}
}

// planShared plans the dataset-level files.
func (p *Plan) planShared(ctx context.Context, src fs.FS, t catalog.Tree, d *wsDataset) error {
	planned := map[string]backing.Digest{}
	base := "runs/" + d.Name + "/"
	for _, run := range d.Runs {
		for _, rel := range run.Others {
			dst, alt := relDst(d.Name, rel), base+importDir+"/"+path.Base(run.Dir)+"/"+rel
			if catalog.IsDatasetViewName(rel) {
				// n4ws computes best_<pid>.csv itself: a stored copy of
				// nirs4all's would hide it, so the original goes aside.
				dst = base + importDir + "/" + rel
			}
			if err := p.sharedOne(ctx, src, t, run.Dir+"/"+rel, dst, alt, planned); err != nil {
				return err
			}
		}
	}
	for _, rel := range d.Binaries {
		alt := base + importDir + "/binaries/" + rel
		if err := p.sharedOne(ctx, src, t, "binaries/"+d.Name+"/"+rel, base+"_binaries/"+rel, alt, planned); err != nil {
			return err
		}
	}
	for _, name := range d.Files {
		if err := p.sharedOne(ctx, src, t, name, base+importDir+"/"+name, "", planned); err != nil {
			return err
		}
	}
	return nil
}

// sharedOne plans one dataset-level file: written when absent, nothing
// when the same content is there, else (alt "") replaced — the
// per-dataset files hold all runs, so a newer one supersedes — or written
// to alt, keeping both.
func (p *Plan) sharedOne(ctx context.Context, src fs.FS, t catalog.Tree, srcPath, dst, alt string, planned map[string]backing.Digest) error {
	f, err := hashFile(src, srcPath)
	if err != nil {
		p.Skipped = append(p.Skipped, Skip{srcPath, "unreadable: " + err.Error()})
		return nil
	}
	for _, cand := range []string{dst, alt} {
		if cand == "" {
			break
		}
		if d, ok := planned[cand]; ok {
			if d == f.digest {
				return nil
			}
			continue
		}
		have, err := t.Stat(ctx, cand)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		case !have.Dir && have.Size == f.size && have.Digest == f.digest:
			p.Unchanged++
			return nil
		case alt != "" || have.Dir:
			continue
		default:
			p.note("%s: replaced by the workspace's newer %s", cand, srcPath)
		}
		if cand == alt {
			p.note("%s differs from %s already there: kept as %s", srcPath, dst, alt)
		}
		planned[cand] = f.digest
		p.writes = append(p.writes, wsWrite{dst: cand, src: srcPath, size: f.size, mtime: f.mtime})
		return nil
	}
	p.note("%s: %s and %s both hold other content: not imported", srcPath, dst, alt)
	return nil
}

// WriteFunc stores r as the file dst of the store, with modification time
// mtime.
type WriteFunc func(ctx context.Context, dst string, r io.Reader, mtime time.Time) error

// Apply writes the plan. A source file that cannot be read any more is
// skipped and reported; a store error stops the import and removes the
// pipeline folders it created, so that a later import starts clean.
func (p *Plan) Apply(ctx context.Context, src fs.FS, write WriteFunc, removeAll func(ctx context.Context, p string) error, progress func(done, total int64)) (err error) {
	var created []string
	seen := map[string]bool{}
	defer func() {
		if err != nil {
			for _, c := range created {
				removeAll(context.WithoutCancel(ctx), c)
			}
		}
	}()
	var done, total = int64(0), p.Bytes()
	for _, w := range p.writes {
		if w.pipeline != "" && !seen[w.pipeline] {
			seen[w.pipeline] = true
			created = append(created, w.pipeline)
		}
		r, rerr := p.openWrite(src, w)
		if rerr != nil {
			p.Skipped = append(p.Skipped, Skip{w.src, "unreadable: " + rerr.Error()})
			continue
		}
		err = write(ctx, w.dst, r, w.mtime)
		r.Close()
		if err != nil {
			return fmt.Errorf("import %s: %w", strings.TrimPrefix(w.dst, "/"), err)
		}
		done += w.size
		if progress != nil {
			progress(done, total)
		}
	}
	return nil
}

func (p *Plan) openWrite(src fs.FS, w wsWrite) (io.ReadCloser, error) {
	if w.src == "" {
		return io.NopCloser(bytes.NewReader(w.data)), nil
	}
	return src.Open(w.src)
}
