// Package live projects a nirs4all 0.11 workspace store (store.sqlite,
// arrays/, artifacts/: FORMATS.md §6) into the documented tree, live: every
// pipeline of store.sqlite becomes a folder runs/<dataset>/NNNN_<name>/,
// written as ordinary stored files, so that the catalog, best files,
// exports, Parquet and reports take them in like any pipeline folder.
//
// The mapping itself (which files a pipeline's folder holds) is
// catalog/importer's Snapshot.Project, the code `n4ws import` uses: the
// live view and an import of the same workspace give the same folders.
// This package adds what a live view needs: numbers given once and kept
// (the live_pipelines table, in the index), folders reserved the way
// mkdir reserves them (EEXIST on a taken number), only changed pipelines
// rewritten, folders of pipelines nirs4all deleted removed, and a
// debounced loop (Run) driven by Notify.
package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/catalog"
	"github.com/n4ws/n4ws/catalog/importer"
	"github.com/n4ws/n4ws/catalog/nirs4all"
)

// Options configure a Projector.
type Options struct {
	// Store is where the folders are written. In a mount, a handle opened
	// with LogChanges, so that the mount drops the kernel's caches of the
	// places written (as for a CLI command).
	Store *backing.Store
	// Workspace is the folder nirs4all writes (the mount point): its
	// store.sqlite is read there, through SQLite's own locks.
	Workspace string
	// StatDir is where store.sqlite and its -wal really are, to tell
	// whether they changed (default Workspace). A mount passes its backing
	// folder: the kernel caches the attributes of the mount's files.
	StatDir string
	// Snapshot copies the live database db into the new file dst,
	// consistently (importer.BackupStore, the default). A mount passes
	// one that runs it in another process: SQLite cannot open a file of
	// a mount served by its own process (see importer.BackupStore).
	Snapshot func(ctx context.Context, db, dst string) error
	// OnWrite, if set, is called after each index write that changes the
	// tree (a folder reserved, a pass's files, folders removed), so that
	// a mount shows it without waiting for its change poller. It must
	// not block.
	OnWrite func()
	Logger  *slog.Logger
}

// Projector keeps runs/ in step with a workspace's store.sqlite.
type Projector struct {
	opts Options // read only
	log  *slog.Logger

	loop   loopState               // Run's state (loop.go)
	arrays *importer.ArraysCache   // arrays/<ds>.parquet parsed, kept while unchanged
	reader *importer.StoreReader   // store.sqlite's rows as the last pass read them (nil: none yet)
	owner  string                  // this workspace's id (workspaceID), in live_pipelines.workspace
	stale  staleBinaries           // of the current Pass (never concurrent): prune.go
	used   map[string]map[int]bool // of the current Pass: dataset → numbers in use (usedNumbers)
	queue  writeQueue              // the files of the pass under way (batch.go)
}

// New prepares a projector (and its table in the index).
func New(ctx context.Context, opts Options) (*Projector, error) {
	if err := EnsureSchema(ctx, opts.Store); err != nil {
		return nil, err
	}
	if opts.StatDir == "" {
		opts.StatDir = opts.Workspace
	}
	if opts.Snapshot == nil {
		opts.Snapshot = importer.BackupStore
	}
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	owner, err := workspaceID(opts.Store.Dir())
	if err != nil {
		return nil, err
	}
	return &Projector{opts: opts, log: l, loop: newLoopState(), arrays: &importer.ArraysCache{Dir: opts.StatDir}, owner: owner}, nil
}

// Close removes what the projector keeps between passes on disk (the
// last snapshot). Run closes it when it returns; a later Pass starts
// afresh.
func (p *Projector) Close() error {
	if p.reader == nil {
		return nil
	}
	err := p.reader.Close()
	p.reader = nil
	return err
}

// EnsureSchema creates or upgrades the projection's table in s's index
// (New does it; `n4ws migrate` does it for both stores, which copies it).
func EnsureSchema(ctx context.Context, s *backing.Store) error {
	return s.EnsureSchema(ctx, "live", migrations)
}

