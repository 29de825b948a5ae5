package importer

// A store pipeline's prediction rows (predictions ⋈ arrays), the store's
// own files kept under runs/<ds>/_nirs4all/, and what is left out.

import (
	"context"
	"io/fs"
	"strings"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// rows joins the pipeline's predictions with their arrays; deleted
// (tombstoned) predictions and those without arrays are left out and noted.
func (s *storeImport) rows(pr dbRow, dest string, arrays map[string]storeArrays) []importRow {
	var out []importRow
	tomb, missing := 0, 0
	for _, r := range s.d.Preds[pr.str("pipeline_id")] {
		a, ok := arrays[r.str("prediction_id")]
		switch {
		case a.tomb:
			tomb++
			continue
		case !ok || len(a.yt) != len(a.yp) || len(a.yt) == 0:
			missing++
			continue
		}
		row := importRow{PID: dest, Model: r.str("model_name"), ModelClass: r.str("model_class"),
			Fold: r.str("fold_id"), Partition: r.str("partition"), Task: r.str("task_type"),
			Metric: r.str("metric"), YTrue: a.yt, YPred: a.yp, SampleIdx: a.idx,
			Preproc: r.str("preprocessings")}
		if bp := r.str("best_params"); bp != "" {
			row.BestParams = nirs4all.UnwrapValue(bp)
		}
		if n, ok := nirs4all.AsInt(r["n_features"]); ok {
			row.NFeatures = int(n)
		}
		row.ModelKey = modelKey(row.Model, r.str("chain_id"), "", r.str("branch_id"))
		out = append(out, row)
	}
	if tomb > 0 {
		s.p.note("%s: %d predictions deleted in nirs4all (arrays/_tombstones.json) left out", storeSource(pr), tomb)
	}
	if missing > 0 {
		s.p.note("%s: %d predictions without arrays in %s left out", storeSource(pr), missing, arraysFile(pr.str("dataset_name")))
	}
	return out
}

// planStoreFiles keeps the store's files under runs/<ds>/_nirs4all/:
// store.sqlite (and its -wal), arrays/<ds>.parquet, arrays/_tombstones.json.
// A newer copy replaces an older one, as for the per-dataset files.
func (s *storeImport) planStoreFiles(ctx context.Context, ds string, planned map[string]backing.Digest) error {
	base := "runs/" + ds + "/" + importDir + "/"
	for _, f := range []string{"store.sqlite", "store.sqlite-wal", arraysFile(ds), "arrays/_tombstones.json"} {
		if !isFile(s.src, f) {
			continue
		}
		if err := s.p.sharedOne(ctx, s.src, s.t, f, base+f, "", planned); err != nil {
			return err
		}
	}
	return nil
}

// skipRest lists what the store import leaves out, with the reason.
func (s *storeImport) skipRest() {
	ents, err := fs.ReadDir(s.src, ".")
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		switch {
		case name == "store.sqlite" || name == "store.sqlite-wal":
		case name == "store.sqlite-shm":
			s.skip(name, "SQLite's shared-memory index, rebuilt by SQLite")
		case name == "store.duckdb" || strings.HasPrefix(name, "store.duckdb."):
			s.skip(name, "nirs4all's older DuckDB store: store.sqlite is read instead")
		case name == "arrays" && e.IsDir():
			s.skipArrays()
		case name == "artifacts" && e.IsDir():
			s.skipArtifacts()
		case notImported[name] != "" && name != "arrays" && name != "artifacts":
			s.skip(name+"/", notImported[name])
		default:
			s.skip(name, "not part of a nirs4all store (store.sqlite, arrays/, artifacts/)")
		}
	}
}

func (s *storeImport) skip(p, reason string) {
	s.p.Skipped = append(s.p.Skipped, Skip{Path: p, Reason: reason})
}

func (s *storeImport) skipArrays() {
	ents, err := fs.ReadDir(s.src, "arrays")
	if err != nil {
		s.skip("arrays/", "unreadable: "+err.Error())
		return
	}
	for _, e := range ents {
		n, p := e.Name(), "arrays/"+e.Name()
		switch {
		case n == "_tombstones.json" || s.dsArr[n]:
		case strings.HasSuffix(n, ".lock"):
			s.skip(p, "a lock file of a nirs4all writer")
		case strings.HasSuffix(n, ".parquet.tmp"):
			s.skip(p, "an unfinished nirs4all write (*.parquet.tmp)")
		case strings.HasSuffix(n, ".parquet"):
			s.skip(p, "arrays of a dataset not imported")
		default:
			s.skip(p, "not a dataset's arrays file")
		}
	}
}

func (s *storeImport) skipArtifacts() {
	files, skipped := walkFiles(s.src, "artifacts", ".")
	s.p.Skipped = append(s.p.Skipped, skipped...)
	for _, f := range files {
		if !s.used[strings.TrimPrefix(f, "./")] {
			s.skip("artifacts/"+strings.TrimPrefix(f, "./"), "not used by a chain of an imported pipeline")
		}
	}
}
