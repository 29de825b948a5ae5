package vfs

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// listingFsys is an fsys over a fresh store, without a mount: the listing
// cache's logic against the real index.
func listingFsys(t *testing.T) (*fsys, uint64) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	if _, err := backing.Init(ctx, dir); err != nil {
		t.Fatal(err)
	}
	store, err := backing.Open(ctx, dir, backing.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	runs, err := store.ResolvePath(ctx, "runs")
	if err != nil {
		t.Fatal(err)
	}
	return newFsys(store, nil, Options{Logger: slog.New(slog.DiscardHandler)}), runs.Ino
}

// checkListing fails unless every name the index holds in dir, and a
// missing one, is answered from the listing exactly as the index answers.
func checkListing(t *testing.T, f *fsys, dir uint64, step string) {
	t.Helper()
	names, attrs, err := f.store().ReadDirPlus(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// The folder's own attributes too: the kernel asks for them after
	// every create and unlink in it.
	self, err := f.store().GetAttr(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := f.cachedSelf(dir); !ok || a != self {
		t.Fatalf("%s: the folder from the listing %+v (exact %v), from the index %+v", step, a, ok, self)
	}
	for i, name := range append(names, "missing") {
		a, found, ok := f.cachedLookup(dir, name)
		if !ok {
			t.Fatalf("%s: no exact listing of the folder", step)
		}
		if i == len(names) {
			if found {
				t.Fatalf("%s: the listing holds %q, the index does not", step, name)
			}
			continue
		}
		if !found || a != attrs[i] {
			t.Fatalf("%s: %q from the listing %+v (found %v), from the index %+v", step, name, a, found, attrs[i])
		}
	}
}

// The mount's own creates, content commits and unlinks keep a folder's
// listing equal to the index; any other write, or a change seen by the
// watcher, makes it unusable.
func TestListingFollowsOwnWrites(t *testing.T) {
	f, runs := listingFsys(t)
	ctx := context.Background()
	w, c := f.stamp()
	d, err := f.store().Mknod(ctx, runs, "d", backing.NewNode{Mode: 0o40755})
	if err != nil {
		t.Fatal(err)
	}
	f.noteCreated(w, runs, "d", d)
	f.startListing(&d, w, c)
	checkListing(t, f, d.Ino, "new folder")
	if mode, gid, ok := f.cachedOwner(d.Ino); !ok || mode != d.Mode || gid != d.Gid {
		t.Fatalf("new folder's owner from the listing: mode %o gid %d (%v), want %o %d", mode, gid, ok, d.Mode, d.Gid)
	}
	var files []backing.Attr
	for i := range 5 {
		w, _ := f.stamp()
		name := fmt.Sprintf("f%d", i)
		a, err := f.store().Mknod(ctx, d.Ino, name, backing.NewNode{Mode: 0o100644})
		if err != nil {
			t.Fatal(err)
		}
		f.noteCreated(w, d.Ino, name, a)
		files = append(files, a)
	}
	checkListing(t, f, d.Ino, "after creates")
	w, _ = f.stamp()
	sub, err := f.store().Mknod(ctx, d.Ino, "sub", backing.NewNode{Mode: 0o40755})
	if err != nil {
		t.Fatal(err)
	}
	f.noteCreated(w, d.Ino, "sub", sub)
	checkListing(t, f, d.Ino, "after a mkdir (one more link)")
	w, _ = f.stamp()
	data := []byte("some content")
	a, err := f.store().CommitContent(ctx, files[2].Ino, backing.Content{Data: data, Size: int64(len(data)), Digest: sha256.Sum256(data)})
	if err != nil {
		t.Fatal(err)
	}
	f.noteCommitted(w, a)
	checkListing(t, f, d.Ino, "after a commit")
	w, _ = f.stamp()
	a, err = f.store().Unlink(ctx, d.Ino, "f1")
	if err != nil {
		t.Fatal(err)
	}
	f.noteUnlinked(w, d.Ino, "f1", a)
	checkListing(t, f, d.Ino, "after an unlink")

	// A write that does not apply itself: the listing is stale.
	if _, err := f.store().Mknod(ctx, d.Ino, "quiet", backing.NewNode{Mode: 0o100644}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := f.cachedLookup(d.Ino, "quiet"); ok {
		t.Fatal("the listing answered after a write it did not see")
	}
	if _, _, ok := f.cachedOwner(d.Ino); ok {
		t.Fatal("the folder's owner came from a listing after a write it did not see")
	}
	// Read again, then a change by another process: stale too.
	f.loadListing(ctx, d.Ino)
	checkListing(t, f, d.Ino, "reloaded")
	f.changes.Add(1)
	if _, _, ok := f.cachedLookup(d.Ino, "quiet"); ok {
		t.Fatal("the listing answered after the watcher saw a change")
	}
}

// A folder is read whole only after a streak of lookups in it with no
// write in between.
func TestListingLoadsAfterStreak(t *testing.T) {
	f, runs := listingFsys(t)
	ctx := context.Background()
	for i := range listingStreak {
		if _, _, ok := f.cachedLookup(runs, "x"); ok {
			t.Fatalf("listing after %d lookups, want it after %d", i, listingStreak)
		}
		w, c := f.stamp()
		f.noteIndexLookup(ctx, runs, w, c)
	}
	checkListing(t, f, runs, "after the streak")
}

// Through a real mount: a folder whose listing the mount holds (every
// file stat'ed after a remount of the kernel's view) still shows files
// the CLI adds, removes and rewrites.
func TestListingSeesCLIChanges(t *testing.T) {
	mnt, store := mountTest(t, Options{Passthrough: true})
	cli := openCLI(t, store)
	ctx := context.Background()
	dir := filepath.Join(mnt, "runs", "many")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * listingStreak {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%02d", i)), []byte("mount"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// What every n4ws command asks the mount first (its apply socket's
	// settle): write what it answered and has not written yet, such as
	// the closes in its journal.
	store.Settle()
	if _, err := cli.WriteFile(ctx, "runs/many/f03", strings.NewReader("rewritten by the cli"), 0o644, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.WriteFile(ctx, "runs/many/new", strings.NewReader("new"), 0o644, time.Time{}); err != nil {
		t.Fatal(err)
	}
	many, err := cli.ResolvePath(ctx, "runs/many")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Unlink(ctx, many.Ino, "f05"); err != nil {
		t.Fatal(err)
	}
	seen := func() bool {
		got, err := os.ReadFile(filepath.Join(dir, "f03"))
		if err != nil || string(got) != "rewritten by the cli" {
			return false
		}
		if _, err := os.Stat(filepath.Join(dir, "f05")); !errors.Is(err, os.ErrNotExist) {
			return false
		}
		got, err = os.ReadFile(filepath.Join(dir, "new"))
		return err == nil && string(got) == "new"
	}
	if !waitFor(2*time.Second, seen) {
		t.Fatal("the CLI's changes are not visible in the mount after 2 s")
	}
	for i := range 3 * listingStreak {
		if i == 3 || i == 5 {
			continue
		}
		if got, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("f%02d", i))); err != nil || string(got) != "mount" {
			t.Fatalf("f%02d: %q, %v", i, got, err)
		}
	}
}

// A file made in a set-group-ID folder takes the folder's group, also
// when the group changed after the mount made the folder (and started its
// listing) and while the folder is being filled.
func TestSetgidFolderGroupFollowsChown(t *testing.T) {
	mnt, _ := mountTest(t, Options{})
	dir := filepath.Join(mnt, "runs", "shared")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, gid := range []int{1234, 4321} {
		if err := os.Chown(dir, -1, gid); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Chmod(dir, 0o2775); err != nil { // after chown, which clears it
			t.Fatal(err)
		}
		for j := range 3 * listingStreak {
			p := filepath.Join(dir, fmt.Sprintf("f%d_%02d", i, j))
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			var st syscall.Stat_t
			if err := syscall.Stat(p, &st); err != nil {
				t.Fatal(err)
			}
			if int(st.Gid) != gid {
				var ds syscall.Stat_t
				syscall.Stat(dir, &ds)
				t.Fatalf("%s: gid %d, want the folder's %d (folder mode %o gid %d)", p, st.Gid, gid, ds.Mode, ds.Gid)
			}
		}
	}
}

// Creates, commits and unlinks from several goroutines at once, each
// applying itself to the listing as the mount does: whatever interleaving
// happened, a listing still in use answers exactly as the index does.
func TestListingConcurrentOwnWrites(t *testing.T) {
	f, runs := listingFsys(t)
	ctx := context.Background()
	w, c := f.stamp()
	d, err := f.store().Mknod(ctx, runs, "d", backing.NewNode{Mode: 0o40755})
	if err != nil {
		t.Fatal(err)
	}
	f.startListing(&d, w, c)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				name := fmt.Sprintf("g%d_%02d", g, i)
				w, _ := f.stamp()
				a, err := f.store().Mknod(ctx, d.Ino, name, backing.NewNode{Mode: 0o100644})
				if err != nil {
					errs <- err
					return
				}
				f.noteCreated(w, d.Ino, name, a)
				data := []byte(name)
				w, _ = f.stamp()
				if a, err = f.store().CommitContent(ctx, a.Ino, backing.Content{Data: data, Size: int64(len(data)), Digest: sha256.Sum256(data)}); err != nil {
					errs <- err
					return
				}
				f.noteCommitted(w, a)
				if i%3 == 0 {
					w, _ = f.stamp()
					if a, err = f.store().Unlink(ctx, d.Ino, name); err != nil {
						errs <- err
						return
					}
					f.noteUnlinked(w, d.Ino, name, a)
				}
				f.cachedLookup(d.Ino, name)
				if i%10 == 9 {
					f.loadListing(ctx, d.Ino) // a burst of lookups reads the folder again
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if _, _, ok := f.cachedLookup(d.Ino, "x"); !ok {
		f.loadListing(ctx, d.Ino) // every write was concurrent: read it again, then compare
	}
	checkListing(t, f, d.Ino, "after concurrent writes")
}
