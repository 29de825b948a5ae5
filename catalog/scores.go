package catalog

import (
	"encoding/binary"
	"maps"
	"math"
	"slices"
)

// predictionScores computes the usual metrics of one partition.
func predictionScores(task string, p Prediction) map[string]float64 {
	n := len(p.YTrue)
	if n == 0 || len(p.YPred) != n {
		return nil
	}
	if task != TaskRegression {
		return classificationScores(p)
	}
	var se, ae, sum float64
	for i := range p.YTrue {
		d := p.YTrue[i] - p.YPred[i]
		se += d * d
		ae += math.Abs(d)
		sum += p.YTrue[i]
	}
	mean := sum / float64(n)
	var ss float64
	for _, y := range p.YTrue {
		ss += (y - mean) * (y - mean)
	}
	out := map[string]float64{"rmse": math.Sqrt(se / float64(n)), "mse": se / float64(n), "mae": ae / float64(n)}
	if ss > 0 {
		out["r2"] = 1 - se/ss
	}
	return out
}

func classificationScores(p Prediction) map[string]float64 {
	correct := 0
	total := map[float64]int{}
	hit := map[float64]int{}
	for i, y := range p.YTrue {
		total[y]++
		if p.YPred[i] == y {
			correct++
			hit[y]++
		}
	}
	// Sum the per-class recalls in class order: floating-point addition is not
	// associative, and map order would change the last digit from one ingestion to
	// the next, and with it the bytes of every file that shows the score.
	classes := slices.Sorted(maps.Keys(total))
	var recall float64
	for _, c := range classes {
		recall += float64(hit[c]) / float64(total[c])
	}
	return map[string]float64{
		"accuracy":          float64(correct) / float64(len(p.YTrue)),
		"balanced_accuracy": recall / float64(len(total)),
	}
}

// encodeFloats stores an array as little-endian float64s.
func encodeFloats(v []float64) []byte {
	b := make([]byte, 8*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(f))
	}
	return b
}

func decodeFloats(b []byte) []float64 {
	v := make([]float64, len(b)/8)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return v
}