var migrations = []string{
	`CREATE TABLE live_pipelines (
		pipeline_id TEXT PRIMARY KEY,  -- store.sqlite's pipelines.pipeline_id
		dataset TEXT NOT NULL,
		number INTEGER NOT NULL,       -- NNNN, given once
		folder TEXT NOT NULL,          -- NNNN_<name> in runs/<dataset>/
		fingerprint TEXT NOT NULL DEFAULT '', -- of what the folder was last written from
		deleted INTEGER NOT NULL DEFAULT 0    -- 1 once nirs4all deleted it
	);
	CREATE INDEX live_pipelines_dataset ON live_pipelines (dataset, number);`,
	// What a pass compares before writing: the run fields the folder shows
	// (a change rewrites manifest.yaml only), and the digest of each file
	// it last wrote or found (an unchanged file costs no index lookup).
	`ALTER TABLE live_pipelines ADD COLUMN run_fingerprint TEXT NOT NULL DEFAULT '';
	ALTER TABLE live_pipelines ADD COLUMN files TEXT NOT NULL DEFAULT '';`,
	// Which workspace projected the pipeline (workspaceID): on a team
	// store each machine's mount projects its own store.sqlite into the
	// shared tree, and removes only the folders of its own pipelines that
	// nirs4all deleted. '' (rows from before): this store's only one.
	`ALTER TABLE live_pipelines ADD COLUMN workspace TEXT NOT NULL DEFAULT '';`,
}

// Report says what a pass did.
type Report struct {
	Pipelines int      // in store.sqlite
	Written   []string // runs/<ds>/<folder> created or updated
	Files     []string // the files written (stored), folder files and _binaries/
	Removed   []string // runs/<ds>/<folder> of pipelines nirs4all deleted
	Stale     []string // files the projection wrote and no longer produces, removed
	Notes     []string
	Snapshot  time.Duration // of the pass's time, taking and reading the snapshot
	RowsRead  int           // store.sqlite rows read: those new or changed since the last pass
}

// mapping is one live_pipelines row.
type mapping struct {
	id, dataset, folder string
	fingerprint         string            // importer's Fingerprint of what the folder was written from
	runFingerprint      string            // importer's RunFingerprint, the same
	files               map[string]string // folder file or _binaries/<name> → digest (hex) last written or found
	filesKnown          bool              // files lists every file written there (else looked up before writing)
	number              int
	deleted             bool
	owner               string // the workspace that projects it ('' before this was recorded)
}

// Pass projects the store once: it reads a snapshot of store.sqlite (a
// store that is missing or not a database yet is no work), writes the folders of new and changed
// pipelines and removes those of deleted ones.
func (p *Projector) Pass(ctx context.Context) (Report, error) {
	var rep Report
	if ok, err := p.storeReady(); err != nil || !ok {
		return rep, err
	}
	if p.reader == nil {
		r, err := importer.NewStoreReader()
		if err != nil {
			return rep, err
		}
		p.reader = r
	}
	db := filepath.Join(p.opts.Workspace, "store.sqlite")
	snapFile, err := p.reader.NextPath()
	if err != nil {
		return rep, err
	}
	start := time.Now()
	if err := p.opts.Snapshot(ctx, db, snapFile); err != nil {
		return rep, fmt.Errorf("snapshot %s: %w", db, err)
	}
	snap, err := p.reader.Load(ctx, os.DirFS(p.opts.Workspace))
	rep.Snapshot = time.Since(start)
	if err == nil {
		rep.RowsRead = p.reader.RowsRead()
	}
	if errors.Is(err, importer.ErrNotWorkspace) {
		return rep, nil // not (yet) a nirs4all store: no pipelines table
	}
	if err != nil {
		return rep, err
	}
	snap.UseArraysCache(p.arrays)
	p.stale, p.used = staleBinaries{}, map[string]map[int]bool{}
	maps, err := p.loadMappings(ctx)
	if err != nil {
		return rep, err
	}
	seen := map[string]bool{}
	pipes := snap.Pipelines()
	rep.Pipelines = len(pipes)
	var changed []*mapping // fingerprints to record, in one index write
	// On a failure, what was written so far is recorded all the same, so
	// that the recorded digests never lag behind the files.
	recordSoFar := func() {
		if err := p.commit(context.WithoutCancel(ctx), &p.queue, changed, &rep); err != nil {
			p.log.Warn("live projection: record after a failed pass", "err", err)
		}
	}
	for _, sp := range pipes {
		if err := ctx.Err(); err != nil {
			recordSoFar()
			return rep, err
		}
		if err := catalog.CheckDatasetName(sp.Dataset); err != nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("pipeline %s: dataset name: %v", sp.ID, err))
			continue
		}
		seen[sp.ID] = true
		m, err := p.projectIfChanged(ctx, snap, sp, maps[sp.ID], maps, &rep)
		if err != nil {
			// The failed pipeline keeps its old fingerprint: the next pass
			// projects it again.
			if half := maps[sp.ID]; half != nil {
				changed = append(changed, half)
			}
			recordSoFar()
			return rep, fmt.Errorf("pipeline %s (%s): %w", sp.ID, sp.Name, err)
		}
		if m != nil {
			changed = append(changed, m)
		}
	}
	if err := p.commit(ctx, &p.queue, changed, &rep); err != nil {
		return rep, err
	}
	removed, err := p.removeDeleted(ctx, maps, seen)
	rep.Removed = removed
	if len(removed) > 0 {
		p.wrote()
	}
	rep.Notes = append(rep.Notes, snap.Notes()...)
	if err != nil {
		return rep, err
	}
	return rep, p.removeStaleBinaries(ctx, p.stale, &rep)
}

