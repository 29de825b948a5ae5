package backing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/mattn/go-sqlite3"
)

// driverName is mattn's SQLite driver with the connection settings the
// DSN cannot carry. mmap_size lets every connection read the first
// indexMmapBytes of the index through the kernel's page cache instead of
// each copying pages into its own cache: inline blobs make the index
// large, and readers are many.
const driverName = "sqlite3_n4ws"

// indexMmapBytes bounds the index's memory map. Every mapped page a query
// touched counts in the mount's RSS until the kernel reclaims it: with a
// 1 GiB map, a find of a million-file store left 957 MB of the index
// mapped. Beyond the bound SQLite reads pages with pread into its own
// small cache, from the same page cache. Measured 2026-11-29 on 200,299
// nodes (docs/PERFORMANCE.md "Scale"): RSS after a cold find 1,162 ->
// 328 MB, with find, ls -l and the catalog refresh unchanged, and the
// small-file rows of make bench within their run-to-run noise.
const indexMmapBytes = 64 << 20

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec(fmt.Sprintf("PRAGMA mmap_size = %d", indexMmapBytes), nil)
			return err
		},
	})
}

// Options configure an open Store.
type Options struct {
	// Logger receives the store's log lines; nil means slog.Default().
	Logger *slog.Logger
	// LogChanges records every namespace and content change in the changes
	// table, so that a running mount can invalidate the kernel's caches.
	// Every process but the mount itself sets it.
	LogChanges bool
	// Durable fsyncs blob content before it is referenced. Without it a
	// committed file survives a crash of the process (the data is in the
	// kernel's page cache) but not necessarily a power cut, as on ext4.
	Durable bool
	// InlineMax overrides the size up to which blobs are kept in the index
	// (default DefaultInlineMax); a negative value keeps every blob a file.
	InlineMax int64
	// Writeback, for a team store, returns from a file's commit once its
	// new blob is staged on this machine and uploads it in the background
	// (writeback.go); SyncBlob waits for the upload.
	Writeback bool
	// ResumeUploads, for a team store, uploads in the background the
	// blobs an earlier Writeback run staged and did not upload (the mount
	// sets it; other commands leave them to it).
	ResumeUploads bool
}

// Store is an open n4ws store. It is safe for concurrent use.
type Store struct {
	dir    string  // read only
	opts   Options // read only
	log    *slog.Logger
	idx    IndexEngine // the index behind its seam (read only)
	rdb    *sql.DB     // idx.Reader(): reads outside write transactions
	wdb    *sql.DB     // idx.DB(): write transactions
	stmts  stmts       // prepared on rdb
	wstmts stmts       // prepared on wdb: getAttr, lookup, parentOf

	shared bool       // the index is a server many machines use (read only)
	known  *lastKnown // shared index: answers for reads during an outage; nil otherwise (read only)

	blobs BlobStore   // where blob bytes live, behind their seam (read only)
	local *LocalBlobs // blobs when they are a local folder, else nil (read only)

	wmu sync.Mutex // serialises write transactions inside this process

	runsIno atomic.Uint64 // inode of runs/ once looked up (trash.go)

	// writes counts the write transactions this process has ended (commit
	// or rollback): a cache of index rows filled while it read n is exact
	// for as long as it still reads n and no other process logged a change.
	writes atomic.Uint64
	// treeWrites counts the write transactions that may have changed the
	// tree: entries, nodes, their attributes, xattrs or content. The
	// catalog's and the live projection's bookkeeping (Store.Update with
	// only Exec, Query and ClearDirty: cat_*, live_pipelines) does not
	// count, so the mount's caches outlive a catalog refresh.
	treeWrites atomic.Uint64

	// logged is set once a transaction wrote to the change log, so that a
	// CLI command knows to wait for the mount to apply its changes.
	logged atomic.Bool

	ownMu sync.Mutex         // protects own
	own   map[int64]struct{} // change log rows this process wrote, not read back yet (shared index)

	unlinks unlinkQueue  // unlinks answered, to write (unlink_later.go)
	creates createQueue  // creates answered, to write (create_later.go)
	journal closeJournal // closes answered, to write (close_journal.go)
}

// RootIno is the inode number of the store's root directory.
const RootIno uint64 = 1

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) spoolDir() string { return filepath.Join(s.dir, "spool") }

// SpoolDir is the store's folder for content being written, on the
// store's disk; files there without a name (O_TMPFILE) are the caller's.
func (s *Store) SpoolDir() string { return s.spoolDir() }

// Init creates a store in dir, or does nothing if one is there already. It
// reports whether it created one.
func Init(ctx context.Context, dir string) (created bool, err error) {
	if _, err := os.Stat(filepath.Join(dir, "index.db")); err == nil || isTeamStore(dir) {
		return false, nil
	}
	if err := makeStoreDir(dir, "blobs", "spool", NativeDirName); err != nil {
		return false, err
	}
	s, err := open(ctx, dir, Options{})
	if err != nil {
		return false, err
	}
	defer s.Close()
	if err := s.createSkeleton(ctx); err != nil {
		return false, fmt.Errorf("init store %s: %w", dir, err)
	}
	if err := ensureNative(dir); err != nil {
		return false, fmt.Errorf("init store %s: %w", dir, err)
	}
	return true, nil
}

