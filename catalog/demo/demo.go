package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Options size the synthetic workspace.
type Options struct {
	Datasets  int    // 1 to MaxDatasets; past the 6 base datasets, names get a suffix
	Pipelines int    // per dataset, 1 to 9999
	Samples   int    // rows of each predictions.csv (60% train, 20% val, the rest test); 0 means 100
	Seed      uint64 // the same options and seed give the same files
}

// Bounds of Options.
const (
	MaxDatasets       = 100
	MaxSamples        = 100_000
	defaultDemoSample = 100
)

// Emit receives one demo file: a slash path below the workspace root.
type Emit func(ctx context.Context, path string, data []byte) error

type demoDataset struct {
	name           string
	classification bool
	target         float64 // typical value of y
}

var demoDatasets = []demoDataset{
	{"wheat_protein", false, 12.5},
	{"corn_moisture", false, 10.8},
	{"soil_class", true, 0},
	{"milk_fat", false, 3.9},
	{"tablet_api", false, 98.0},
	{"grape_variety", true, 0},
}

var demoModels = []string{"PLSRegression", "RandomForestRegressor", "Ridge", "SVR", "XGBRegressor"}
var demoClassifiers = []string{"PLSDA", "RandomForestClassifier", "LogisticRegression", "SVC"}
var demoPreprocessing = [][]string{
	{"StandardScaler"}, {"SNV"}, {"SNV", "SavitzkyGolay"}, {"MSC", "Detrend"}, {"MinMaxScaler", "FirstDerivative"},
}

// Generate writes a deterministic synthetic nirs4all workspace: pipeline
// folders with pipeline.json, manifest.yaml, metrics.json, predictions.csv
// and folds CSV, a few failed pipelines with error.log, and fitted binaries
// in _binaries/ shared between pipelines. A shared binary is emitted once,
// by the first pipeline that uses it.
func Generate(ctx context.Context, opts Options, emit Emit) error {
	if opts.Datasets < 1 || opts.Datasets > MaxDatasets {
		return fmt.Errorf("demo: --datasets must be 1 to %d", MaxDatasets)
	}
	if opts.Pipelines < 1 || opts.Pipelines > 9999 {
		return fmt.Errorf("demo: --pipelines must be 1 to 9999")
	}
	if opts.Samples == 0 {
		opts.Samples = defaultDemoSample
	}
	if opts.Samples < 10 || opts.Samples > MaxSamples {
		return fmt.Errorf("demo: --samples must be 10 to %d", MaxSamples)
	}
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	shared := map[string]bool{} // paths of the shared binaries emitted so far
	for d := range opts.Datasets {
		ds := demoDatasetAt(d)
		for i := 1; i <= opts.Pipelines; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := demoPipeline(ctx, rng, ds, i, opts.Samples, shared, emit); err != nil {
				return fmt.Errorf("demo %s pipeline %d: %w", ds.name, i, err)
			}
		}
	}
	return nil
}

// DatasetName is the name of the demo's dataset number i (from 0): the
// six base names, then the same names again with a suffix _02, _03...
func DatasetName(i int) string { return demoDatasetAt(i).name }

func demoDatasetAt(i int) demoDataset {
	ds := demoDatasets[i%len(demoDatasets)]
	if round := i / len(demoDatasets); round > 0 {
		ds.name = fmt.Sprintf("%s_%02d", ds.name, round+1)
	}
	return ds
}

func demoPipeline(ctx context.Context, rng *rand.Rand, ds demoDataset, num, samples int, shared map[string]bool, emit Emit) error {
	models := demoModels
	if ds.classification {
		models = demoClassifiers
	}
	model := models[rng.IntN(len(models))]
	prep := demoPreprocessing[rng.IntN(len(demoPreprocessing))]
	steps := append(append([]string{}, prep...), model)
	hash := fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprint(ds.name, steps, num))))[:6]
	id := fmt.Sprintf("%04d_%s_%s", num, demoShortName(model), hash)
	dir := "runs/" + ds.name + "/" + id + "/"
	created := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).Add(time.Duration(num) * 7 * time.Minute)

	var files []demoFile
	var artifacts []map[string]any
	for si, op := range steps {
		// Preprocessing binaries depend only on the operator, so pipelines
		// and datasets share them: the store keeps each one once.
		content := demoBinary(rng, op, si < len(prep))
		h := fmt.Sprintf("%x", sha256.Sum256(content))
		bin := fmt.Sprintf("%s_%s.pkl", op, h[:6])
		if p := "runs/" + ds.name + "/_binaries/" + bin; !shared[p] {
			files = append(files, demoFile{p, content})
			if si < len(prep) {
				shared[p] = true
			}
		}
		artifacts = append(artifacts, map[string]any{"step": si + 1, "name": op, "hash": "sha256:" + h,
			"path": "../_binaries/" + bin, "size_kb": len(content) / 1024})
	}
	failed := rng.Float64() < 0.04
	files = append(files, demoFile{dir + "pipeline.json", demoPipelineJSON(id, hash, steps, artifacts, created, failed)})
	files = append(files, demoFile{dir + "manifest.yaml", demoManifest(id, ds.name, steps, artifacts, created)})
	if failed {
		files = append(files, demoFile{dir + "error.log", []byte(fmt.Sprintf(
			"Traceback (most recent call last):\n  File \"nirs4all/pipeline/runner.py\", line 412, in run_step\nValueError: %s failed to converge after 1000 iterations\n", model))})
	} else {
		preds, metrics := demoPredictions(rng, ds, samples)
		files = append(files, demoFile{dir + "predictions.csv", preds}, demoFile{dir + "metrics.json", metrics})
		files = append(files, demoFile{dir + "folds_KFold_seed42.csv", demoFolds(samples)})
	}
	for _, f := range files {
		if err := emit(ctx, f.path, f.data); err != nil {
			return err
		}
	}
	return nil
}

