package backing

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Sync makes every committed transaction durable against a power cut: one
// transaction with synchronous=FULL syncs the write-ahead log, which holds
// all the earlier ones too.
func (s *Store) Sync(ctx context.Context) error {
	s.Settle()
	if _, ok := s.idx.(*SQLiteIndex); !ok {
		return nil // a database server: a commit is durable when it returns
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sync index: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		return fmt.Errorf("sync index: %w", err)
	}
	_, err = conn.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('last_sync', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strconv.FormatInt(time.Now().Unix(), 10))
	_, err2 := conn.ExecContext(ctx, `PRAGMA synchronous = `+s.syncLevel())
	if err != nil || err2 != nil {
		return fmt.Errorf("sync index: %v %v", err, err2)
	}
	return nil
}

// syncLevel is the index's usual synchronous setting: FULL for a durable
// store (every commit syncs the write-ahead log), NORMAL otherwise.
func (s *Store) syncLevel() string {
	if s.opts.Durable {
		return "FULL"
	}
	return "NORMAL"
}

// SyncAll makes everything committed so far durable: syncfs(2) on the
// filesystem that holds the store flushes every blob and folder of it, then
// Sync the index. A mount runs it when it stops, and `n4ws sync` on demand:
// the kernel does not pass sync(1) or syncfs(2) on a FUSE mount to the
// server (it does only for virtiofs), so they cannot reach us.
func (s *Store) SyncAll(ctx context.Context) error {
	f, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("sync store: %w", err)
	}
	err = unix.Syncfs(int(f.Fd()))
	f.Close()
	if err != nil {
		return fmt.Errorf("sync store: syncfs %s: %w", s.dir, err)
	}
	return s.Sync(ctx)
}

// SyncBlob flushes blob d and its directory entry to disk. An inline blob
// has no file: Sync makes it durable with the index.
func (s *Store) SyncBlob(d Digest) error {
	if wb, ok := s.blobs.(*writeback); ok {
		return wb.Wait(context.Background(), d) // staged: uploaded now
	}
	if s.local == nil {
		return nil // an object store: an upload is stored once it returns
	}
	p := s.BlobPath(d)
	if err := syncPath(p); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("sync blob %s: %w", d, err)
	}
	if err := syncPath(filepath.Dir(p)); err != nil {
		return fmt.Errorf("sync blob %s: %w", d, err)
	}
	return nil
}
