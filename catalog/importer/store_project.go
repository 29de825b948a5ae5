package importer

// The one mapping from a nirs4all store (FORMATS.md §6) to pipeline
// folders, shared by `n4ws import` and the mount's live projection
// (catalog/live): a Snapshot of store.sqlite plus the workspace's arrays/
// and artifacts/, and Project, which gives one pipeline's folder content.

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// Snapshot is one consistent reading of a nirs4all workspace: the rows of
// store.sqlite, and its arrays/ and artifacts/ read on demand from src.
type Snapshot struct {
	d      *storeData
	src    fs.FS
	arrays map[string]map[string]storeArrays // dataset → prediction_id →
	tomb   map[string]bool                   // prediction_ids in arrays/_tombstones.json
	cache  *ArraysCache                      // nil: arrays read from src every time
	notes  []string

	pipes     []StorePipeline                // Pipelines, built once
	byName    map[[3]string]StorePipeline    // run, dataset, name → first such pipeline (cvPipeline)
	chainStrs map[[sha256.Size]byte][]string // chain row digest → chainStrings (nil: not kept)
}

// StorePipeline is one row of the pipelines table.
type StorePipeline struct {
	ID, Dataset, Name, Status, RunID string
	row                              dbRow
}

// Projected is the content of one pipeline's folder.
type Projected struct {
	Files       map[string][]byte // name in the folder → content
	Binaries    []Binary          // files of runs/<ds>/_binaries/ its chains use
	Synthesized bool              // metrics.json and predictions.csv from its predictions
	Notes       []string
}

// Binary is an artifact file shown in runs/<ds>/_binaries/.
type Binary struct {
	Name   string         // file name in _binaries/
	Source string         // artifacts/<aa>/<file> in the workspace
	Digest backing.Digest // its SHA-256 (content_hash), zero when the store has none
	Size   int64
}

// LoadSnapshot reads src's store.sqlite consistently (readStore).
func LoadSnapshot(ctx context.Context, src fs.FS) (*Snapshot, error) {
	d, err := readStore(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("store.sqlite: %w", err)
	}
	return newSnapshot(d, src), nil
}

func newSnapshot(d *storeData, src fs.FS) *Snapshot {
	s := &Snapshot{d: d, src: src, arrays: map[string]map[string]storeArrays{}}
	if d.Version != 5 {
		s.note("store.sqlite: schema version %d, not 5: read by column name as far as it goes", d.Version)
	}
	return s
}

func (s *Snapshot) note(format string, args ...any) {
	s.notes = append(s.notes, fmt.Sprintf(format, args...))
}

// Pipelines lists the store's pipelines in creation order (created_at,
// ties by insertion order), the order their folders are numbered in.
func (s *Snapshot) Pipelines() []StorePipeline {
	if s.pipes == nil {
		s.pipes = make([]StorePipeline, 0, len(s.d.Pipelines))
		for _, pr := range s.d.Pipelines {
			s.pipes = append(s.pipes, StorePipeline{ID: pr.str("pipeline_id"), Dataset: pr.str("dataset_name"),
				Name: pr.str("name"), Status: pr.str("status"), RunID: pr.str("run_id"), row: pr})
		}
	}
	return slices.Clone(s.pipes)
}

// FolderName is the folder a pipeline gets under number n: NNNN_<name>.
func FolderName(n int, p StorePipeline) string {
	return fmt.Sprintf("%04d_%s", n, folderName(p.Name))
}

// Done reports whether nirs4all finished with the pipeline: a running one
// is projected as far as it goes and looked at again.
func (p StorePipeline) Done() bool { return p.Status == "completed" || p.Status == "failed" }

// Manifest gives only the manifest.yaml of pipeline p named dest: what
// Project gives as that file, for a folder whose other files are
// unchanged (RunFingerprint changed, Fingerprint did not).
func (s *Snapshot) Manifest(p StorePipeline, dest string) []byte {
	var scratch Projected
	return s.manifest(p.row, dest, s.binaries(p.ID, &scratch))
}

// Project gives the folder of pipeline p named dest (NNNN_<name>).
func (s *Snapshot) Project(p StorePipeline, dest string) Projected {
	out := Projected{Files: map[string][]byte{}}
	bins := s.binaries(p.ID, &out)
	out.Files[nirs4all.ManifestFile] = s.manifest(p.row, dest, bins)
	cfg := p.row.str("expanded_config")
	if cfg == "" {
		cfg = "[]"
	}
	if !strings.HasSuffix(cfg, "\n") {
		cfg += "\n"
	}
	out.Files[nirs4all.PipelineFile] = []byte(cfg)
	rows := s.rows(p, dest, &out)
	var cvRows []importRow
	for _, cv := range s.cvPipeline(p) {
		cvRows = append(cvRows, s.rows(cv, dest, &out)...)
	}
	if sy, ok := synthesizeWithCV(rows, cvRows); ok {
		out.Synthesized = true
		out.Files[nirs4all.MetricsFile] = sy.Metrics
		out.Files[nirs4all.PredictionsFile] = sy.Predictions
		if sy.Note != "" {
			out.Notes = append(out.Notes, sy.Note)
		}
	} else if p.Done() {
		out.Notes = append(out.Notes, fmt.Sprintf("no prediction with arrays (status %q): no metrics.json nor predictions.csv", p.Status))
	}
	if name, data, ok := s.foldsCSV(p); ok {
		out.Files[name] = data
	}
	if e := p.row.str("error"); e != "" {
		out.Files["error.log"] = []byte(e + "\n")
	}
	return out
}

