package catalog

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"time"
)

// Packed views: a rendered page kept for its generation (a session report,
// a dataset's history, run_summary.json) is held deflated and inflated on
// each open. These pages are HTML and JSON of every pipeline of a dataset,
// several MB each at 10,000 pipelines, and they shrink several times
// (measured in docs/PERFORMANCE.md); the mount's heap held them whole for
// every dataset, with the collector's headroom on top. The size stat shows
// is the inflated length, so nothing is inflated to answer a stat.

// packMin is the smallest content worth packing: below it the deflate
// stream's overhead and the inflate on every open cost more than they
// save. A variable so tests can pack small pages.
var packMin = 64 << 10

// DataView is a view of rendered bytes data, packed when that saves memory.
// The caller must not change data afterwards.
func DataView(name string, mtime time.Time, data []byte) View {
	v := View{Name: name, Mtime: mtime, Size: int64(len(data))}
	if len(data) >= packMin {
		if z, err := deflate(data); err == nil && len(z) < len(data)*3/4 {
			v.packed = z
			return v
		}
	}
	v.Data = data
	return v
}

// deflate compresses data at flate's fastest level: a 6 MB page in tens of
// milliseconds, against the hundreds its rendering took.
func deflate(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil // exactly sized: it is kept
}

// inflate restores a packed view's content, exactly size bytes.
func inflate(z []byte, size int64) ([]byte, error) {
	out := make([]byte, size)
	r := flate.NewReader(bytes.NewReader(z))
	defer r.Close()
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, fmt.Errorf("inflate view: %w", err)
	}
	return out, nil
}
