package importer

// The files of a projected store pipeline: manifest.yaml from the
// pipelines, chains and artifacts tables, and the prediction arrays of
// arrays/<ds>.parquet.

import (
	"errors"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// storeManifest is the manifest.yaml of an imported store pipeline: the
// keys of §3.1 first, then the store's own rows.
type storeManifest struct {
	PipelineID      string           `yaml:"pipeline_id"`
	Name            string           `yaml:"name"`
	Dataset         string           `yaml:"dataset"`
	CreatedAt       string           `yaml:"created_at,omitempty"`
	Version         string           `yaml:"version"`
	StorePipelineID string           `yaml:"store_pipeline_id"`
	Pipeline        map[string]any   `yaml:"pipeline"`
	Artifacts       []map[string]any `yaml:"artifacts"`
	StorePipeline   map[string]any   `yaml:"store_pipeline"`
	Run             map[string]any   `yaml:"store_run,omitempty"`
	Chains          []map[string]any `yaml:"store_chains"`
}

func (s *Snapshot) manifest(pr dbRow, dest string, bins map[string]string) []byte {
	steps := jsonValue(pr.str("expanded_config"))
	if m, ok := steps.(map[string]any); ok {
		for _, k := range []string{"steps", "pipeline"} {
			if a, ok := m[k].([]any); ok {
				steps = a
				break
			}
		}
	}
	if _, ok := steps.([]any); !ok {
		steps = []any{}
	}
	m := storeManifest{PipelineID: dest, Name: pr.str("name"), Dataset: pr.str("dataset_name"),
		CreatedAt: pr.str("created_at"), Version: "1.0", StorePipelineID: pr.str("pipeline_id"),
		Pipeline: map[string]any{"steps": steps}, StorePipeline: rowMap(pr, "expanded_config", "n4ws_rowid"),
		Artifacts: []map[string]any{}, Chains: []map[string]any{}}
	if run, ok := s.d.Runs[pr.str("run_id")]; ok {
		m.Run = rowMap(run)
	}
	ids, stepOf := map[string]bool{}, map[string]any{}
	for _, ch := range s.d.Chains[pr.str("pipeline_id")] {
		cm := rowMap(ch)
		m.Chains = append(m.Chains, cm)
		s.collectIDs(cm, ids)
		if st, ok := cm["steps"].([]any); ok {
			for _, e := range st {
				em, ok := e.(map[string]any)
				if !ok {
					continue
				}
				if em["artifact_id"] != nil { // before 0.11
					stepOf[asStr(em["artifact_id"])] = em["step_idx"]
				}
				if ids, ok := em["artifact_ids"].([]any); ok { // 0.11: a list
					for _, id := range ids {
						stepOf[asStr(id)] = em["step_idx"]
					}
				}
			}
		}
	}
	for _, id := range sortedIDs(ids) {
		m.Artifacts = append(m.Artifacts, s.artifactItem(id, bins[id], stepOf[id]))
	}
	b, err := yaml.Marshal(m)
	if err != nil {
		b = []byte("pipeline_id: " + dest + "\nstore_pipeline_id: " + pr.str("pipeline_id") + "\n")
	}
	return b
}

func (s *Snapshot) artifactItem(id, bin string, step any) map[string]any {
	a := s.d.Artifacts[id]
	it := rowMap(a)
	it["name"], it["class_name"] = binClass(a.str("operator_class")), a.str("operator_class")
	if bin != "" {
		it["path"] = bin
	}
	if h := a.str("content_hash"); h != "" && !strings.HasPrefix(h, "sha256:") {
		it["hash"] = "sha256:" + h
	}
	if a["size_bytes"] != nil {
		it["size"] = a["size_bytes"]
	}
	if step != nil {
		it["step"] = step
	}
	return it
}

func asStr(v any) string { s, _ := v.(string); return s }

func sortedIDs(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// collectIDs adds every string of v that is an artifact_id of the store.
func (s *Snapshot) collectIDs(v any, ids map[string]bool) {
	switch x := v.(type) {
	case string:
		if _, ok := s.d.Artifacts[x]; ok {
			ids[x] = true
		}
	case []any:
		for _, e := range x {
			s.collectIDs(e, ids)
		}
	case map[string]any:
		for _, e := range x {
			s.collectIDs(e, ids)
		}
	}
}

func binClass(c string) string { return folderName(nirs4all.ShortClass(c)) }

// storeArrays is one prediction's arrays.
type storeArrays struct {
	yt, yp, idx []float64
	digest      [32]byte // arraysDigest, for fingerprints
}

var arraysUnsafe = regexp.MustCompile(`[/\\:*?"<>|\s.]+`)

// arraysFile is nirs4all's arrays/<ds>.parquet (array_store.py
// _sanitize_dataset_filename).
func arraysFile(ds string) string {
	n := strings.Trim(arraysUnsafe.ReplaceAllString(ds, "_"), "_")
	if n == "" {
		n = "unnamed"
	}
	return "arrays/" + n + ".parquet"
}

// loadArraysFile reads a dataset's arrays (later rows win: nirs4all
// appends and compacts later).
func loadArraysFile(src fs.FS, f string, note func(string, ...any)) map[string]storeArrays {
	out := map[string]storeArrays{}
	data, err := fs.ReadFile(src, f)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		note("no %s: its predictions have no arrays", f)
	case err != nil:
		note("%s: unreadable (%v)", f, err)
	default:
		// Only the columns used: the file also holds every sample's
		// spectra (X), which would cost more to copy than all the rest.
		rows, err := readParquetRows(data, "prediction_id", "y_true", "y_pred", "sample_indices")
		if err != nil {
			note("%s: cannot read predictions (%v): no metrics synthesised from it", f, err)
		}
		for _, r := range rows {
			a := storeArrays{yt: r.floats("y_true"), yp: r.floats("y_pred"), idx: r.floats("sample_indices")}
			a.digest = arraysDigest(a)
			out[r.str("prediction_id")] = a
		}
	}
	return out
}

// readTombstones reads arrays/_tombstones.json: predictions nirs4all
// deleted whose arrays wait for a compaction.
func readTombstones(src fs.FS, note func(string, ...any)) map[string]bool {
	out := map[string]bool{}
	data, err := fs.ReadFile(src, "arrays/_tombstones.json")
	if err != nil {
		return out
	}
	v, err := nirs4all.DecodeJSON(data)
	if err != nil {
		note("arrays/_tombstones.json: %v: no prediction left out as deleted", err)
	}
	if m, ok := v.(map[string]any); ok {
		for id := range m {
			out[id] = true
		}
	}
	return out
}
