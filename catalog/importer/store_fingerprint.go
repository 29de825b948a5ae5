package importer

// Fingerprints of what a pipeline's folder is projected from, so that a
// live view re-projects only the pipelines whose rows changed. A pass
// computes one for every pipeline of the store, so they are built from
// digests computed once: each row's (rowHasher.digest, taken when it is
// read) and each prediction's arrays' (when arrays/<ds>.parquet is read).

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
	h := newRowHasher()
	h.addRow("pipelines", p.row)
	for _, ch := range s.d.Chains[p.ID] {
		h.addRow("chains", ch)
	}
	for _, id := range s.artifactIDs(p.ID) {
		h.addRow("artifacts", s.d.Artifacts[id])
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
	h := newRowHasher()
	if run, ok := s.d.Runs[p.RunID]; ok {
		h.addRow("runs", run)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashPreds hashes p's prediction rows, their arrays and tombstones.
func (s *Snapshot) hashPreds(h *rowHasher, p StorePipeline) {
	arr := s.datasetArrays(p.Dataset)
	for _, r := range s.d.Preds[p.ID] {
		h.addRow("predictions", r)
		id := r.str("prediction_id")
		a, ok := arr[id]
		fmt.Fprintf(h, "arrays %t %t\x00", ok, s.tomb[id])
		h.Write(a.digest[:])
	}
}

// rowHasher hashes rows. A pass fingerprints every pipeline of the store,
// so it keeps what rows of one table share: their columns in name order,
// and one buffer that a row is encoded into before it is hashed.
type rowHasher struct {
	hash.Hash
	one  hash.Hash // a row's own digest
	buf  []byte
	keys map[string][]string // table → its rows' columns, sorted
}

func newRowHasher() *rowHasher {
	return &rowHasher{Hash: sha256.New(), one: sha256.New(), keys: map[string][]string{}}
}

// addRow adds r's digest to the hash.
func (h *rowHasher) addRow(table string, r dbRow) {
	d := h.digest(table, r)
	h.Write(d[:])
}

// digest is r's digest: the one taken when the row was read, else the
// hash of its columns. A missing row (nil) hashes as a row without
// columns.
func (h *rowHasher) digest(table string, r dbRow) [sha256.Size]byte {
	if d, ok := r[rowDigestKey].([sha256.Size]byte); ok {
		return d
	}
	h.one.Reset()
	h.one.Write(h.encode(table, r))
	var d [sha256.Size]byte
	h.one.Sum(d[:0])
	return d
}

// rowSkip are the keys of a dbRow that are not the table's columns: the
// pipelines' rowid, kept for ordering, and the row's digest.
var rowSkip = []string{"n4ws_rowid", rowDigestKey}

// encode gives r's columns in name order, each value with its type (NULL,
// 1 and "1" encode apart). table names the sort order to reuse.
func (h *rowHasher) encode(table string, r dbRow) []byte {
	skip := rowSkip
	keys := h.keys[table]
	if !sameKeys(keys, r, skip) {
		keys = keys[:0]
		for k := range r {
			if !containsStr(skip, k) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		h.keys[table] = keys
	}
	b := h.buf[:0]
	for _, k := range keys {
		b = append(b, k...)
		switch v := r[k].(type) {
		case nil:
			b = append(b, 0, 'n')
		case string:
			b = append(b, 0, 's')
			b = binary.LittleEndian.AppendUint64(b, uint64(len(v)))
			b = append(b, v...)
		case int64:
			b = append(b, 0, 'i')
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		case float64:
			b = append(b, 0, 'f')
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		case time.Time:
			b = fmt.Appendf(b, "\x00t%s\x00", v.Format(time.RFC3339Nano))
		default:
			b = fmt.Appendf(b, "\x00?%T:%v\x00", v, v)
		}
	}
	b = append(b, 0xff)
	h.buf = b
	return b
}

// sameKeys says whether keys are exactly r's columns but skip.
func sameKeys(keys []string, r dbRow, skip []string) bool {
	n := len(r)
	for _, s := range skip {
		if _, ok := r[s]; ok {
			n--
		}
	}
	if n != len(keys) {
		return false
	}
	for _, k := range keys {
		if _, ok := r[k]; !ok {
			return false
		}
	}
	return true
}

// arraysDigest is the digest of one prediction's arrays.
func arraysDigest(a storeArrays) [sha256.Size]byte {
	h := sha256.New()
	for _, f := range [][]float64{a.yt, a.yp, a.idx} {
		hashFloats(h, f)
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}

func hashFloats(h hash.Hash, fs []float64) {
	b := make([]byte, 8*(len(fs)+1))
	binary.LittleEndian.PutUint64(b, uint64(len(fs)))
	for i, f := range fs {
		binary.LittleEndian.PutUint64(b[8*(i+1):], math.Float64bits(f))
	}
	h.Write(b)
}