// cvPipeline is, for a refit pipeline (<name>_refit, nirs4all's
// refit/executor.py), the cross-validation pipeline it refits: same run,
// dataset and name without the suffix. Its folds give metrics.json's
// cross_validation.
func (s *Snapshot) cvPipeline(p StorePipeline) []StorePipeline {
	base, ok := strings.CutSuffix(p.Name, "_refit")
	if !ok {
		return nil
	}
	if s.byName == nil {
		s.byName = map[[3]string]StorePipeline{}
		for _, q := range s.Pipelines() {
			k := [3]string{q.RunID, q.Dataset, q.Name}
			if _, taken := s.byName[k]; !taken {
				s.byName[k] = q
			}
		}
	}
	if q, ok := s.byName[[3]string{p.RunID, p.Dataset, base}]; ok {
		return []StorePipeline{q}
	}
	return nil
}

// artifactIDs lists, sorted, the artifact ids the pipeline's chains name.
func (s *Snapshot) artifactIDs(pid string) []string {
	ids := map[string]bool{}
	for _, ch := range s.d.Chains[pid] {
		for _, str := range s.chainStrings(ch) {
			if _, ok := s.d.Artifacts[str]; ok {
				ids[str] = true
			}
		}
	}
	return sortedIDs(ids)
}

// chainStrings lists the strings of one chain row, its JSON columns
// decoded: the candidates for artifact ids (an artifact row may come or
// go while the chain stays). A StoreReader keeps them across snapshots,
// by the row's digest, so that an unchanged chain is decoded once.
func (s *Snapshot) chainStrings(ch dbRow) []string {
	d, memo := ch[rowDigestKey].([sha256.Size]byte)
	memo = memo && s.chainStrs != nil
	if memo {
		if strs, ok := s.chainStrs[d]; ok {
			return strs
		}
	}
	set := map[string]bool{}
	collectStrings(rowMap(ch), set)
	strs := sortedIDs(set)
	if memo {
		s.chainStrs[d] = strs
	}
	return strs
}

// collectStrings adds every string found in v (decoded JSON) to set.
func collectStrings(v any, set map[string]bool) {
	switch x := v.(type) {
	case string:
		set[x] = true
	case []any:
		for _, e := range x {
			collectStrings(e, set)
		}
	case map[string]any:
		for _, e := range x {
			collectStrings(e, set)
		}
	}
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// binaries maps the pipeline's artifact ids to their _binaries/ names: the
// artifact file's own name (<type>_<Class>_<sha12>.<ext>), or, for the
// older <sha256>.<ext> names, one built the same way. Rows sharing a file
// share the name.
func (s *Snapshot) binaries(pid string, out *Projected) map[string]string {
	names := map[string]string{}
	seen := map[string]bool{}
	for _, id := range s.artifactIDs(pid) {
		a := s.d.Artifacts[id]
		ap := a.str("artifact_path")
		if ap == "" || !fs.ValidPath("artifacts/"+ap) {
			out.Notes = append(out.Notes, fmt.Sprintf("artifact %s (%s): no usable artifact_path %q", id, a.str("operator_class"), ap))
			continue
		}
		name := path.Base(ap)
		hexd := strings.TrimPrefix(a.str("content_hash"), "sha256:")
		if hex64.MatchString(strings.TrimSuffix(name, path.Ext(name))) {
			typ := a.str("artifact_type")
			if typ == "" {
				typ = "artifact"
			}
			name = fmt.Sprintf("%s_%s_%s%s", folderName(typ), binClass(a.str("operator_class")), name[:12], path.Ext(name))
		}
		names[id] = name
		if seen[ap] {
			continue
		}
		seen[ap] = true
		b := Binary{Name: name, Source: "artifacts/" + ap}
		if d, err := backing.ParseDigest(hexd); err == nil {
			b.Digest = d
		}
		if n, ok := asInt64(a["size_bytes"]); ok {
			b.Size = n
		}
		out.Binaries = append(out.Binaries, b)
	}
	sort.Slice(out.Binaries, func(i, j int) bool { return out.Binaries[i].Name < out.Binaries[j].Name })
	return names
}

func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return int64(x), true
	}
	return 0, false
}

// datasetArrays loads arrays/<ds>.parquet once per snapshot.
func (s *Snapshot) datasetArrays(ds string) map[string]storeArrays {
	if a, ok := s.arrays[ds]; ok {
		return a
	}
	if s.tomb == nil {
		s.tomb = readTombstones(s.src, s.note)
	}
	f := arraysFile(ds)
	read := func() (map[string]storeArrays, bool) {
		n := len(s.notes)
		a := loadArraysFile(s.src, f, s.note)
		return a, len(s.notes) == n
	}
	var a map[string]storeArrays
	if s.cache != nil {
		a = s.cache.load(f, read)
	} else {
		a, _ = read()
	}
	s.arrays[ds] = a
	return a
}

// Notes lists what the snapshot could not read.
func (s *Snapshot) Notes() []string { return s.notes }
