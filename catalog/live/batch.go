package live

// A pass's writes, made in one index transaction together with the
// live_pipelines rows that record them: a stored write of its own per
// file (a spool file, a transaction, and the catalog refresh every
// commit kicks in a mount) was most of a pass's time, and it held the
// store's write lock hundreds of times a pass, each time making
// nirs4all's own writes through the mount wait.
//
// The files are queued as the pass goes (writeIfChanged, binary) and
// written at its end (commit), with the mappings, so that the digests
// recorded never claim a file that is not written, even after a crash.
// A batch that fails as a whole (one pipeline's folder made read-only by
// hand, say) is written again pipeline by pipeline, so that one bad
// folder does not hold the others back; a pipeline whose writes fail is
// recorded as not projected (empty fingerprint, files unknown), so the
// next pass looks its files up and writes it again.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog/importer"
)

// queuedFile is one file a pass writes: a folder file (data), or a
// _binaries/ reference to a stored blob (bin).
type queuedFile struct {
	m     *mapping
	dir   string // runs/<ds>/<folder>, or runs/<ds>/_binaries for a binary
	name  string // file name in dir
	key   string // the mapping's name for it (m.files)
	data  []byte
	d     backing.Digest
	bin   *importer.Binary
	mtime time.Time
}

// writeQueue is the files queued by the pass under way.
type writeQueue struct{ files []queuedFile }

func (q *writeQueue) add(f queuedFile) { q.files = append(q.files, f) }

// commit writes the queued files and records the mappings ms in one
// transaction (falling back to one per pipeline, see above), and adds the
// files written to rep. Binaries whose blob the store does not have are
// then placed one by one (placeBinary copies the workspace's file). The
// queue is empty afterwards.
func (p *Projector) commit(ctx context.Context, q *writeQueue, ms []*mapping, rep *Report) error {
	files := q.files
	q.files = nil
	if len(files) == 0 && len(ms) == 0 {
		return nil
	}
	for _, f := range files {
		if f.bin == nil {
			if err := p.opts.Store.PutData(ctx, f.data); err != nil {
				return err
			}
		}
	}
	missing, err := p.writeBatch(ctx, files, ms, rep)
	if err != nil && ctx.Err() != nil {
		return err // stopping (unmount): the next start projects these again
	}
	if err != nil {
		missing, err = p.writeEach(ctx, files, ms, rep)
	}
	var placed []*mapping
	for _, f := range missing {
		there, perr := p.placeBinary(ctx, dirOf(f.dir), *f.bin, f.mtime, rep)
		if perr == nil && there {
			f.m.setFile(f.key, f.bin.Digest)
			placed = append(placed, f.m)
		}
		if err == nil {
			err = perr
		}
	}
	if serr := p.saveMappings(ctx, placed); err == nil {
		err = serr
	}
	return err
}

// writeEach is the fallback of commit: each pipeline's files with its
// mapping in a transaction of its own; the first error is returned after
// all were tried.
func (p *Projector) writeEach(ctx context.Context, files []queuedFile, ms []*mapping, rep *Report) ([]queuedFile, error) {
	byMapping := map[*mapping][]queuedFile{}
	for _, f := range files {
		byMapping[f.m] = append(byMapping[f.m], f)
	}
	var missing []queuedFile
	var first error
	for _, m := range ms {
		miss, err := p.writeBatch(ctx, byMapping[m], []*mapping{m}, rep)
		missing = append(missing, miss...)
		delete(byMapping, m)
		if err == nil {
			continue
		}
		if first == nil {
			first = fmt.Errorf("pipeline %s: %w", m.id, err)
		}
		m.fingerprint, m.files, m.filesKnown = "", nil, false
		if err := p.saveMapping(ctx, m); err != nil {
			p.log.Warn("live projection: record a pipeline not written", "pipeline", m.id, "err", err)
		}
	}
	if len(byMapping) > 0 && first == nil { // files of a mapping not in ms: a bug
		first = fmt.Errorf("%d pipelines' files queued without their mapping", len(byMapping))
	}
	return missing, first
}

// writeBatch writes files and records ms in one transaction; it returns
// the binaries whose blob the store lacks (not written).
func (p *Projector) writeBatch(ctx context.Context, files []queuedFile, ms []*mapping, rep *Report) ([]queuedFile, error) {
	var written []string
	var missing []queuedFile
	err := p.opts.Store.Update(ctx, func(tx *backing.Tx) error {
		written, missing = written[:0], missing[:0]
		dirs := map[string]uint64{}
		for _, f := range files {
			ino, ok := dirs[f.dir]
			if !ok {
				a, err := tx.MkdirAll(f.dir, 0o755)
				if err != nil {
					return err
				}
				ino, dirs[f.dir] = a.Ino, a.Ino
			}
			st, err := writeQueued(tx, ino, f)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", f.dir, f.name, err)
			}
			switch st {
			case fileMissing:
				missing = append(missing, f)
				continue
			case fileWritten:
				written = append(written, f.dir+"/"+f.name)
			}
			f.m.setFile(f.key, f.d) // recorded with the mappings, below
		}
		return p.saveMappingsTx(tx, ms)
	})
	if err != nil {
		return nil, err
	}
	rep.Files = append(rep.Files, written...)
	if len(written) > 0 {
		p.wrote()
	}
	return missing, nil
}

// wrote tells Options.OnWrite that the tree changed.
func (p *Projector) wrote() {
	if p.opts.OnWrite != nil {
		p.opts.OnWrite()
	}
}

type queuedState int

const (
	fileWritten queuedState = iota
	fileThere               // a binary's name already there
	fileMissing             // a binary whose blob the store does not have
)

// writeQueued writes one queued file in tx. A binary's name already taken
// is left alone (names carry the content's hash).
func writeQueued(tx *backing.Tx, dir uint64, f queuedFile) (queuedState, error) {
	if f.bin == nil {
		_, err := tx.WriteData(dir, f.name, f.data, 0o644, f.mtime)
		return fileWritten, err
	}
	if f.bin.Digest == (backing.Digest{}) {
		return fileMissing, nil
	}
	var size int64
	err := tx.QueryRow(`SELECT size FROM blobs WHERE hash = ?`, f.bin.Digest[:]).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		return fileMissing, nil
	}
	if err != nil {
		return fileMissing, err
	}
	_, err = tx.CreateFileOfBlob(dir, f.name, f.bin.Digest, size, 0o644, f.mtime)
	if errors.Is(err, backing.ErrExists) {
		return fileThere, nil
	}
	return fileWritten, err
}

// dirOf is the parent of a slash path.
func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return ""
}
