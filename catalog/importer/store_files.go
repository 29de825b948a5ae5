package importer

// The files of a store import: manifest.yaml from the pipelines, chains
// and artifacts tables, the binaries, the prediction arrays of
// arrays/<ds>.parquet, and the store's own files kept under _nirs4all/.

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/n4ws/n4ws/backing"
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

func (s *storeImport) manifest(pr dbRow, dest string, bins map[string]string) []byte {
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
		Pipeline: map[string]any{"steps": steps}, StorePipeline: rowMap(pr, "expanded_config"),
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
				if em, ok := e.(map[string]any); ok && em["artifact_id"] != nil {
					stepOf[asStr(em["artifact_id"])] = em["step_idx"]
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

func (s *storeImport) artifactItem(id, bin string, step any) map[string]any {
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
func (s *storeImport) collectIDs(v any, ids map[string]bool) {
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

// binName is the era A/B name of a binary: <Class>_<sha256[:6]>.<ext>.
func binName(a dbRow) string {
	ap := a.str("artifact_path")
	h := strings.TrimPrefix(a.str("content_hash"), "sha256:")
	if len(h) < 6 {
		h = strings.TrimSuffix(path.Base(ap), path.Ext(ap))
	}
	if len(h) > 6 {
		h = h[:6]
	}
	return binClass(a.str("operator_class")) + "_" + folderName(h) + path.Ext(ap)
}

// planBinaries copies the binaries the dataset's chains use to
// runs/<ds>/_binaries/ and returns artifact_id → file name there.
func (s *storeImport) planBinaries(ctx context.Context, ds string, pipes []dbRow, planned map[string]backing.Digest) (map[string]string, error) {
	ids := map[string]bool{}
	for _, pr := range pipes {
		for _, ch := range s.d.Chains[pr.str("pipeline_id")] {
			s.collectIDs(rowMap(ch), ids)
		}
	}
	base := "runs/" + ds + "/"
	out := map[string]string{}
	for _, id := range sortedIDs(ids) {
		a := s.d.Artifacts[id]
		ap := a.str("artifact_path")
		if ap == "" || !fs.ValidPath("artifacts/"+ap) || !isFile(s.src, "artifacts/"+ap) {
			s.p.note("artifact %s (%s): no file artifacts/%s: not imported", id, a.str("operator_class"), ap)
			continue
		}
		out[id] = binName(a)
		s.used[ap] = true
		if err := s.p.sharedOne(ctx, s.src, s.t, "artifacts/"+ap, base+"_binaries/"+out[id], base+importDir+"/artifacts/"+ap, planned); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// storeArrays is one prediction's arrays; tomb marks a deleted prediction.
type storeArrays struct {
	yt, yp, idx []float64
	tomb        bool
}

var arraysUnsafe = regexp.MustCompile(`[/\\:*?"<>|\s.]+`)

func arraysFile(ds string) string {
	return "arrays/" + arraysUnsafe.ReplaceAllString(ds, "_") + ".parquet"
}

// loadArrays reads arrays/<ds>.parquet (later row groups win) and marks
// the predictions listed in arrays/_tombstones.json.
func (s *storeImport) loadArrays(ds string) map[string]storeArrays {
	out := map[string]storeArrays{}
	f := arraysFile(ds)
	s.dsArr[path.Base(f)] = true
	data, err := fs.ReadFile(s.src, f)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.p.note("%s: no %s: its predictions have no arrays", ds, f)
	case err != nil:
		s.p.note("%s: unreadable (%v)", f, err)
	default:
		rows, err := readParquetRows(data)
		if err != nil {
			s.p.note("%s: cannot read predictions (%v): stored as is, no metrics synthesised from it", f, err)
		}
		for _, r := range rows {
			out[r.str("prediction_id")] = storeArrays{yt: r.floats("y_true"), yp: r.floats("y_pred"), idx: r.floats("sample_indices")}
		}
	}
	if data, err := fs.ReadFile(s.src, "arrays/_tombstones.json"); err == nil {
		v, err := nirs4all.DecodeJSON(data)
		if err != nil {
			s.p.note("arrays/_tombstones.json: %v: no prediction left out as deleted", err)
		}
		if m, ok := v.(map[string]any); ok {
			for id := range m {
				out[id] = storeArrays{tomb: true}
			}
		}
	}
	return out
}
