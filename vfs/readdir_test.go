package vfs

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// Layer 3: directory streams through the mount. dir_handle.go serves one
// snapshot per stream and drops it on rewinddir; the kernel may cache the
// listing (FOPEN_CACHE_DIR) and falls back to READDIR at an offset when a
// change through the mount invalidates that cache mid-stream.

// readSome reads one getdents batch with a small buffer, so that a
// directory of many entries takes many calls. It returns nil at the end.
func readSome(t *testing.T, fd int) []string {
	t.Helper()
	buf := make([]byte, 512)
	n, err := unix.Getdents(fd, buf)
	if err != nil {
		t.Fatalf("getdents: %v", err)
	}
	if n == 0 {
		return nil
	}
	_, _, names := unix.ParseDirent(buf[:n], -1, nil) // drops . and ..
	if len(names) == 0 {
		return []string{} // only . and .. in this batch; not the end
	}
	return names
}

func readRest(t *testing.T, fd int) []string {
	t.Helper()
	var all []string
	for {
		names := readSome(t, fd)
		if names == nil {
			return all
		}
		all = append(all, names...)
	}
}

func noDuplicates(t *testing.T, what string, names []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("%s: %q listed twice", what, n)
		}
		seen[n] = true
	}
}

func TestReaddirChangesMidStream(t *testing.T) {
	mnt, _ := mountTest(t, Options{})
	dir := filepath.Join(mnt, "runs", "many")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var stable []string
	for i := range 120 {
		name := fmt.Sprintf("stable-%03d-with-a-longer-name", i)
		stable = append(stable, name)
		writeFile(t, filepath.Join(dir, name), []byte{byte(i)})
	}
	for i := range 20 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("gone-%02d", i)), nil)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)

	var seen []string
	for range 3 {
		seen = append(seen, readSome(t, fd)...)
	}
	if len(seen) == 0 || len(seen) >= len(stable) {
		t.Fatalf("first batches listed %d entries; the test needs a partial read", len(seen))
	}
	// Change the directory through the mount while the stream is open.
	var added []string
	for i := range 20 {
		name := fmt.Sprintf("added-%02d", i)
		added = append(added, name)
		writeFile(t, filepath.Join(dir, name), nil)
	}
	for i := range 20 {
		if err := os.Remove(filepath.Join(dir, fmt.Sprintf("gone-%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	seen = append(seen, readRest(t, fd)...)
	noDuplicates(t, "continued stream", seen)
	for _, s := range stable {
		if !slices.Contains(seen, s) {
			t.Errorf("continued stream lost %q (listed %d entries)", s, len(seen))
		}
	}

	// rewinddir(3) is lseek(fd, 0, SEEK_SET): the stream starts over and
	// sees the directory as it is now.
	if _, err := unix.Seek(fd, 0, 0); err != nil {
		t.Fatal(err)
	}
	again := readRest(t, fd)
	noDuplicates(t, "after rewind", again)
	want := slices.Concat(stable, added)
	slices.Sort(want)
	got := slices.Sorted(slices.Values(again))
	if !slices.Equal(got, want) {
		t.Errorf("after rewind: %d entries, want %d (stable + added, no removed)", len(got), len(want))
		for _, n := range got {
			if !slices.Contains(want, n) {
				t.Errorf("  listed but not there: %q", n)
			}
		}
		for _, n := range want {
			if !slices.Contains(got, n) {
				t.Errorf("  missing: %q", n)
			}
		}
	}
}

// Seeking back to an offset the stream returned earlier (telldir/seekdir)
// continues with the entries that followed it.
func TestReaddirSeekToOffset(t *testing.T) {
	mnt, _ := mountTest(t, Options{})
	dir := filepath.Join(mnt, "runs", "seek")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("entry-%03d-padding-padding", i)), nil)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	first := readSome(t, fd)
	pos, err := unix.Seek(fd, 0, 1) // telldir
	if err != nil {
		t.Fatal(err)
	}
	rest := readRest(t, fd)
	if _, err := unix.Seek(fd, pos, 0); err != nil { // seekdir
		t.Fatal(err)
	}
	rest2 := readRest(t, fd)
	if !slices.Equal(rest, rest2) {
		t.Errorf("after seekdir to %d: %d entries, first pass had %d", pos, len(rest2), len(rest))
	}
	all := slices.Concat(first, rest)
	noDuplicates(t, "whole stream", all)
	if len(all) != 60 {
		t.Errorf("stream listed %d entries, want 60", len(all))
	}
}

// A listing made by a fresh open always shows entries created and removed
// just before, even though the kernel may cache listings.
func TestReaddirFreshOpenSeesChanges(t *testing.T) {
	mnt, _ := mountTest(t, Options{})
	dir := filepath.Join(mnt, "runs")
	list := func() []string {
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		return names
	}
	for i := range 5 {
		name := fmt.Sprintf("f%d", i)
		writeFile(t, filepath.Join(dir, name), nil)
		if got := list(); !slices.Contains(got, name) {
			t.Fatalf("listing after create of %s: %v", name, got)
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		if got := list(); slices.Contains(got, name) {
			t.Fatalf("listing after unlink of %s: %v", name, got)
		}
	}
}