type demoFile struct {
	path string
	data []byte
}

func demoShortName(model string) string {
	short := map[string]string{"PLSRegression": "pls", "RandomForestRegressor": "rf", "Ridge": "ridge", "SVR": "svr",
		"XGBRegressor": "xgb", "PLSDA": "plsda", "RandomForestClassifier": "rfc", "LogisticRegression": "logreg", "SVC": "svc"}
	return short[model]
}

// demoBinary is a stand-in for a pickled estimator: shared operators give
// identical bytes, models get bytes of their own.
func demoBinary(rng *rand.Rand, op string, shared bool) []byte {
	seed := op
	if !shared {
		seed += fmt.Sprint("|", rng.Uint64())
	}
	var b bytes.Buffer
	for b.Len() < 24*1024 {
		sum := sha256.Sum256([]byte(fmt.Sprint(seed, b.Len())))
		b.Write(sum[:])
	}
	return b.Bytes()
}

func demoPipelineJSON(id, hash string, steps []string, artifacts []map[string]any, created time.Time, failed bool) []byte {
	var st []map[string]any
	for i, s := range steps {
		st = append(st, map[string]any{"step": i + 1, "operator": s, "class": "nirs4all.operators." + s, "params": map[string]any{}})
	}
	status := "completed"
	if failed {
		status = "failed"
	}
	doc := map[string]any{"id": id, "hash": hash, "created_at": created.Format(time.RFC3339),
		"completed_at": created.Add(42 * time.Second).Format(time.RFC3339), "duration_seconds": 42.0,
		"status": status, "steps": st, "artifacts": artifacts}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return append(b, '\n')
}

func demoManifest(id, ds string, steps []string, artifacts []map[string]any, created time.Time) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "uid: %x\npipeline_id: %s\nname: %s\ndataset: %s\ncreated_at: '%s'\nversion: '1.0'\npipeline:\n  steps:\n",
		sha256.Sum256([]byte(id+ds)), id, id[5:], ds, created.Format(time.RFC3339))
	for _, s := range steps {
		fmt.Fprintf(&b, "  - nirs4all.operators.%s\n", s)
	}
	b.WriteString("metadata: {}\nartifacts:\n")
	for _, a := range artifacts {
		fmt.Fprintf(&b, "- hash: '%s'\n  name: %s\n  path: %s\n  format: cloudpickle\n  step: %d\n", a["hash"], a["name"], a["path"], a["step"])
	}
	b.WriteString("predictions: []\n")
	return b.Bytes()
}

// demoSplit divides samples rows into train (60%), val (20%) and test
// (the rest): 60/20/20 for the default 100.
func demoSplit(samples int) (train, val, test int) {
	train, val = samples*6/10, samples/5
	return train, val, samples - train - val
}

// demoPredictions makes train/val/test rows and their metrics.
func demoPredictions(rng *rand.Rand, ds demoDataset, samples int) (csv, metrics []byte) {
	var b bytes.Buffer
	b.WriteString("y_true,y_pred,partition,sample_id\n")
	noise := 0.2 + rng.Float64()*1.2
	scores := map[string]map[string]float64{}
	id := 0
	train, val, test := demoSplit(samples)
	for _, part := range []struct {
		name string
		n    int
	}{{"train", train}, {"val", val}, {"test", test}} {
		var se, ae, sy, syy float64
		correct := 0
		for i := 0; i < part.n; i++ {
			var yt, yp float64
			if ds.classification {
				yt = float64(rng.IntN(3))
				yp = yt
				if rng.Float64() < noise/3 {
					yp = float64(rng.IntN(3))
				}
				if yp == yt {
					correct++
				}
			} else {
				yt = ds.target + rng.NormFloat64()*2
				yp = yt + rng.NormFloat64()*noise*0.5
			}
			fmt.Fprintf(&b, "%.4f,%.4f,%s,S%04d\n", yt, yp, part.name, id)
			id++
			se += (yt - yp) * (yt - yp)
			ae += math.Abs(yt - yp)
			sy += yt
			syy += yt * yt
		}
		n := float64(part.n)
		if ds.classification {
			scores[part.name] = map[string]float64{"accuracy": round4(float64(correct) / n), "samples": n}
		} else {
			variance := syy/n - (sy/n)*(sy/n)
			scores[part.name] = map[string]float64{"rmse": round4(math.Sqrt(se / n)), "mae": round4(ae / n),
				"r2": round4(1 - (se/n)/variance), "samples": n}
		}
	}
	task := "regression"
	if ds.classification {
		task = "multiclass_classification"
	}
	doc := map[string]any{"task_type": task, "train": scores["train"], "val": scores["val"], "test": scores["test"]}
	m, _ := json.MarshalIndent(doc, "", "  ")
	return b.Bytes(), append(m, '\n')
}

// demoFolds: three folds over the train samples (40 rows of indices below
// 60 for the default 100 samples).
func demoFolds(samples int) []byte {
	train, val, _ := demoSplit(samples)
	var b bytes.Buffer
	b.WriteString("fold_0,fold_1,fold_2\n")
	for i := 0; i < 2*val; i++ {
		fmt.Fprintf(&b, "%d,%d,%d\n", i, i+val, (i+2*val)%train)
	}
	return b.Bytes()
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }
