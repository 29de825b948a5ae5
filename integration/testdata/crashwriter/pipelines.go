//go:build linux

package main

import (
	"fmt"
	"strings"
)

// pipelines: nirs4all-like pipeline folders NNNN_pN_hash, each with
// metrics.json, predictions.csv and pipeline.json, so that the catalog
// ingests while the kill lands. Test RMSEs are random, so the best
// pipeline changes as folders arrive.
func (w *writer) pipelines() error {
	for i := 1; ; i++ {
		pid := fmt.Sprintf("%04d_p%d_h%05x", i, i, w.r.IntN(1<<20))
		rmse := 0.1 + w.r.Float64()
		metrics := fmt.Sprintf(`{"task_type": "regression", "test": {"rmse": %.6f, "r2": %.6f, "samples": 5}, "val": {"rmse": %.6f, "r2": 0.5}}`+"\n",
			rmse, 1-rmse, rmse+0.05)
		var csv strings.Builder
		csv.WriteString("sample_id,y_true,y_pred,partition\n")
		for s, part := range []string{"train", "val", "test", "test", "test", "test", "test"} {
			fmt.Fprintf(&csv, "p%d_s%d,%d.5,%.6f,%s\n", i, s, 10+s, 10.5+float64(s)+rmse, part)
		}
		pipeline := fmt.Sprintf(`{"id": %q, "hash": %q, "created_at": "2026-03-01T10:00:00Z", "status": "completed",
 "steps": [{"step": 1, "operator": "SNV", "class": "nirs4all.operators.transforms.SNV", "params": {}},
           {"step": 2, "operator": "model", "class": "sklearn.cross_decomposition.PLSRegression", "params": {}}]}
`, pid, pid[strings.LastIndexByte(pid, '_')+1:])
		for _, f := range []struct{ name, data string }{
			{"pipeline.json", pipeline}, {"predictions.csv", csv.String()}, {"metrics.json", metrics},
		} {
			if err := w.write(pid+"/"+f.name, []byte(f.data), 1<<20); err != nil {
				return err
			}
		}
	}
}
