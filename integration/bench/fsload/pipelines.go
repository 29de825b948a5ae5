//go:build linux

package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// pipelineFile is one file of a stand-in pipeline folder, as nirs4all
// writes it: small JSON/YAML/CSV files the catalog parses, and model
// binaries that make up most of the bytes.
type pipelineFile struct {
	name string
	data func(rng *rand.ChaCha8, i int) []byte
}

// binarySize makes 9 files of about 0.93 MB per folder: 150 folders are
// 1,350 files and about 140 MB, the size of a real nirs4all session.
const binarySize = 220 << 10

var pipelineFiles = []pipelineFile{
	{"pipeline.json", func(_ *rand.ChaCha8, i int) []byte {
		return fmt.Appendf(nil, `{"id": "%04d", "status": "completed", "created_at": "2026-03-01T10:00:00Z",
 "steps": [{"step": 1, "operator": "SNV", "class": "nirs4all.operators.SNV"},
           {"step": 2, "operator": "model", "class": "sklearn.cross_decomposition.PLSRegression"}]}
`, i)
	}},
	{"manifest.yaml", func(_ *rand.ChaCha8, i int) []byte {
		return fmt.Appendf(nil, "pipeline_id: %04d\ndataset: bench\nversion: '1.0'\npipeline:\n  steps:\n  - SNV\n  - PLSRegression\n", i)
	}},
	{"metrics.json", func(_ *rand.ChaCha8, i int) []byte {
		return fmt.Appendf(nil, `{"task_type": "regression", "test": {"rmse": 0.%04d, "r2": 0.99, "samples": 20}, "val": {"rmse": 0.15, "r2": 0.98, "samples": 20}}
`, i+1)
	}},
	{"predictions.csv", predictionsCSV},
	{"folds_KFold_seed42.csv", func(_ *rand.ChaCha8, i int) []byte {
		var b strings.Builder
		b.WriteString("sample_id,fold\n")
		for s := range 100 {
			fmt.Fprintf(&b, "S%04d,%d\n", s, (s+i)%5)
		}
		return []byte(b.String())
	}},
	{"SNV.pkl", randomBytes}, {"PLSRegression.pkl", randomBytes},
	{"scaler.pkl", randomBytes}, {"y_scaler.pkl", randomBytes},
}

func predictionsCSV(rng *rand.ChaCha8, _ int) []byte {
	var b strings.Builder
	b.WriteString("sample_id,y_true,y_pred,partition\n")
	parts := []string{"train", "val", "test"}
	for s := range 1000 {
		y := float64(rng.Uint64()%2000) / 100
		fmt.Fprintf(&b, "S%04d,%.2f,%.2f,%s\n", s, y, y+0.1, parts[s%3])
	}
	return []byte(b.String())
}

// randomBytes stands for a pickled model: incompressible, and different in
// every folder so that neither side can win by dedup.
func randomBytes(rng *rand.ChaCha8, _ int) []byte {
	b := make([]byte, binarySize)
	_, _ = rng.Read(b)
	return b
}

// smallFiles is how many of pipelineFiles are not model binaries: the
// scale workload writes only those, so that a large tree stays small on disk.
const smallFiles = 5

// writePipelines writes n pipeline folders DIR/NNNN_pipe_c0ffee (numbers
// from 0100) the way a training session does: mkdir, then each file with
// create+write+close. Contents are made before the clock starts.
func writePipelines(dir string, n int) (result, error) {
	return writeFolders(dir, n, pipelineFiles)
}

// writeLightPipelines writes n pipeline folders of the small files only,
// spread over datasets of perDataset folders: DIR/dsNNN/NNNN_pipe_c0ffee.
func writeLightPipelines(dir string, n, perDataset int) (result, error) {
	var total result
	for first := 0; first < n; first += perDataset {
		ds := filepath.Join(dir, fmt.Sprintf("ds%03d", first/perDataset))
		if err := os.MkdirAll(ds, 0o755); err != nil {
			return result{}, err
		}
		r, err := writeFolders(ds, min(perDataset, n-first), pipelineFiles[:smallFiles])
		if err != nil {
			return result{}, err
		}
		total.Ops, total.Bytes, total.Seconds = total.Ops+r.Ops, total.Bytes+r.Bytes, total.Seconds+r.Seconds
	}
	return total, nil
}

func writeFolders(dir string, n int, kinds []pipelineFile) (result, error) {
	rng := rand.NewChaCha8([32]byte{2})
	type file struct {
		path string
		data []byte
	}
	var files []file
	var folders []string
	var total int64
	for i := range n {
		folder := filepath.Join(dir, fmt.Sprintf("%04d_pipe_c0ffee", 100+i))
		folders = append(folders, folder)
		for _, pf := range kinds {
			data := pf.data(rng, i)
			files = append(files, file{filepath.Join(folder, pf.name), data})
			total += int64(len(data))
		}
	}
	start := time.Now()
	next := 0
	for _, folder := range folders {
		if err := os.Mkdir(folder, 0o755); err != nil {
			return result{}, err
		}
		for range kinds {
			if err := os.WriteFile(files[next].path, files[next].data, 0o644); err != nil {
				return result{}, err
			}
			next++
		}
	}
	return result{Ops: int64(len(files)), Bytes: total, Seconds: time.Since(start).Seconds()}, nil
}
