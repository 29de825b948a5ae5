package storetest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// pickedListing: ReadDirPicked returns exactly the names asked for and
// those under a prefix, in byte order, on every engine: names compare as
// bytes (a name just past the prefix's range, or with a 0xff byte, must
// not slip in or out).
func pickedListing(t *testing.T, s *backing.Store) {
	ctx := context.Background()
	dir, err := s.MkdirAll(ctx, "runs/picked/0001_pls_abc123", 0o755)
	if err != nil {
		t.Fatal(err)
	}
	all := []string{"folds", "folds_", "folds_a.csv", "folds_\xff.csv", "folds`", "foldsz",
		"manifest.yaml", "manifest.yam", "metrics.json", "other.txt", "\xffend"}
	for _, name := range all {
		p := "runs/picked/0001_pls_abc123/" + name
		if _, err := s.WriteFile(ctx, p, bytes.NewReader([]byte(name)), 0o644, time.Time{}); err != nil {
			t.Fatalf("write %q: %v", name, err)
		}
	}
	names, attrs, err := s.ReadDirPicked(ctx, dir.Ino, []string{"manifest.yaml", "metrics.json", "absent.json"}, []string{"folds_"})
	if err != nil {
		t.Fatalf("ReadDirPicked: %v", err)
	}
	want := []string{"folds_", "folds_a.csv", "folds_\xff.csv", "manifest.yaml", "metrics.json"}
	if !slices.Equal(names, want) {
		t.Fatalf("ReadDirPicked lists %q, want %q", names, want)
	}
	for i, a := range attrs {
		if a.Size != int64(len(names[i])) || !a.IsRegular() {
			t.Errorf("%q: attributes %+v, want a regular file of %d bytes", names[i], a, len(names[i]))
		}
	}
	names, _, err = s.ReadDirPicked(ctx, dir.Ino, nil, []string{"\xff"})
	if err != nil || !slices.Equal(names, []string{"\xffend"}) {
		t.Fatalf("prefix 0xff: %q, %v", names, err)
	}
	if names, _, err := s.ReadDirPicked(ctx, dir.Ino, nil, []string{""}); err != nil || len(names) != len(all) {
		t.Fatalf("empty prefix: %d names of %d, %v", len(names), len(all), err)
	}
}
