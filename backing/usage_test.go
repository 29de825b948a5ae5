package backing_test

import (
	"strings"
	"testing"

	"github.com/n4ws/n4ws/backing"
	"github.com/n4ws/n4ws/backing/backingtest"
)

func TestUsageExclusiveBytes(t *testing.T) {
	s := backingtest.NewStore(t)
	big := strings.Repeat("x", 40_000)
	backingtest.WriteFile(t, s, "runs/a/p1/own.bin", big+"1")     // only here
	backingtest.WriteFile(t, s, "runs/a/p1/shared.bin", big+"s")  // also in p2
	backingtest.WriteFile(t, s, "runs/a/p2/shared.bin", big+"s")  // also in p1
	backingtest.WriteFile(t, s, "runs/a/p1/twice.txt", "dup")     // twice inside p1
	backingtest.WriteFile(t, s, "runs/a/p1/sub/twice.txt", "dup") //
	backingtest.WriteFile(t, s, "runs/a/p1/empty", "")            // no blob
	backingtest.WriteFile(t, s, "runs/a/p1/linked.bin", big+"L")  // hard-linked outside
	l := resolve(t, s, "runs/a/p1/linked.bin")
	if _, err := s.Link(ctx, l.Ino, resolve(t, s, "runs/a").Ino, "link"); err != nil {
		t.Fatal(err)
	}
	u := usage(t, s, "runs/a/p1")
	if u.Files != 6 || u.LogicalBytes != 3*40_001+3+3 {
		t.Errorf("p1 files/logical = %d/%d", u.Files, u.LogicalBytes)
	}
	if want := int64(40_001 + 3); u.ExclusiveBytes != want {
		t.Errorf("p1 exclusive = %d, want %d (own.bin + twice.txt)", u.ExclusiveBytes, want)
	}
	// The dataset as a whole holds every copy: everything is freed.
	if u := usage(t, s, "runs/a"); u.ExclusiveBytes != 3*40_001+3 {
		t.Errorf("dataset exclusive = %d", u.ExclusiveBytes)
	}
	// A reference outside the tree (the catalog's) keeps a blob alive.
	own := resolve(t, s, "runs/a/p1/own.bin")
	if err := s.Update(ctx, func(tx *backing.Tx) error { return tx.RefBlob(own.Blob) }); err != nil {
		t.Fatal(err)
	}
	if u := usage(t, s, "runs/a/p1"); u.ExclusiveBytes != 3 {
		t.Errorf("p1 exclusive with a catalog ref = %d, want 3", u.ExclusiveBytes)
	}
}

func usage(t *testing.T, s *backing.Store, p string) backing.Usage {
	t.Helper()
	u, err := s.Usage(ctx, resolve(t, s, p).Ino)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