// projectIfChanged brings one pipeline's folder in step with the snapshot
// and returns its mapping when its fingerprints are to be recorded (nil
// when nothing changed). Its rows unchanged and only the run's row
// changed, it rewrites manifest.yaml alone (the only file showing the
// run), and only if its folder is still there.
func (p *Projector) projectIfChanged(ctx context.Context, snap *importer.Snapshot, sp importer.StorePipeline, m *mapping, maps map[string]*mapping, rep *Report) (*mapping, error) {
	fp, rfp := snap.Fingerprint(sp), snap.RunFingerprint(sp)
	known := m != nil && !m.deleted && m.fingerprint == fp
	if known && m.runFingerprint == rfp {
		return nil, nil
	}
	dir := ""
	if m != nil {
		dir = "runs/" + sp.Dataset + "/" + m.folder
	}
	if known {
		if a, err := p.opts.Store.ResolvePath(ctx, dir); err == nil && a.IsDir() {
			data := snap.Manifest(sp, m.folder)
			if err := p.writeIfChanged(ctx, m, dir, nirs4all.ManifestFile, data, rowTime(sp), rep); err != nil {
				return nil, err
			}
			m.runFingerprint = rfp
			rep.Written = append(rep.Written, dir)
			return m, nil
		}
	}
	m, dir, err := p.projectOne(ctx, snap, sp, m, maps, rep)
	if err != nil {
		return nil, err
	}
	m.fingerprint, m.runFingerprint = fp, rfp
	rep.Written = append(rep.Written, dir)
	return m, nil
}

// projectOne writes one pipeline's folder, reserving its number first if
// it has none (or its folder is gone), and returns its mapping.
func (p *Projector) projectOne(ctx context.Context, snap *importer.Snapshot, sp importer.StorePipeline, m *mapping, maps map[string]*mapping, rep *Report) (*mapping, string, error) {
	if m == nil || m.deleted {
		m = &mapping{id: sp.ID, dataset: sp.Dataset}
	}
	if err := p.reserve(ctx, sp, m, maps); err != nil {
		return nil, "", err
	}
	dsDir := "runs/" + sp.Dataset
	dir := dsDir + "/" + m.folder
	proj := snap.Project(sp, m.folder)
	mtime := rowTime(sp)
	names := make([]string, 0, len(proj.Files))
	for n := range proj.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := p.writeIfChanged(ctx, m, dir, n, proj.Files[n], mtime, rep); err != nil {
			return nil, "", err
		}
	}
	for _, b := range proj.Binaries {
		if err := p.binary(ctx, m, dsDir, b, mtime, rep); err != nil {
			return nil, "", err
		}
	}
	if m.filesKnown {
		if err := p.dropUnproduced(ctx, m, dir, proj, p.stale, rep); err != nil {
			return nil, "", err
		}
	}
	m.filesKnown = true // every file of the folder is now written or looked up
	return m, dir, nil
}

// writeIfChanged stores data as the file dir/name unless the mapping
// records that it wrote it with this content (no index access), or the
// file holds it already. The file is looked up only when the mapping
// does not know its folder's files (a row from before they were
// recorded): otherwise a file it does not list was never written there.
func (p *Projector) writeIfChanged(ctx context.Context, m *mapping, dir, name string, data []byte, mtime time.Time, rep *Report) error {
	d := digestOf(data)
	if m.files[name] == d.String() {
		return nil
	}
	if !m.filesKnown {
		if a, err := p.opts.Store.ResolvePath(ctx, dir+"/"+name); err == nil && !a.IsDir() && a.Size == int64(len(data)) && a.Blob == d {
			m.setFile(name, d)
			return nil
		}
	}
	p.queue.add(queuedFile{m: m, dir: dir, name: name, key: name, data: data, d: d, mtime: mtime})
	return nil
}