// Open opens the store in dir, migrating its schema if needed: a local
// store (index.db and blobs/), or a team store described by dir's
// store.yaml (its engines registered by their packages, see
// RegisterIndex).
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if isTeamStore(dir) {
		return openTeam(ctx, dir, opts)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.db")); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("open store %s: %w (run `n4ws init` first)", dir, ErrNoStore)
	}
	return open(ctx, dir, opts)
}

// open opens the local store in dir: SQLite and the blob folder.
func open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if opts.Writeback {
		return nil, fmt.Errorf("open store %s: writeback is for a team store (its blobs in an object store): %w", dir, ErrInvalid)
	}
	idx, err := OpenSQLiteIndex(filepath.Join(dir, "index.db"), opts.Durable)
	if err != nil {
		return nil, err
	}
	s, err := OpenWith(ctx, dir, idx, NewLocalBlobs(filepath.Join(dir, "blobs"), opts.Durable), opts)
	if err != nil {
		return nil, err
	}
	if err := s.replayCloseJournal(ctx); err != nil {
		s.log.Warn("close journal: closed files of an earlier process not written yet", "err", err)
	}
	return s, nil
}

// OpenWith opens a store whose index and blobs are the given engines; dir
// is this machine's folder of the store (spool, native files). The store
// owns idx from then on and closes it, even when OpenWith fails.
func OpenWith(ctx context.Context, dir string, idx IndexEngine, blobs BlobStore, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.InlineMax == 0 {
		opts.InlineMax = DefaultInlineMax
	}
	// A shared index (a team store) has other mounts: every process,
	// mounts included, logs its changes and tells them (NotifyChange).
	shared := idx.Name() != "sqlite"
	if shared {
		opts.LogChanges = true
	}
	s := &Store{dir: dir, opts: opts, log: opts.Logger, idx: idx, rdb: idx.Reader(), wdb: idx.DB(), blobs: blobs, shared: shared}
	s.local, _ = blobs.(*LocalBlobs)
	if shared {
		s.known = &lastKnown{}
	}
	if err := idx.Migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open index of %s: %w", dir, err)
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open index of %s: %w", dir, err)
	}
	return s, nil
}

// Close releases the index connections.
func (s *Store) Close() error {
	if s.idx == nil {
		return nil
	}
	s.stopUnlinkLater()
	s.stopCloseJournal()
	s.settleCreates()
	if wb, ok := s.blobs.(*writeback); ok {
		wb.Close()
	}
	return s.idx.Close()
}

// update runs fn in one write transaction. Writers inside this process queue
// on wmu; other processes wait on SQLite's lock (BEGIN IMMEDIATE with a busy
// timeout), so a transaction never fails half way for lack of the lock.
func (s *Store) update(ctx context.Context, fn func(tx *txn) error) error {
	return noSpace(s.updateTx(ctx, true, fn))
}

// updateTx is update without the full-disk classification. tree says
// whether the transaction counts as a tree write from the start (every
// internal one does); Store.Update's start as bookkeeping and count once
// they call a Tx method that changes the tree (txn.touchTree).
func (s *Store) updateTx(ctx context.Context, tree bool, fn func(tx *txn) error) error {
	s.Settle() // writes stay in the order they were answered (unlink_later.go)
	return s.writeTx(ctx, tree, fn)
}

// writeTx is updateTx without writing the queued unlinks first.
func (s *Store) writeTx(ctx context.Context, tree bool, fn func(tx *txn) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx := &txn{ctx: ctx, s: s, tree: tree}
	defer func() { // after commit: a reader that saw the old rows sees a new count
		s.writes.Add(1)
		if tx.tree {
			s.treeWrites.Add(1)
		}
		if tx.committed && tx.afterCommit != nil {
			tx.afterCommit() // still under wmu: no other write between
		}
	}()
	sqlTx, err := s.idx.BeginWrite(ctx)
	if err != nil {
		return fmt.Errorf("begin write: %w", err)
	}
	tx.Tx = sqlTx
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return err
	}
	if s.opts.LogChanges {
		if err := tx.flushChanges(); err != nil {
			sqlTx.Rollback()
			return err
		}
		if len(tx.changes) > 0 {
			if err := s.idx.NotifyChange(ctx, sqlTx); err != nil {
				sqlTx.Rollback()
				return fmt.Errorf("notify change: %w", err)
			}
		}
	}
	if err := tx.flushDirty(); err != nil {
		sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	tx.committed = true
	s.noteOwn(tx.ownSeqs)
	return nil
}

// txn is a write transaction plus the changes it made, for the change log.
type txn struct {
	*sql.Tx
	ctx        context.Context
	s          *Store
	journalSeq uint64 // highest close journal record written (close_journal.go)
	changes    []change
	ownSeqs    []int64         // change log rows written (shared index)
	dirty      map[uint64]bool // directories whose entries or files changed
	tree       bool            // may have changed the tree (Store.treeWrites)

	committed   bool   // the commit succeeded
	afterCommit func() // run once committed and counted, before wmu is released
}

// touchTree marks the transaction as a tree write (see Store.treeWrites).
func (tx *txn) touchTree() { tx.tree = true }

func (tx *txn) exec(query string, args ...any) (sql.Result, error) {
	return tx.ExecContext(tx.ctx, query, args...)
}

func (tx *txn) queryRow(query string, args ...any) *sql.Row {
	return tx.QueryRowContext(tx.ctx, query, args...)
}
