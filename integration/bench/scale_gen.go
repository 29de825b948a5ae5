//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// The scale generator writes a store of many pipeline folders directly
// through the backing API, one transaction per genBatch folders: writing
// through the mount runs at about 150 files/s, too slow for a million.
// Each folder holds the small files nirs4all writes (pipeline.json,
// manifest.yaml, metrics.json, predictions.csv, a folds file) and the four
// model binaries; the binaries are the same blobs in every folder of a
// dataset (deduplicated, as identical pickles are), so a large tree stays
// small on disk while every node is there.

const (
	genBatch   = 500      // pipeline folders per transaction
	genSamples = 60       // predictions per folder (20 per partition)
	genBinary  = 48 << 10 // bytes of each model binary: above the inline limit, a blob file
)

var genBinaries = []string{"SNV.pkl", "PLSRegression.pkl", "scaler.pkl", "y_scaler.pkl"}

// generated says what generateScale wrote.
type generated struct {
	datasets, folders, files int
	seconds                  float64
}

// generateScale writes n pipeline folders into the store at dir (made by
// n4ws init, not mounted), perDataset to a dataset runs/dsNNN (at most
// 9,998: pipeline numbers have four digits, and the refresh workload adds
// one more).
func generateScale(ctx context.Context, dir string, n, perDataset int) (generated, error) {
	perDataset = min(max(perDataset, 1), 9998)
	g := generated{}
	s, err := backing.Open(ctx, dir, backing.Options{})
	if err != nil {
		return g, err
	}
	defer s.Close()
	runs, err := s.ResolvePath(ctx, "runs")
	if err != nil {
		return g, err
	}
	start := time.Now()
	rng := rand.NewChaCha8([32]byte{3})
	for first := 0; first < n; first += perDataset {
		ds := fmt.Sprintf("ds%03d", first/perDataset)
		count := min(perDataset, n-first)
		files, err := generateDataset(ctx, s, runs.Ino, ds, count, rng)
		if err != nil {
			return g, fmt.Errorf("generate %s: %w", ds, err)
		}
		g.datasets, g.folders, g.files = g.datasets+1, g.folders+count, g.files+files
	}
	g.seconds = time.Since(start).Seconds()
	return g, nil
}

// generateDataset writes runs/<ds> with count pipeline folders numbered
// from 0001, and returns how many files it wrote.
func generateDataset(ctx context.Context, s *backing.Store, runs uint64, ds string, count int, rng *rand.ChaCha8) (int, error) {
	dsDir, err := s.MkdirAll(ctx, "runs/"+ds, 0o755)
	if err != nil {
		return 0, err
	}
	// The dataset's binaries, stored once; every folder refers to them.
	var blobs []backing.Attr
	for _, name := range genBinaries {
		data := make([]byte, genBinary)
		_, _ = rng.Read(data)
		a, err := s.WriteFile(ctx, "runs/"+ds+"/_binaries/"+name, bytes.NewReader(data), 0o644, time.Time{})
		if err != nil {
			return 0, err
		}
		blobs = append(blobs, a)
	}
	files := len(blobs)
	for first := 1; first <= count; first += genBatch {
		last := min(first+genBatch-1, count)
		err := s.Update(ctx, func(tx *backing.Tx) error {
			for i := first; i <= last; i++ {
				if err := writeGenFolder(tx, dsDir.Ino, ds, i, blobs, rng); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return files, err
		}
		files += (last - first + 1) * (len(genSmallFiles) + len(genBinaries))
	}
	return files, nil
}

// writeGenFolder writes pipeline folder number i of dataset ds.
func writeGenFolder(tx *backing.Tx, dsIno uint64, ds string, i int, blobs []backing.Attr, rng *rand.ChaCha8) error {
	folder, err := tx.Mkdir(dsIno, fmt.Sprintf("%04d_pls_%06x", i, uint32(i*2654435761)&0xffffff), 0o755)
	if err != nil {
		return err
	}
	mtime := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	for _, f := range genSmallFiles {
		if _, err := tx.WriteData(folder.Ino, f.name, f.data(ds, i, rng), 0o644, mtime); err != nil {
			return err
		}
	}
	for k, name := range genBinaries {
		if _, err := tx.CreateFileOfBlob(folder.Ino, name, blobs[k].Blob, blobs[k].Size, 0o644, mtime); err != nil {
			return err
		}
	}
	return nil
}

// genSmallFiles are a generated folder's small files, as the bench's
// pipeline writer (fsload/pipelines.go) makes them, with fewer samples.
var genSmallFiles = []struct {
	name string
	data func(ds string, i int, rng *rand.ChaCha8) []byte
}{
	{"pipeline.json", func(_ string, i int, _ *rand.ChaCha8) []byte {
		return fmt.Appendf(nil, `{"id": "%04d", "status": "completed", "created_at": "2026-03-01T10:00:00Z",
 "steps": [{"step": 1, "operator": "SNV", "class": "nirs4all.operators.SNV"},
           {"step": 2, "operator": "model", "class": "sklearn.cross_decomposition.PLSRegression", "n_components": %d}]}
`, i, 1+i%20)
	}},
	{"manifest.yaml", func(ds string, i int, _ *rand.ChaCha8) []byte {
		return fmt.Appendf(nil, "pipeline_id: %04d\ndataset: %s\nversion: '1.0'\npipeline:\n  steps:\n  - SNV\n  - PLSRegression\n", i, ds)
	}},
	{"metrics.json", func(_ string, i int, rng *rand.ChaCha8) []byte {
		rmse := 0.1 + float64(rng.Uint64()%100000)/100000
		return fmt.Appendf(nil, `{"task_type": "regression", "test": {"rmse": %.5f, "r2": 0.9, "samples": 20}, "val": {"rmse": %.5f, "r2": 0.92, "samples": 20}}
`, rmse, rmse*0.9)
	}},
	{"predictions.csv", func(_ string, _ int, rng *rand.ChaCha8) []byte {
		var b strings.Builder
		b.WriteString("sample_id,y_true,y_pred,partition\n")
		parts := []string{"train", "val", "test"}
		for s := range genSamples {
			y := float64(rng.Uint64()%2000) / 100
			fmt.Fprintf(&b, "S%04d,%.2f,%.2f,%s\n", s, y, y+0.1, parts[s%3])
		}
		return []byte(b.String())
	}},
	{"folds_KFold_seed42.csv", func(_ string, i int, _ *rand.ChaCha8) []byte {
		var b strings.Builder
		b.WriteString("sample_id,fold\n")
		for s := range genSamples {
			fmt.Fprintf(&b, "S%04d,%d\n", s, (s+i)%5)
		}
		return []byte(b.String())
	}},
}
