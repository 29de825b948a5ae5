package backing_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

// TestTxWriteData: files written inside one transaction (a folder made on
// the way, small, large and empty content, one file replaced) read back
// as written, and the whole batch is one index write.
func TestTxWriteData(t *testing.T) {
	s := backingtest.NewStore(t)
	backingtest.WriteFile(t, s, "runs/wheat/old.txt", "before")
	large := strings.Repeat("0123456789", int(backing.DefaultInlineMax/10)+100)
	mtime := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	before := s.Writes()
	err := s.Update(ctx, func(tx *backing.Tx) error {
		dir, err := tx.MkdirAll("runs/wheat/0001_pls", 0o755)
		if err != nil {
			return err
		}
		for name, data := range map[string]string{"small.json": `{"a": 1}`, "large.csv": large, "empty": ""} {
			if _, err := tx.WriteData(dir.Ino, name, []byte(data), 0o644, mtime); err != nil {
				return err
			}
		}
		wheat, err := tx.MkdirAll("runs/wheat", 0o755)
		if err != nil {
			return err
		}
		_, err = tx.WriteData(wheat.Ino, "old.txt", []byte("after"), 0o600, time.Time{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Writes() - before; n != 1 {
		t.Errorf("%d index writes, want 1", n)
	}
	for p, want := range map[string]string{"runs/wheat/0001_pls/small.json": `{"a": 1}`,
		"runs/wheat/0001_pls/large.csv": large, "runs/wheat/0001_pls/empty": "", "runs/wheat/old.txt": "after"} {
		if got := readContent(t, s, p); got != want {
			t.Errorf("%s: %d bytes, want %d", p, len(got), len(want))
		}
	}
	if a := resolve(t, s, "runs/wheat/0001_pls/small.json"); !a.Mtime.Equal(mtime) || a.Mode&0o777 != 0o644 {
		t.Errorf("small.json: mtime %v mode %o, want %v 644", a.Mtime, a.Mode&0o777, mtime)
	}
	if a := resolve(t, s, "runs/wheat/old.txt"); a.Mode&0o777 != 0o644 {
		t.Errorf("old.txt: mode %o, want its own 644 kept", a.Mode&0o777)
	}
	if r, err := s.Fsck(ctx, backing.FsckOptions{}); err != nil || len(r.Problems) > 0 {
		t.Errorf("fsck: %v %+v", err, r.Problems)
	}
}

// TestTxWriteDataOverFolder: writing a file where a folder is fails
// (EISDIR) and leaves the transaction's other writes undone.
func TestTxWriteDataOverFolder(t *testing.T) {
	s := backingtest.NewStore(t)
	if _, err := s.MkdirAll(ctx, "runs/wheat/metrics.json", 0o755); err != nil {
		t.Fatal(err)
	}
	err := s.Update(ctx, func(tx *backing.Tx) error {
		dir, err := tx.MkdirAll("runs/wheat", 0o755)
		if err != nil {
			return err
		}
		if _, err := tx.WriteData(dir.Ino, "first.json", []byte("1"), 0o644, time.Time{}); err != nil {
			return err
		}
		_, err = tx.WriteData(dir.Ino, "metrics.json", []byte("2"), 0o644, time.Time{})
		return err
	})
	if !errors.Is(err, backing.ErrIsDir) {
		t.Fatalf("err %v, want ErrIsDir", err)
	}
	if _, err := s.ResolvePath(ctx, "runs/wheat/first.json"); !errors.Is(err, backing.ErrNotFound) {
		t.Errorf("first.json after the failed transaction: %v, want not found", err)
	}
}
