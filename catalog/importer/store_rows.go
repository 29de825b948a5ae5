package importer

// A store pipeline's prediction rows (predictions ⋈ arrays), the store's
// own files kept under runs/<ds>/_nirs4all/, and what is left out.

import (
	"context"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// rows joins the pipeline's predictions with their arrays; deleted
// (tombstoned) predictions and those without arrays are left out and noted.
func (s *Snapshot) rows(p StorePipeline, dest string, out *Projected) []importRow {
	var rows []importRow
	tomb, missing := 0, 0
	arrays := s.datasetArrays(p.Dataset)
	for _, r := range s.d.Preds[p.ID] {
		a, ok := arrays[r.str("prediction_id")]
		switch {
		case s.tomb[r.str("prediction_id")]:
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
		rows = append(rows, row)
	}
	if tomb > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d predictions deleted in nirs4all (arrays/_tombstones.json) left out", tomb))
	}
	if missing > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d predictions without arrays in %s left out", missing, arraysFile(p.Dataset)))
	}
	return rows
}

// foldsCSV writes folds_<Splitter>.csv (FORMATS.md §3.4) from the train
// rows of the numbered folds: column fold_i lists fold i's train sample
// indices. ok is false when the store does not say them.
func (s *Snapshot) foldsCSV(p StorePipeline) (string, []byte, bool) {
	arrays := s.datasetArrays(p.Dataset)
	train := map[int][]float64{}
	k := 0
	for _, r := range s.d.Preds[p.ID] {
		f, err := strconv.Atoi(r.str("fold_id"))
		a, ok := arrays[r.str("prediction_id")]
		if err != nil || f < 0 || f > 999 || r.str("partition") != "train" || !ok || len(a.idx) == 0 || s.tomb[r.str("prediction_id")] {
			continue
		}
		train[f], k = a.idx, max(k, f+1)
	}
	if len(train) == 0 || len(train) != k {
		return "", nil, false
	}
	var b strings.Builder
	rowsN := 0
	for f := 0; f < k; f++ {
		if f > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "fold_%d", f)
		rowsN = max(rowsN, len(train[f]))
	}
	b.WriteByte('\n')
	for i := 0; i < rowsN; i++ {
		for f := 0; f < k; f++ {
			if f > 0 {
				b.WriteByte(',')
			}
			if i < len(train[f]) {
				b.WriteString(strconv.FormatFloat(train[f][i], 'f', -1, 64))
			}
		}
		b.WriteByte('\n')
	}
	return "folds_" + s.splitter(p.ID) + ".csv", []byte(b.String()), true
}

// splitter is the short class of the chain step that splits (KFold...).
func (s *Snapshot) splitter(pid string) string {
	for _, ch := range s.d.Chains[pid] {
		steps, _ := jsonValue(ch.str("steps")).([]any)
		for _, st := range steps {
			m, _ := st.(map[string]any)
			c := folderName(nirs4all.ShortClass(asStr(m["operator_class"])))
			if strings.Contains(c, "Fold") || strings.Contains(c, "Split") {
				return c
			}
		}
	}
	return "cv"
}

// planStoreFiles keeps the dataset's raw arrays under runs/<ds>/_nirs4all/:
// arrays/<ds>.parquet and arrays/_tombstones.json (they may hold X and
// spectra, which no pipeline file shows). A newer copy replaces an older
// one, as for the per-dataset files. store.sqlite itself is not copied:
// its rows are the pipeline folders.
func (s *storeImport) planStoreFiles(ctx context.Context, ds string, planned map[string]backing.Digest) error {
	base := "runs/" + ds + "/" + importDir + "/"
	for _, f := range []string{arraysFile(ds), "arrays/_tombstones.json"} {
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
		case name == "store.sqlite":
			s.skip(name, "read through a consistent snapshot: each of its pipelines is a folder of runs/<dataset>/")
		case name == "store.sqlite-wal":
			s.skip(name, "SQLite's write-ahead log: read as part of store.sqlite's snapshot")
		case name == "store.sqlite-shm":
			s.skip(name, "SQLite's shared-memory index, rebuilt by SQLite")
		case name == "runs" && e.IsDir():
			s.skip("runs/", "pipeline folders beside a store.sqlite: the store is imported (as nirs4all itself reads it); import such folders on their own by moving them to a workspace of their own")
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
