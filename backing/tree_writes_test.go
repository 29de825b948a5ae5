package backing_test

import (
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

// TestTreeWrites: the mount keeps its listings and attributes while
// TreeWrites stands still, so every change of the tree must move it, and
// the catalog's bookkeeping (a Store.Update of its own tables only) must
// not, or each catalog refresh would drop the mount's caches.
func TestTreeWrites(t *testing.T) {
	s := backingtest.NewStore(t)
	if err := s.EnsureSchema(ctx, "treewrites_test", []string{`CREATE TABLE tw_rows (k TEXT PRIMARY KEY, v INTEGER)`}); err != nil {
		t.Fatal(err)
	}
	backingtest.WriteFile(t, s, "runs/wheat/a.txt", "one")
	wheat, err := s.ResolvePath(ctx, "runs/wheat")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		what string
		tree bool
		do   func() error
	}{
		{"bookkeeping: rows of its own table", false, func() error {
			return s.Update(ctx, func(tx *backing.Tx) error {
				_, err := tx.Exec(`INSERT INTO tw_rows (k, v) VALUES ('a', 1) ON CONFLICT (k) DO UPDATE SET v = v + 1`)
				return err
			})
		}},
		{"bookkeeping that reads the tree", false, func() error {
			return s.Update(ctx, func(tx *backing.Tx) error {
				_, err := tx.GetAttr(wheat.Ino)
				return err
			})
		}},
		{"trimming the change log", false, func() error {
			return s.TrimChanges(ctx, 1<<40)
		}},
		{"Store.Update writing a file", true, func() error {
			return s.Update(ctx, func(tx *backing.Tx) error {
				_, err := tx.WriteData(wheat.Ino, "b.txt", []byte("two"), 0o644, time.Time{})
				return err
			})
		}},
		{"Store.Update making a folder", true, func() error {
			return s.Update(ctx, func(tx *backing.Tx) error {
				_, err := tx.MkdirAll("runs/corn", 0o755)
				return err
			})
		}},
		{"an unlink", true, func() error {
			_, err := s.Unlink(ctx, wheat.Ino, "a.txt")
			return err
		}},
		{"a chmod", true, func() error {
			mode := uint32(0o600)
			_, err := s.SetAttr(ctx, wheat.Ino, backing.SetAttrIn{Mode: &mode})
			return err
		}},
	}
	for _, st := range steps {
		before, all := s.TreeWrites(), s.Writes()
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		if got := s.TreeWrites() != before; got != st.tree {
			t.Errorf("%s: TreeWrites moved = %v, want %v", st.what, got, st.tree)
		}
		if s.Writes() == all {
			t.Errorf("%s: Writes did not move", st.what)
		}
	}
}
