package vfs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/n4ws/n4ws/backing"
)

// Files written into a folder the mount made cost one write transaction
// each (their close), and every one reads back whole, also from the store
// directly once the mount wrote what it answered.
func TestCreatesAnsweredFirstOneTransactionAFile(t *testing.T) {
	mnt, store := mountTest(t, Options{})
	dir := filepath.Join(mnt, "runs/ds/0001_x")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "first"), []byte("first")) // the listing is exact from here
	const n = 100
	before := store.TreeWrites()
	for i := range n {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("f%03d", i)), []byte(fmt.Sprintf("content %d", i)))
	}
	// Two a file before creates were answered first. Reserving inode
	// numbers is bookkeeping, but the catalog's refreshes of the folder
	// write between the files on a busy machine (108 in one CI run), and a
	// create right after one of them finds the listing stale and goes to
	// the index: bound the count well below two a file.
	if got := store.TreeWrites() - before; got > n*3/2 {
		t.Errorf("%d files written through the mount took %d tree write transactions, want about %d", n, got, n)
	}
	for i := range n {
		p := fmt.Sprintf("runs/ds/0001_x/f%03d", i)
		if data, err := os.ReadFile(filepath.Join(mnt, p)); err != nil || string(data) != fmt.Sprintf("content %d", i) {
			t.Errorf("%s through the mount: %q, %v", p, data, err)
		}
	}
	store.Settle()
	ctx := context.Background()
	folder, err := store.ResolvePath(ctx, "runs/ds/0001_x")
	if err != nil {
		t.Fatal(err)
	}
	names, _, err := store.ReadDirPlus(ctx, folder.Ino)
	if err != nil || len(names) != n+1 {
		t.Errorf("the store lists %d files, %v; want %d", len(names), err, n+1)
	}
}

// A listing read from the index while a create or unlink was applied ahead
// of it may miss that change: it is not kept.
func TestListingReadDuringAnApplyIsNotKept(t *testing.T) {
	var c listingCache
	read := func() *listing {
		return &listing{dir: 5, attrs: map[string]backing.Attr{}, names: map[uint64]string{}}
	}
	applied := c.appliedCount()
	c.noteApplied() // a create answered while the read ran
	c.putRead(read(), applied)
	if c.find(5) != nil {
		t.Error("a listing read across an applied create was kept")
	}
	c.putRead(read(), c.appliedCount())
	if c.find(5) == nil {
		t.Error("a listing read with nothing applied meanwhile was not kept")
	}
}
