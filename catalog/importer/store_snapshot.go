package importer

// A consistent snapshot of a nirs4all store.sqlite that may be in use.
// nirs4all keeps it in WAL mode and commits while we read: copying the db
// file and its -wal one after the other can pair a db with a WAL from
// another moment (a checkpoint in between) and tear the store. SQLite's
// online backup API instead copies every page under one read transaction,
// using the same locks and -shm as the writer, into a private file that
// we then read at leisure.

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mattn/go-sqlite3"
)

// SnapshotStore copies the live database at dbPath (opened read-only,
// waiting up to 5 s for a writer's lock, like nirs4all does) into a new
// file in a temporary folder and returns that file's path and a function
// that removes it. The source connection is closed before returning.
func SnapshotStore(ctx context.Context, dbPath string) (string, func(), error) {
	tmp, err := os.MkdirTemp("", "n4ws-store-snapshot-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	dst := filepath.Join(tmp, "store.sqlite")
	if err := BackupStore(ctx, dbPath, dst); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("snapshot %s: %w", dbPath, err)
	}
	return dst, cleanup, nil
}

// BackupStore copies the database src into the new file dst with SQLite's
// backup API (see SnapshotStore).
//
// Never call it in the process that serves the FUSE mount src is on:
// SQLite's unix VFS holds a process-wide mutex while it opens and locks
// files, and the mount's own SQLite calls (its index) would wait for it
// while it waits for the mount. The mount runs it in a child process.
func BackupStore(ctx context.Context, src, dst string) error {
	if _, err := os.Stat(src); err != nil {
		return err
	}
	sdb, err := sql.Open("sqlite3", "file:"+src+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return err
	}
	defer sdb.Close()
	ddb, err := sql.Open("sqlite3", "file:"+dst)
	if err != nil {
		return err
	}
	defer ddb.Close()
	sc, err := sdb.Conn(ctx)
	if err != nil {
		return err
	}
	defer sc.Close()
	dc, err := ddb.Conn(ctx)
	if err != nil {
		return err
	}
	defer dc.Close()
	return dc.Raw(func(d any) error {
		return sc.Raw(func(s any) error {
			return backupAll(ctx, d.(*sqlite3.SQLiteConn), s.(*sqlite3.SQLiteConn))
		})
	})
}

// backupAll copies every page in one step (one read transaction on the
// source, so the copy is one committed state). A writer holding the lock
// past the busy timeout makes the step fail with SQLITE_BUSY/LOCKED: it
// is retried while ctx lasts.
func backupAll(ctx context.Context, dst, src *sqlite3.SQLiteConn) error {
	for attempt := 0; ; attempt++ {
		b, err := dst.Backup("main", src, "main")
		if err != nil {
			return err
		}
		done, err := b.Step(-1)
		ferr := b.Finish()
		if err == nil && done {
			return ferr
		}
		if err == nil {
			err = fmt.Errorf("backup incomplete")
		}
		if se, ok := err.(sqlite3.Error); !ok || (se.Code != sqlite3.ErrBusy && se.Code != sqlite3.ErrLocked) || attempt >= 20 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ReadStoreFile reads a store.sqlite (a snapshot: nothing else uses it).
func ReadStoreFile(p string) (*storeData, error) {
	db, err := sql.Open("sqlite3", "file:"+p+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return loadStore(db)
}
