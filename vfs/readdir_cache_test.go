package vfs

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/n4ws/n4ws/backing"
)

// A large folder's listing is read from the index once and served again
// while nothing changed; any write, or a change seen by the watcher,
// makes the next listing come from the index, with the change in it.
func TestBigListingKeptUntilAChange(t *testing.T) {
	f, runs := listingFsys(t)
	ctx := context.Background()
	ds, err := f.store().Mknod(ctx, runs, "wheat", backing.NewNode{Mode: 0o40755})
	if err != nil {
		t.Fatal(err)
	}
	small, err := f.store().Mknod(ctx, runs, "small", backing.NewNode{Mode: 0o40755})
	if err != nil {
		t.Fatal(err)
	}
	for i := range bigListingMin + 200 {
		if _, err := f.store().Mknod(ctx, ds.Ino, fmt.Sprintf("%04d_pls_abc", i), backing.NewNode{Mode: 0o40755}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(dir uint64) ([]string, []backing.Attr) {
		t.Helper()
		names, attrs, err := f.readDirPlus(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		want, wantAttrs, err := f.store().ReadDirPlus(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names, want) || !slices.Equal(attrs, wantAttrs) {
			t.Fatalf("listing of %d: %d names, the index has %d (or attributes differ)", dir, len(names), len(want))
		}
		return names, attrs
	}
	first, _ := list(ds.Ino)
	again, _ := list(ds.Ino)
	if &first[0] != &again[0] {
		t.Fatal("the second listing of an unchanged large folder was read from the index again")
	}
	a, _ := list(small.Ino)
	b, _ := list(small.Ino)
	if len(a) != 0 || len(b) != 0 {
		t.Fatalf("empty folder lists %d, %d names", len(a), len(b))
	}
	// The mount's own write: the next listing has the new folder.
	if _, err := f.store().Mknod(ctx, ds.Ino, "9999_new_abc", backing.NewNode{Mode: 0o40755}); err != nil {
		t.Fatal(err)
	}
	afterWrite, _ := list(ds.Ino)
	if !slices.Contains(afterWrite, "9999_new_abc") {
		t.Fatal("the listing after a create misses the new folder")
	}
	// Another process's change, once the watcher counted it.
	kept, _ := list(ds.Ino)
	f.changes.Add(1)
	fresh, _ := list(ds.Ino)
	if &kept[0] == &fresh[0] {
		t.Fatal("a change seen by the watcher did not make the listing come from the index")
	}
}