// binary shows an artifact file in runs/<ds>/_binaries/: a reference to
// the blob the mount stored for artifacts/<aa>/<file> (content_hash is
// its SHA-256, the store's digest), else, outside a mount, a copy of the
// workspace's file. A name already there is left alone (names carry the
// content's hash).
func (p *Projector) binary(ctx context.Context, m *mapping, dsDir string, b importer.Binary, mtime time.Time, rep *Report) error {
	key := "_binaries/" + b.Name
	if _, ok := m.files[key]; ok {
		return nil // there at an earlier pass
	}
	p.queue.add(queuedFile{m: m, dir: dsDir + "/_binaries", name: b.Name, key: key, d: b.Digest, bin: &b, mtime: mtime})
	return nil
}

// placeBinary makes runs/<ds>/_binaries/<name> (see binary) and says
// whether it is there.
func (p *Projector) placeBinary(ctx context.Context, dsDir string, b importer.Binary, mtime time.Time, rep *Report) (bool, error) {
	s := p.opts.Store
	dst := dsDir + "/_binaries/" + b.Name
	if _, err := s.ResolvePath(ctx, dst); err == nil {
		return true, nil
	}
	dir, err := s.MkdirAll(ctx, dsDir+"/_binaries", 0o755)
	if err != nil {
		return false, err
	}
	if b.Digest != (backing.Digest{}) {
		err := s.Update(ctx, func(tx *backing.Tx) error {
			var size int64
			if err := tx.QueryRow(`SELECT size FROM blobs WHERE hash = ?`, b.Digest[:]).Scan(&size); err != nil {
				return backing.ErrNotFound
			}
			_, err := tx.CreateFileOfBlob(dir.Ino, b.Name, b.Digest, size, 0o644, mtime)
			return err
		})
		if err == nil {
			rep.Files = append(rep.Files, dst)
		}
		if err == nil || errors.Is(err, backing.ErrExists) {
			return true, nil
		}
		if !errors.Is(err, backing.ErrNotFound) {
			return false, err
		}
	}
	f, err := os.Open(filepath.Join(p.opts.Workspace, filepath.FromSlash(b.Source)))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // nirs4all removed it (per-fold artifacts after a refit)
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	if _, err = s.WriteFile(ctx, dst, f, 0o644, mtime); err != nil {
		return false, err
	}
	rep.Files = append(rep.Files, dst)
	return true, nil
}

// removeDeleted removes the folders of pipelines no longer in the store,
// so that the catalog marks them run_deleted (archives keep their content).
func (p *Projector) removeDeleted(ctx context.Context, maps map[string]*mapping, seen map[string]bool) ([]string, error) {
	var out []string
	for _, m := range maps {
		if m.deleted || seen[m.id] || m.owner != "" && m.owner != p.owner {
			continue // another machine's pipeline: not in this store.sqlite
		}
		dir := "runs/" + m.dataset + "/" + m.folder
		if _, err := p.opts.Store.RemoveAll(ctx, dir); err != nil && !errors.Is(err, backing.ErrNotFound) {
			return out, fmt.Errorf("remove %s: %w", dir, err)
		}
		m.deleted = true
		for key, digest := range m.files {
			if name, ok := strings.CutPrefix(key, binariesPrefix); ok {
				p.stale.add(m.dataset, name, digest)
			}
		}
		if err := p.saveMapping(ctx, m); err != nil {
			return out, err
		}
		out = append(out, dir)
	}
	sort.Strings(out)
	return out, nil
}

func digestOf(data []byte) backing.Digest {
	var d backing.Digest
	if len(data) > 0 {
		d = backing.Digest(sha256Sum(data))
	}
	return d
}

// sqliteMagic starts the header of every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// storeReady says whether store.sqlite holds a database yet, reading its
// header where it really is (StatDir). The mount seeds it empty, and
// nirs4all creates it empty before SQLite writes its first page: no
// snapshot is taken of such a file (it holds no pipelines).
func (p *Projector) storeReady() (bool, error) {
	f, err := os.Open(filepath.Join(p.opts.StatDir, "store.sqlite"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	if _, err := io.ReadFull(f, head); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, nil
		}
		return false, fmt.Errorf("read store.sqlite header: %w", err)
	}
	return string(head) == sqliteMagic, nil
}
