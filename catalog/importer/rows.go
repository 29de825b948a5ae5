package importer

// The per-dataset prediction files of a nirs4all folder workspace,
// normalised to one importRow per (pipeline, model, fold, partition):
// era A's <ds>.json (§3.7) and eras B/C's <ds>.meta.parquet with
// <ds>.arrays.parquet (§3.8).

import (
	"fmt"
	"path"
	"strconv"

	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// importRow is one prediction row of a per-dataset file.
type importRow struct {
	PID        string // pipeline folder: config_name = pipeline_uid
	Model      string
	ModelClass string
	ModelKey   string // model, step, op and branch: one model of the pipeline
	Fold       string // "0".., avg, w_avg, None
	Partition  string
	Task       string
	Metric     string
	YTrue      []float64
	YPred      []float64
	SampleIdx  []float64
	NFeatures  int
	BestParams any
	Preproc    string
}

// rowPID finds the pipeline folder a row belongs to.
func rowPID(uid, config, configPath string) string {
	for _, c := range []string{uid, config, path.Base(configPath)} {
		if nirs4all.IsPipelineFolder(c) {
			return c
		}
	}
	return ""
}

// rowsFromParquet reads <ds>.meta.parquet and <ds>.arrays.parquet. Rows
// whose arrays are missing are dropped and counted in the returned note.
func rowsFromParquet(meta, arrays []byte) ([]importRow, string, error) {
	arows, err := readParquetRows(arrays)
	if err != nil {
		return nil, "", fmt.Errorf("arrays: %w", err)
	}
	byID := make(map[string][]float64, len(arows))
	for _, a := range arows {
		byID[a.str("array_id")] = a.floats("array_data")
	}
	mrows, err := readParquetRows(meta)
	if err != nil {
		return nil, "", fmt.Errorf("meta: %w", err)
	}
	var out []importRow
	dropped := 0
	for _, m := range mrows {
		yt, okT := byID[m.str("y_true_id")]
		yp, okP := byID[m.str("y_pred_id")]
		pid := rowPID(m.str("pipeline_uid"), m.str("config_name"), m.str("config_path"))
		if !okT || !okP || len(yt) != len(yp) || pid == "" {
			dropped++
			continue
		}
		r := importRow{PID: pid, Model: m.str("model_name"), ModelClass: m.str("model_classname"),
			Fold: m.str("fold_id"), Partition: m.str("partition"), Task: m.str("task_type"),
			Metric: m.str("metric"), YTrue: yt, YPred: yp, SampleIdx: byID[m.str("sample_indices_id")],
			BestParams: nirs4all.UnwrapValue(m.str("best_params")), Preproc: m.str("preprocessings")}
		if n, ok := m.num("n_features"); ok {
			r.NFeatures = int(n)
		}
		r.ModelKey = modelKey(r.Model, m.str("step_idx"), m.str("op_counter"), m.str("branch_id"))
		out = append(out, r)
	}
	return out, droppedNote(dropped), nil
}

func modelKey(model, step, op, branch string) string {
	return model + "#" + step + "." + op + "/" + branch
}

func droppedNote(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n) + " prediction rows without their arrays or pipeline were left out"
}

// rowsFromJSON reads era A's <ds>.json: a JSON array of flat objects whose
// arrays are JSON strings.
func rowsFromJSON(data []byte) ([]importRow, string, error) {
	v, err := nirs4all.DecodeJSON(data)
	if err != nil {
		return nil, "", err
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, "", fmt.Errorf("want a JSON array of predictions, got %s", nirs4all.TypeName(v))
	}
	var out []importRow
	dropped := 0
	for _, e := range arr {
		obj, ok := e.(map[string]any)
		if !ok {
			dropped++
			continue
		}
		r, err := jsonRow(obj)
		if err != nil {
			dropped++
			continue
		}
		out = append(out, r)
	}
	return out, droppedNote(dropped), nil
}

func jsonRow(obj map[string]any) (importRow, error) {
	s := func(k string) string {
		v, _ := nirs4all.AsString(nirs4all.UnwrapValue(obj[k]))
		return v
	}
	yt, err := nirs4all.FloatsOf(obj["y_true"])
	if err != nil {
		return importRow{}, err
	}
	yp, err := nirs4all.FloatsOf(obj["y_pred"])
	if err != nil {
		return importRow{}, err
	}
	pid := rowPID(s("pipeline_uid"), s("config_name"), s("config_path"))
	if len(yt) != len(yp) || pid == "" {
		return importRow{}, fmt.Errorf("bad row")
	}
	idx, _ := nirs4all.FloatsOf(obj["sample_indices"])
	r := importRow{PID: pid, Model: s("model_name"), ModelClass: s("model_classname"), Fold: s("fold_id"),
		Partition: s("partition"), Task: s("task_type"), Metric: s("metric"), YTrue: yt, YPred: yp,
		SampleIdx: idx, BestParams: nirs4all.UnwrapValue(obj["best_params"]), Preproc: s("preprocessings")}
	if n, ok := nirs4all.AsInt(obj["n_features"]); ok {
		r.NFeatures = int(n)
	}
	r.ModelKey = modelKey(r.Model, s("step_idx"), s("op_counter"), s("branch_id"))
	return r, nil
}

// groupRows maps pipeline folder → its rows, in file order.
func groupRows(rows []importRow) map[string][]importRow {
	out := map[string][]importRow{}
	for _, r := range rows {
		out[r.PID] = append(out[r.PID], r)
	}
	return out
}
