package backing_test

import (
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

// TestRenamePinned: the catalog renames its own archive files in a
// read-only folder; a taken name and a user's file are refused.
func TestRenamePinned(t *testing.T) {
	s := backingtest.NewStore(t)
	src := backingtest.WriteFile(t, s, "runs/ds/0001_a/predictions.csv", "y_true,y_pred\n1,1\n")
	backingtest.WriteFile(t, s, "runs/ds/notes.txt", "mine")
	dir := resolve(t, s, "catalog/archives/best_predictions")
	err := s.Update(ctx, func(tx *backing.Tx) error {
		for _, name := range []string{"ds_2026-11-28_0001_a.csv", "taken.csv"} {
			if _, err := tx.CreateBlobFile(dir.Ino, name, src.Blob, src.Size, zeroTime); err != nil {
				return err
			}
		}
		return tx.RenamePinned(dir.Ino, "ds_2026-11-28_0001_a.csv", "ds_2026-03-01_0001_a.csv")
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := readContent(t, s, "catalog/archives/best_predictions/ds_2026-03-01_0001_a.csv"); got != "y_true,y_pred\n1,1\n" {
		t.Errorf("renamed archive holds %q", got)
	}
	if _, err := s.ResolvePath(ctx, "catalog/archives/best_predictions/ds_2026-11-28_0001_a.csv"); err == nil {
		t.Errorf("the old name still resolves")
	}
	err = s.Update(ctx, func(tx *backing.Tx) error {
		return tx.RenamePinned(dir.Ino, "ds_2026-03-01_0001_a.csv", "taken.csv")
	})
	wantErr(t, "rename onto a taken name", err, backing.ErrExists)
	runs := resolve(t, s, "runs/ds")
	err = s.Update(ctx, func(tx *backing.Tx) error { return tx.RenamePinned(runs.Ino, "notes.txt", "x.txt") })
	wantErr(t, "rename of a user's file", err, backing.ErrPermission)
}
