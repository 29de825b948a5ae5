package backing_test

import (
	"errors"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

// A bulk writer makes folders and small files, many in one transaction;
// they read back as written, identical content is one blob, the folders
// are marked for the catalog, and fsck finds the store consistent.
func TestBulkFoldersAndSmallFiles(t *testing.T) {
	s := backingtest.NewStore(t)
	backingtest.WriteFile(t, s, "runs/ds/keep.txt", "x")
	dsDir := resolve(t, s, "runs/ds")
	mtime := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	err := s.Update(ctx, func(tx *backing.Tx) error {
		for _, name := range []string{"0001_a", "0002_b"} {
			dir, err := tx.Mkdir(dsDir.Ino, name, 0o755)
			if err != nil {
				return err
			}
			if _, err := tx.WriteData(dir.Ino, "metrics.json", []byte(`{"rmse": 1}`), 0o644, mtime); err != nil {
				return err
			}
			if _, err := tx.WriteData(dir.Ino, "empty", nil, 0o600, mtime); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"runs/ds/0001_a/metrics.json", "runs/ds/0002_b/metrics.json"} {
		if got := readContent(t, s, p); got != `{"rmse": 1}` {
			t.Errorf("%s holds %q", p, got)
		}
		a := resolve(t, s, p)
		if !a.Mtime.Equal(mtime) || a.Mode&0o777 != 0o644 {
			t.Errorf("%s: mtime %v mode %o", p, a.Mtime, a.Mode&0o777)
		}
		if n := refcount(t, s, a.Blob); n != 2 {
			t.Errorf("the shared content has refcount %d, want 2", n)
		}
	}
	if a := resolve(t, s, "runs/ds/0002_b/empty"); a.Size != 0 || !a.Blob.IsZero() {
		t.Errorf("empty file: size %d blob %s", a.Size, a.Blob)
	}
	dirty, err := s.DirtyDirs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	marked := map[uint64]bool{}
	for _, d := range dirty {
		marked[d.Ino] = true
	}
	for _, p := range []string{"runs/ds", "runs/ds/0001_a", "runs/ds/0002_b"} {
		if !marked[resolve(t, s, p).Ino] {
			t.Errorf("%s is not marked for the catalog", p)
		}
	}
	mustClean(t, s)

	err = s.Update(ctx, func(tx *backing.Tx) error {
		_, err := tx.Mkdir(dsDir.Ino, "0001_a", 0o755)
		return err
	})
	if !errors.Is(err, backing.ErrExists) {
		t.Errorf("mkdir of a taken name: %v, want ErrExists", err)
	}
}
