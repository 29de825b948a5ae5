package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// demoDigest runs Demo and returns a digest of every emitted path and
// content, in emit order, with the number of files.
func demoDigest(t *testing.T, opts Options) (string, int) {
	t.Helper()
	h := sha256.New()
	n := 0
	emit := func(_ context.Context, p string, data []byte) error {
		writeDemoFile(h, p, data)
		n++
		return nil
	}
	if err := Generate(context.Background(), opts, emit); err != nil {
		t.Fatalf("Generate(%+v): %v", opts, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

func writeDemoFile(h hash.Hash, p string, data []byte) {
	fmt.Fprintf(h, "%s\x00%d\x00", p, len(data))
	h.Write(data)
}

// TestDemoDeterministic: the same options and seed give the same files in
// the same order; another seed gives other files.
func TestDemoDeterministic(t *testing.T) {
	for _, opts := range []Options{
		{Datasets: 2, Pipelines: 15, Seed: 42},
		{Datasets: 8, Pipelines: 3, Samples: 200, Seed: 42},
	} {
		a, na := demoDigest(t, opts)
		b, nb := demoDigest(t, opts)
		if a != b || na != nb {
			t.Errorf("%+v: two runs differ: %s (%d files) and %s (%d files)", opts, a, na, b, nb)
		}
		other := opts
		other.Seed++
		if c, _ := demoDigest(t, other); c == a {
			t.Errorf("%+v: seed %d gives the same files as seed %d", opts, other.Seed, opts.Seed)
		}
	}
}

// TestDemoDefaultUnchanged pins the workspace of the default options (the
// one `n4ws demo` writes with no flags, and a 6-dataset one): every path
// and its bytes, so that new options never change what existing seeds
// produce. If the demo's format is changed on purpose, print the new
// digests and update them here.
func TestDemoDefaultUnchanged(t *testing.T) {
	for _, tt := range []struct {
		opts   Options
		files  int
		digest string
	}{
		{Options{Datasets: 3, Pipelines: 150, Seed: 42}, 2685, "42d9461c204728555bb36fbb3228d369c373972fc965bfc099bd7175df117018"},
		{Options{Datasets: 6, Pipelines: 20, Samples: 100, Seed: 7}, 757, "777b419818f40728716c6d74fcb7a0519ce49bb90165194e2dfbba8ad996a168"},
	} {
		files := map[string][]byte{}
		emit := func(_ context.Context, p string, data []byte) error {
			if _, ok := files[p]; ok {
				t.Errorf("%+v: %s emitted twice", tt.opts, p)
			}
			files[p] = data
			return nil
		}
		if err := Generate(context.Background(), tt.opts, emit); err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		for _, p := range slices.Sorted(maps.Keys(files)) {
			writeDemoFile(h, p, files[p])
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != tt.digest || len(files) != tt.files {
			t.Errorf("%+v: %d files, digest %s; want %d files, %s", tt.opts, len(files), got, tt.files, tt.digest)
		}
	}
}

func TestDemoDatasetNames(t *testing.T) {
	want := map[int]string{0: "wheat_protein", 5: "grape_variety", 6: "wheat_protein_02", 7: "corn_moisture_02",
		12: "wheat_protein_03", 99: "milk_fat_17"}
	for i, name := range want {
		if got := DatasetName(i); got != name {
			t.Errorf("DatasetName(%d) = %q, want %q", i, got, name)
		}
	}
	seen := map[string]bool{}
	for i := range MaxDatasets {
		name := DatasetName(i)
		if seen[name] {
			t.Fatalf("DatasetName(%d) = %q repeats an earlier name", i, name)
		}
		seen[name] = true
	}

	datasets := map[string]bool{}
	emit := func(_ context.Context, p string, _ []byte) error {
		datasets[strings.Split(p, "/")[1]] = true
		return nil
	}
	if err := Generate(context.Background(), Options{Datasets: 8, Pipelines: 1, Seed: 1}, emit); err != nil {
		t.Fatal(err)
	}
	if len(datasets) != 8 || !datasets["wheat_protein_02"] || !datasets["corn_moisture_02"] {
		t.Errorf("8 datasets wrote folders %v", datasets)
	}
}

func TestDemoSamples(t *testing.T) {
	for _, tt := range []struct {
		samples           int
		train, val, test  int
		foldRows, foldMax int64
	}{
		{0, 60, 20, 20, 40, 59}, // 0 is the default, 100
		{200, 120, 40, 40, 80, 119},
		{10, 6, 2, 2, 4, 5},
	} {
		files := map[string][]byte{}
		emit := func(_ context.Context, p string, data []byte) error {
			files[p] = data
			return nil
		}
		opts := Options{Datasets: 3, Pipelines: 4, Samples: tt.samples, Seed: 3}
		if err := Generate(context.Background(), opts, emit); err != nil {
			t.Fatal(err)
		}
		checked := 0
		for p, data := range files {
			switch {
			case strings.HasSuffix(p, "/predictions.csv"):
				preds, err := nirs4all.ParsePredictions(data, 0)
				if err != nil {
					t.Fatalf("samples %d: %s: %v", tt.samples, p, err)
				}
				got := map[string]int{}
				for _, pr := range preds {
					got[pr.Partition] = len(pr.YTrue)
				}
				if got["train"] != tt.train || got["val"] != tt.val || got["test"] != tt.test {
					t.Errorf("samples %d: %s has partitions %v, want %d/%d/%d", tt.samples, p, got, tt.train, tt.val, tt.test)
				}
				m, err := nirs4all.ParseMetrics(files[strings.TrimSuffix(p, "predictions.csv")+"metrics.json"])
				if err != nil {
					t.Fatalf("samples %d: metrics next to %s: %v", tt.samples, p, err)
				}
				if m.Samples["test"] != tt.test {
					t.Errorf("samples %d: %s: metrics.json says %d test samples, want %d", tt.samples, p, m.Samples["test"], tt.test)
				}
				checked++
			case strings.Contains(p, "/folds_"):
				f, err := nirs4all.ParseFolds("folds_KFold_seed42.csv", data)
				if err != nil {
					t.Fatalf("samples %d: %s: %v", tt.samples, p, err)
				}
				for _, fold := range f.Train {
					if int64(len(fold)) != tt.foldRows || maxOf(fold) > tt.foldMax {
						t.Errorf("samples %d: %s: fold of %d rows up to %d, want %d rows up to %d",
							tt.samples, p, len(fold), maxOf(fold), tt.foldRows, tt.foldMax)
					}
				}
			}
		}
		if checked == 0 {
			t.Errorf("samples %d: no predictions.csv written", tt.samples)
		}
	}
}

func maxOf(xs []int64) int64 {
	var m int64
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func TestDemoBadOptions(t *testing.T) {
	emit := func(context.Context, string, []byte) error { return nil }
	for _, opts := range []Options{
		{Datasets: 0, Pipelines: 1},
		{Datasets: MaxDatasets + 1, Pipelines: 1},
		{Datasets: 1, Pipelines: 10000},
		{Datasets: 1, Pipelines: 1, Samples: 9},
		{Datasets: 1, Pipelines: 1, Samples: MaxSamples + 1},
	} {
		if err := Generate(context.Background(), opts, emit); err == nil {
			t.Errorf("Generate(%+v) accepted bad options", opts)
		}
	}
}
