package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// Limits that keep one bad file from stalling the mount.
const (
	maxParseBytes  = 256 << 20 // a recognised file larger than this is stored but not parsed
	maxPredictRows = 2_000_000
)

// pipelineRecord is what one pipeline folder says now.
type pipelineRecord struct {
	ref      pipelineRef
	number   int
	name     string
	hash     string
	info     PipelineInfo // pipeline.json merged over manifest.yaml
	failed   bool         // error.log is present
	metrics  *Metrics     // nil: absent or unusable (keep what the catalog had)
	preds    []Prediction // nil: absent or unusable
	predBlob backing.Digest
	predSize int64
	pipeBlob backing.Digest
	pipeSize int64
	errors   []ParseError
}

// The files of a pipeline folder the catalog reads: only these are
// listed, so a folder that also holds thousands of other files costs the
// same to ingest.
var (
	recognisedNames    = []string{"error.log", "metrics.json", "predictions.csv", "pipeline.json", "manifest.yaml"}
	recognisedPrefixes = []string{"folds_"}
)

// readPipeline reads and parses the recognised files of a pipeline folder.
// A file that cannot be parsed is recorded as an error; it never fails the
// refresh.
func (c *Catalog) readPipeline(ctx context.Context, ref pipelineRef) (*pipelineRecord, error) {
	rec := &pipelineRecord{ref: ref}
	rec.number, rec.name, rec.hash, _ = nirs4all.ParsePipelineID(ref.pid)
	names, attrs, err := c.store.ReadDirPicked(ctx, ref.ino, recognisedNames, recognisedPrefixes)
	if err != nil {
		return nil, err
	}
	var manifest, pipeline *PipelineInfo
	for i, name := range names {
		a := &attrs[i]
		if !a.IsRegular() {
			continue
		}
		switch {
		case name == "error.log":
			rec.failed = true
		case name == "metrics.json":
			if data := c.readFile(ctx, rec, name, a); data != nil {
				if m, err := nirs4all.ParseMetrics(data); err != nil {
					rec.fail(name, err)
				} else {
					rec.metrics = &m
				}
			}
		case name == "predictions.csv":
			rec.predBlob, rec.predSize = a.Blob, a.Size
			if data := c.readFile(ctx, rec, name, a); data != nil {
				if p, err := nirs4all.ParsePredictions(data, maxPredictRows); err != nil {
					rec.fail(name, err)
				} else {
					rec.preds = p
				}
			}
		case name == "pipeline.json":
			rec.pipeBlob, rec.pipeSize = a.Blob, a.Size
			if data := c.readFile(ctx, rec, name, a); data != nil {
				if p, err := nirs4all.ParsePipelineJSON(data); err != nil {
					rec.fail(name, err)
				} else {
					pipeline = &p
				}
			}
		case name == "manifest.yaml":
			if data := c.readFile(ctx, rec, name, a); data != nil {
				if m, err := nirs4all.ParseManifest(data); err != nil {
					rec.fail(name, err)
				} else {
					manifest = &m
				}
			}
		case strings.HasPrefix(name, "folds_") && strings.HasSuffix(name, ".csv"):
			if data := c.readFile(ctx, rec, name, a); data != nil {
				if _, err := nirs4all.ParseFolds(name, data); err != nil {
					rec.fail(name, err)
				}
			}
		}
	}
	rec.info = mergeInfo(manifest, pipeline)
	return rec, nil
}

// readFile returns a recognised file's bytes, or nil (recording why) when
// it is empty, too large or unreadable.
func (c *Catalog) readFile(ctx context.Context, rec *pipelineRecord, name string, a *backing.Attr) []byte {
	switch {
	case a.Size == 0:
		rec.fail(name, fmt.Errorf("empty file"))
		return nil
	case a.Size > maxParseBytes:
		rec.fail(name, fmt.Errorf("%d bytes: larger than the %d MiB the catalog parses", a.Size, maxParseBytes>>20))
		return nil
	}
	data, err := c.store.ReadBlob(ctx, a.Blob, a.Size)
	if err != nil {
		rec.fail(name, err)
		return nil
	}
	return data
}

func (rec *pipelineRecord) fail(file string, err error) {
	rec.errors = append(rec.errors, ParseError{File: file, Reason: err.Error()})
}

// mergeInfo takes pipeline.json's fields over manifest.yaml's.
func mergeInfo(manifest, pipeline *PipelineInfo) PipelineInfo {
	var out PipelineInfo
	for _, p := range []*PipelineInfo{manifest, pipeline} {
		if p == nil {
			continue
		}
		setIf(&out.ID, p.ID)
		setIf(&out.Hash, p.Hash)
		setIf(&out.Name, p.Name)
		setIf(&out.Dataset, p.Dataset)
		setIf(&out.CreatedAt, p.CreatedAt)
		setIf(&out.Status, p.Status)
		setIf(&out.ModelClass, p.ModelClass)
		setIf(&out.Model, p.Model)
		if p.DurationSec > 0 {
			out.DurationSec = p.DurationSec
		}
		if len(p.Preprocessing) > 0 {
			out.Preprocessing = p.Preprocessing
		}
		if len(p.Artifacts) > 0 {
			out.Artifacts = p.Artifacts
		}
	}
	return out
}

func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

func isDirMode(mode uint32) bool { return mode&0o170000 == 0o040000 }
