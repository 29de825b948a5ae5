package live

// The numbers of projected pipelines: given once, in the order the
// pipelines appear (created_at, then rowid), kept in live_pipelines so
// that they never change once shown, and reserved by creating the folder
// with the same rule mkdir follows in the mount (no two entries of a
// dataset start with the same "NNNN_"), so that a folder written directly
// by someone else never collides with a projected one.

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog/importer"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

func (p *Projector) loadMappings(ctx context.Context) (map[string]*mapping, error) {
	rows, err := p.opts.Store.Reader().QueryContext(ctx,
		`SELECT pipeline_id, dataset, number, folder, fingerprint, deleted, run_fingerprint, files, workspace FROM live_pipelines`)
	if err != nil {
		return nil, fmt.Errorf("read live_pipelines: %w", err)
	}
	defer rows.Close()
	out := map[string]*mapping{}
	for rows.Next() {
		m := &mapping{}
		var files string
		if err := rows.Scan(&m.id, &m.dataset, &m.number, &m.folder, &m.fingerprint, &m.deleted, &m.runFingerprint, &files, &m.owner); err != nil {
			return nil, err
		}
		m.filesKnown = json.Unmarshal([]byte(files), &m.files) == nil // "" before files were recorded
		out[m.id] = m
	}
	return out, rows.Err()
}

func (p *Projector) saveMapping(ctx context.Context, m *mapping) error {
	return p.saveMappings(ctx, []*mapping{m})
}

// saveMappings records the mappings in one index write (none when empty).
func (p *Projector) saveMappings(ctx context.Context, ms []*mapping) error {
	if len(ms) == 0 {
		return nil
	}
	return p.opts.Store.Update(ctx, func(tx *backing.Tx) error { return p.saveMappingsTx(tx, ms) })
}

// saveMappingsTx records the mappings in tx.
func (p *Projector) saveMappingsTx(tx *backing.Tx, ms []*mapping) error {
	for _, m := range ms {
		files, err := json.Marshal(m.files)
		if err != nil || !m.filesKnown {
			files = nil // not known: looked up before the next write
		} else if m.files == nil {
			files = []byte("{}")
		}
		m.owner = p.owner // only this workspace's pipelines are saved here
		_, err = tx.Exec(`INSERT INTO live_pipelines (pipeline_id, dataset, number, folder, fingerprint, deleted, run_fingerprint, files, workspace)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (pipeline_id) DO UPDATE SET dataset = excluded.dataset,
			number = excluded.number, folder = excluded.folder, fingerprint = excluded.fingerprint, deleted = excluded.deleted,
			run_fingerprint = excluded.run_fingerprint, files = excluded.files, workspace = excluded.workspace`,
			m.id, m.dataset, m.number, m.folder, m.fingerprint, deletedFlag(m.deleted), m.runFingerprint, string(files), m.owner)
		if err != nil {
			return fmt.Errorf("save live_pipelines %s: %w", m.id, err)
		}
	}
	return nil
}

// setFile records that the folder's file (or _binaries/<name>) holds d.
func (m *mapping) setFile(name string, d backing.Digest) {
	if m.files == nil {
		m.files = map[string]string{}
	}
	m.files[name] = d.String()
}

// reserve makes sure the pipeline has its folder: the one it was given
// (created again if it is gone and its number is still free), else the
// next number of the dataset (importer.NextNumber: after the highest in
// use by folders and by every number ever given, deleted ones included).
func (p *Projector) reserve(ctx context.Context, sp importer.StorePipeline, m *mapping, maps map[string]*mapping) error {
	s := p.opts.Store
	dsDir := "runs/" + sp.Dataset
	parent, err := s.MkdirAll(ctx, dsDir, 0o755)
	if err != nil {
		return err
	}
	if m.folder != "" {
		if a, err := s.ResolvePath(ctx, dsDir+"/"+m.folder); err == nil && a.IsDir() {
			return nil
		}
		if err := p.mkdirUnique(ctx, parent.Ino, m.folder); err == nil {
			m.files, m.filesKnown = nil, true // made again: empty
			p.wrote()
			return nil
		} else if !errors.Is(err, backing.ErrExists) {
			return err
		}
	}
	used, err := p.usedNumbers(ctx, parent.Ino, sp.Dataset, maps)
	if err != nil {
		return err
	}
	for {
		n, err := importer.NextNumber(used)
		if err != nil {
			return fmt.Errorf("dataset %s: %w", sp.Dataset, err)
		}
		name := importer.FolderName(n, sp)
		given := *m
		given.number, given.folder = n, name
		given.files, given.filesKnown = nil, true // new: empty
		err = p.opts.Store.Update(ctx, func(tx *backing.Tx) error {
			if err := mkdirUniqueTx(tx, parent.Ino, name); err != nil {
				return err
			}
			return p.saveMappingsTx(tx, []*mapping{&given}) // with the folder: a number is given once
		})
		if errors.Is(err, backing.ErrExists) {
			used[n] = true // taken meanwhile by a mkdir through the mount
			continue
		}
		if err != nil {
			return err
		}
		used[n] = true
		*m = given
		maps[m.id] = m
		p.wrote() // the folder shows at once, its files at the end of the pass
		return nil
	}
}

// mkdirUnique creates runs/<ds>/<name> unless an entry already starts
// with its "NNNN_" (the mount's mkdir rule).
func (p *Projector) mkdirUnique(ctx context.Context, parent uint64, name string) error {
	return p.opts.Store.Update(ctx, func(tx *backing.Tx) error { return mkdirUniqueTx(tx, parent, name) })
}

func mkdirUniqueTx(tx *backing.Tx, parent uint64, name string) error {
	_, err := tx.Mknod(parent, name, backing.NewNode{Mode: syscall.S_IFDIR | 0o755, UniquePrefix: name[:5]})
	return err
}

// usedNumbers is the set of numbers in use in runs/<ds>/ (its folders and
// the numbers given to the dataset's pipelines), read once per pass: the
// numbers a pass gives are added to it, and one taken by a mkdir meanwhile
// shows as EEXIST when reserved.
func (p *Projector) usedNumbers(ctx context.Context, parent uint64, ds string, maps map[string]*mapping) (map[int]bool, error) {
	if used, ok := p.used[ds]; ok {
		return used, nil
	}
	used := map[int]bool{}
	ents, err := p.opts.Store.ReadDir(ctx, parent)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if n, _, _, ok := nirs4all.ParsePipelineID(e.Name); ok {
			used[n] = true
		}
	}
	for _, m := range maps {
		if m.dataset == ds && m.number > 0 {
			used[m.number] = true
		}
	}
	if p.used != nil {
		p.used[ds] = used
	}
	return used, nil
}

// rowTime is the pipeline's completion (else creation) time, else now.
func rowTime(sp importer.StorePipeline) time.Time {
	if t, ok := sp.Time(); ok {
		return t
	}
	return time.Now()
}

// deletedFlag is the integer the deleted column holds: PostgreSQL (a team
// store) takes no Go bool for an integer column.
func deletedFlag(deleted bool) int {
	if deleted {
		return 1
	}
	return 0
}
