package live

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/n4ws/n4ws/backing/backingtest"
	"github.com/n4ws/n4ws/catalog/importer/standintest"
)

// TestPassOneWriteForAll: a pass writes every changed folder's files, and
// the mappings that record them, in one index write.
func TestPassOneWriteForAll(t *testing.T) {
	f := newFixture(t)
	standintest.Run(t, "run", f.ws, "--datasets", "wheat,corn", "--pipelines", "3")
	storeArtifacts(t, f)
	// The first pass makes each dataset's folder, reserves each pipeline's
	// (its own write: a number is given once), then writes all files at once.
	rep, writes := f.passCounting()
	if len(rep.Written) != 8 || len(rep.Files) < 8*4 || writes != 8+2+1 {
		t.Fatalf("first pass: %d folders, %d files in %d index writes, want 8 folders in 11", len(rep.Written), len(rep.Files), writes)
	}
	execStore(t, f.ws, `UPDATE pipelines SET best_val = 0.25`)
	rep, writes = f.passCounting()
	if len(rep.Files) != 8 || writes != 1 {
		t.Fatalf("every row changed: %d files in %d index writes, want 8 manifest.yaml in 1", len(rep.Files), writes)
	}
}

// storeArtifacts stores the workspace's artifacts as blobs, as a mount
// does when nirs4all writes them.
func storeArtifacts(t *testing.T, f *fixture) {
	t.Helper()
	filepath.Walk(filepath.Join(f.ws, "artifacts"), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		backingtest.WriteFile(t, f.s, "library/templates/"+info.Name(), string(data))
		return nil
	})
}

// TestPassOneFolderFailing: a file that cannot be written (a folder in its
// place) fails its own pipeline only: the other folders are brought up to
// date in the same pass, and the failed one is written whole by the first
// pass after the obstacle is gone.
func TestPassOneFolderFailing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	standintest.Run(t, "run", f.ws, "--datasets", "wheat", "--pipelines", "2", "--no-refit")
	f.pass()
	dirs := folders(t, f.s, "wheat")
	if len(dirs) != 2 {
		t.Fatalf("folders %v", dirs)
	}
	blocked := "runs/wheat/" + dirs[0] + "/manifest.yaml"
	if _, err := f.s.RemoveAll(ctx, blocked); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.MkdirAll(ctx, blocked, 0o755); err != nil {
		t.Fatal(err)
	}
	execStore(t, f.ws, `UPDATE pipelines SET best_val = 0.375`)
	if _, err := f.p.Pass(ctx); err == nil || !strings.Contains(err.Error(), "manifest.yaml") {
		t.Fatalf("pass with %s a folder: err %v, want the failure named", blocked, err)
	}
	if m := readStore(t, f.s, "runs/wheat/"+dirs[1]+"/manifest.yaml"); !strings.Contains(m, "best_val: 0.375") {
		t.Errorf("the other folder's manifest.yaml was not brought up to date:\n%s", m)
	}
	if _, err := f.s.RemoveAll(ctx, blocked); err != nil {
		t.Fatal(err)
	}
	rep := f.pass()
	if len(rep.Written) != 1 || rep.Written[0] != "runs/wheat/"+dirs[0] {
		t.Errorf("pass after: folders %v, want only %s", rep.Written, dirs[0])
	}
	if m := readStore(t, f.s, blocked); !strings.Contains(m, "best_val: 0.375") {
		t.Errorf("%s not written after the obstacle went:\n%s", blocked, m)
	}
	if rep, writes := f.passCounting(); len(rep.Written) != 0 || writes != 0 {
		t.Errorf("pass after that: folders %v, %d index writes", rep.Written, writes)
	}
}
