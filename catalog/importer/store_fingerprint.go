package importer

// Fingerprints of what a pipeline's folder is projected from, so that a
// live view re-projects only the pipelines whose rows changed. They hash
// the rows as read (no JSON decoding) and the prediction arrays as raw
// floats: a pass computes them for every pipeline of the store.

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"math"
	"sort"
	"time"
)

// Fingerprint is a digest of everything Project reads for p except the
// run's row: the pipeline's row, its chains, the artifacts they name, its
// predictions with their arrays, and, for a refit, those of the
// cross-validation pipeline it refits. Equal fingerprints and equal
// RunFingerprints give equal folders.
func (s *Snapshot) Fingerprint(p StorePipeline) string {
	h := sha256.New()
	hashRow(h, p.row, "n4ws_rowid")
	for _, ch := range s.d.Chains[p.ID] {
		hashRow(h, ch)
	}
	for _, id := range s.artifactIDs(p.ID) {
		hashRow(h, s.d.Artifacts[id])
	}
	s.hashPreds(h, p)
	for _, cv := range s.cvPipeline(p) {
		h.Write([]byte("cv\x00" + cv.ID + "\x00"))
		s.hashPreds(h, cv)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// RunFingerprint is a digest of what p's folder shows of its run: the
// run's row, shown in manifest.yaml (store_run) and in no other file.
func (s *Snapshot) RunFingerprint(p StorePipeline) string {
	h := sha256.New()
	if run, ok := s.d.Runs[p.RunID]; ok {
		hashRow(h, run)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashPreds hashes p's prediction rows, their arrays and tombstones.
func (s *Snapshot) hashPreds(h hash.Hash, p StorePipeline) {
	arr := s.datasetArrays(p.Dataset)
	for _, r := range s.d.Preds[p.ID] {
		hashRow(h, r)
		id := r.str("prediction_id")
		a, ok := arr[id]
		fmt.Fprintf(h, "arrays %t %t\x00", ok, s.tomb[id])
		for _, f := range [][]float64{a.yt, a.yp, a.idx} {
			hashFloats(h, f)
		}
	}
}

// hashRow hashes a row's columns in name order, each value with its type
// (NULL, 1 and "1" hash apart).
func hashRow(h hash.Hash, r dbRow, skip ...string) {
	keys := make([]string, 0, len(r))
	for k := range r {
		if !containsStr(skip, k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var num [8]byte
	for _, k := range keys {
		h.Write([]byte(k))
		switch v := r[k].(type) {
		case nil:
			h.Write([]byte{0, 'n'})
		case string:
			binary.LittleEndian.PutUint64(num[:], uint64(len(v)))
			h.Write([]byte{0, 's'})
			h.Write(num[:])
			h.Write([]byte(v))
		case int64:
			binary.LittleEndian.PutUint64(num[:], uint64(v))
			h.Write([]byte{0, 'i'})
			h.Write(num[:])
		case float64:
			binary.LittleEndian.PutUint64(num[:], math.Float64bits(v))
			h.Write([]byte{0, 'f'})
			h.Write(num[:])
		case time.Time:
			fmt.Fprintf(h, "\x00t%s\x00", v.Format(time.RFC3339Nano))
		default:
			fmt.Fprintf(h, "\x00?%T:%v\x00", v, v)
		}
	}
	h.Write([]byte{0xff})
}

func hashFloats(h hash.Hash, fs []float64) {
	b := make([]byte, 8*(len(fs)+1))
	binary.LittleEndian.PutUint64(b, uint64(len(fs)))
	for i, f := range fs {
		binary.LittleEndian.PutUint64(b[8*(i+1):], math.Float64bits(f))
	}
	h.Write(b)
}
