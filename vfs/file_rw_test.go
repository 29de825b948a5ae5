package vfs

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/n4ws/n4ws/backing"
)

// Layer 3: the write and read paths of open_file.go through a real mount.
// Sizes pick the path: ≤ 32 KiB stays in memory and is stored inline, more
// goes through a spool file, 128 KiB and more is read with passthrough.

const (
	kib = 1 << 10
	// inlineMax is also the memory/spool boundary of the write path.
	inlineMax = backing.DefaultInlineMax
)

var ioSizes = []struct {
	name string
	size int
}{
	{"empty", 0},
	{"small", 100},
	{"inline-max", inlineMax},
	{"spool-min", inlineMax + 1},
	{"spool", 100 * kib},
	{"passthrough", 200 * kib},
	{"multi-write", 3<<20 + 7}, // more than one 1 MiB FUSE write
}

func TestWriteReadBack(t *testing.T) {
	mnt, store := mountTest(t, Options{Passthrough: true})
	for i, c := range ioSizes {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(mnt, "runs", c.name)
			data := randBytes(uint64(i), c.size)
			writeFile(t, p, data)
			checkContent(t, p, data)
			checkContent(t, p, data) // warm: from the kernel's page cache or passthrough
			checkStored(t, store, p, data)
			st, err := os.Stat(p)
			if err != nil || st.Size() != int64(c.size) {
				t.Fatalf("stat: %v, size %d, want %d", err, st.Size(), c.size)
			}
		})
	}
}

func TestOverwriteTrunc(t *testing.T) {
	mnt, store := mountTest(t, Options{Passthrough: true})
	p := filepath.Join(mnt, "runs", "f")
	// Each step replaces the content with O_TRUNC, crossing both size
	// boundaries up and down.
	for i, n := range []int{200 * kib, 5, 40 * kib, 300 * kib, 0, 10 * kib, 129 * kib} {
		data := randBytes(uint64(100+i), n)
		writeFile(t, p, data)
		checkContent(t, p, data)
		checkStored(t, store, p, data)
	}
}

func TestAppend(t *testing.T) {
	mnt, store := mountTest(t, Options{Passthrough: true})
	p := filepath.Join(mnt, "runs", "log")
	var want []byte
	// The chunks make the content cross 32 KiB (memory → spool) and
	// 128 KiB while the committed blob is copied into each new spool.
	for i, n := range []int{10, 20 * kib, 20 * kib, 100 * kib, 3} {
		chunk := randBytes(uint64(200+i), n)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(chunk); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if err := f.Close(); err != nil {
			t.Fatalf("close %d: %v", i, err)
		}
		want = append(want, chunk...)
		checkContent(t, p, want)
	}
	checkStored(t, store, p, want)
}

type chunk struct {
	off  int64
	data []byte
}

// pwriteAll writes chunks at their offsets in the order given; a hole or an
// out-of-order write makes the mount fall back from the running hash to a
// full hash at commit, which checkStored verifies.
func pwriteAll(t *testing.T, p string, chunks []chunk) []byte {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, c := range chunks {
		if _, err := f.WriteAt(c.data, c.off); err != nil {
			t.Fatalf("pwrite at %d: %v", c.off, err)
		}
		if end := int(c.off) + len(c.data); end > len(want) {
			want = append(want, make([]byte, end-len(want))...)
		}
		copy(want[c.off:], c.data)
	}
	// Read back through the same handle before the commit, too.
	got := make([]byte, len(want))
	if n, err := f.ReadAt(got, 0); n != len(want) {
		t.Fatalf("read back before close: %d bytes, %v", n, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("uncommitted content differs from what was written")
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return want
}

func TestSparseAndOutOfOrder(t *testing.T) {
	mnt, store := mountTest(t, Options{Passthrough: true})
	a, b := randBytes(1, 4*kib), randBytes(2, 50*kib)
	cases := map[string][]chunk{
		"hole-small":       {{0, a}, {10 * kib, a}},
		"past-eof-only":    {{100 * kib, a}},
		"past-eof-large":   {{300 * kib, b}},
		"backwards-small":  {{4 * kib, a}, {0, a}},
		"backwards-spill":  {{50 * kib, b}, {0, b}},
		"overwrite-middle": {{0, b}, {50 * kib, b}, {20 * kib, a}},
		"sequential-then-rewind": {
			{0, a}, {4 * kib, a}, {8 * kib, b}, {0, randBytes(3, 100)},
		},
	}
	for name, chunks := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(mnt, "runs", name)
			want := pwriteAll(t, p, chunks)
			checkContent(t, p, want)
			checkStored(t, store, p, want)
		})
	}
}

// ftruncate through an open handle, across the memory/spool boundary in
// both directions, mixed with writes.
func TestFtruncateAcrossBoundary(t *testing.T) {
	mnt, store := mountTest(t, Options{Passthrough: true})
	p := filepath.Join(mnt, "runs", "t")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := randBytes(5, 10*kib)
	step := func(what string, size int64, write []byte, at int64) {
		t.Helper()
		if size >= 0 {
			if err := f.Truncate(size); err != nil {
				t.Fatalf("%s: ftruncate %d: %v", what, size, err)
			}
			if int(size) < len(want) {
				want = want[:size]
			} else {
				want = append(want, make([]byte, int(size)-len(want))...)
			}
		}
		if write != nil {
			if _, err := f.WriteAt(write, at); err != nil {
				t.Fatalf("%s: pwrite: %v", what, err)
			}
			if end := int(at) + len(write); end > len(want) {
				want = append(want, make([]byte, end-len(want))...)
			}
			copy(want[at:], write)
		}
		st, err := f.Stat()
		if err != nil || st.Size() != int64(len(want)) {
			t.Fatalf("%s: fstat size %d (%v), want %d", what, st.Size(), err, len(want))
		}
		got := make([]byte, len(want)+10)
		n, _ := f.ReadAt(got, 0)
		if !bytes.Equal(got[:n], want) {
			t.Fatalf("%s: content differs (%d bytes read, want %d)", what, n, len(want))
		}
	}
	step("first write", -1, want, 0)
	step("grow in memory", 20*kib, nil, 0)
	step("grow past 32K (spill)", 50*kib, randBytes(6, 100), 45*kib)
	step("shrink below 32K in spool", 20*kib, nil, 0)
	step("write in spool", -1, randBytes(7, 3*kib), 19*kib)
	step("grow past 128K", 140*kib, randBytes(8, 10), 139*kib)
	step("shrink to zero", 0, nil, 0)
	step("write after zero", -1, randBytes(9, 40*kib), 0)
	if err := f.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	checkContent(t, p, want)
	checkStored(t, store, p, want)
}

// truncate(2) by path has no close to wait for: it commits at once.
func TestTruncatePath(t *testing.T) {
	mnt, store := mountTest(t, Options{Passthrough: true})
	p := filepath.Join(mnt, "runs", "t")
	data := randBytes(10, 20*kib)
	writeFile(t, p, data)
	for _, size := range []int{40 * kib, 200 * kib, 100 * kib, 30 * kib, 0, 33 * kib} {
		if err := os.Truncate(p, int64(size)); err != nil {
			t.Fatalf("truncate %d: %v", size, err)
		}
		if size < len(data) {
			data = data[:size]
		} else {
			data = append(data, make([]byte, size-len(data))...)
		}
		checkContent(t, p, data)
		checkStored(t, store, p, data)
	}
}

func TestTwoWriteHandlesShare(t *testing.T) {
	mnt, store := mountTest(t, Options{Passthrough: true})
	for _, size := range []int{1 * kib, 100 * kib} {
		p := filepath.Join(mnt, "runs", "shared")
		base := randBytes(11, size)
		writeFile(t, p, base)
		f1, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		f2, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f1.WriteAt([]byte("one"), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := f2.WriteAt([]byte("two"), 10); err != nil {
			t.Fatal(err)
		}
		want := bytes.Clone(base)
		copy(want, "one")
		copy(want[10:], "two")
		for i, f := range []*os.File{f1, f2} {
			got := make([]byte, len(want))
			if _, err := f.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("size %d: handle %d does not see both writes (%v): %q", size, i+1, err, short(got))
			}
		}
		// The first close commits both handles' writes.
		if err := f1.Close(); err != nil {
			t.Fatal(err)
		}
		checkStored(t, store, p, want)
		if err := f2.Close(); err != nil {
			t.Fatal(err)
		}
		checkContent(t, p, want)
	}
}

// A reader opened while a writer is active reads the shared, uncommitted
// content, and stat shows its size.
func TestReaderSeesUncommitted(t *testing.T) {
	mnt, _ := mountTest(t, Options{Passthrough: true})
	for _, size := range []int{100, 40 * kib, 200 * kib} {
		p := filepath.Join(mnt, "runs", "w")
		writeFile(t, p, randBytes(12, 7))
		w, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			t.Fatal(err)
		}
		data := randBytes(13, size)
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		r, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, size+10)
		n, _ := r.ReadAt(got, 0)
		if !bytes.Equal(got[:n], data) {
			t.Errorf("size %d: reader got %d bytes, not the writer's %d uncommitted ones", size, n, size)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil || st.Size != int64(size) {
			t.Errorf("size %d: stat while writing: %v, size %d", size, err, st.Size)
		}
		r.Close()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		checkContent(t, p, data)
	}
}

// fsync commits before close: the store has the content while the handle
// is still open.
func TestFsyncCommits(t *testing.T) {
	mnt, store := mountTest(t, Options{})
	for _, size := range []int{10, 64 * kib} {
		p := filepath.Join(mnt, "runs", "synced")
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		data := randBytes(14, size)
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatalf("fsync: %v", err)
		}
		checkStored(t, store, p, data)
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			t.Fatalf("fdatasync: %v", err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A commit links a large file's spool into the blob store, so the spool IS
// that blob from then on; later writes must go to a fresh copy. Another
// file that shares the blob (same content, stored once) must keep its
// bytes while the first is written on.
func TestWriteAfterCommitKeepsSharedBlob(t *testing.T) {
	mnt, store := mountTest(t, Options{})
	p1, p2 := filepath.Join(mnt, "runs", "one"), filepath.Join(mnt, "runs", "two")
	f, err := os.OpenFile(p1, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	shared := randBytes(15, 100*kib)
	if _, err := f.Write(shared); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil { // commit: the spool becomes the blob
		t.Fatal(err)
	}
	writeFile(t, p2, shared) // deduplicated onto that blob
	later := bytes.Clone(shared)
	for _, off := range []int64{0, 50 * kib, 100*kib - 3} {
		if _, err := f.WriteAt([]byte("new"), off); err != nil {
			t.Fatal(err)
		}
		copy(later[off:], "new")
	}
	if err := f.Truncate(90 * kib); err != nil {
		t.Fatal(err)
	}
	later = later[:90*kib]
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checkContent(t, p2, shared)
	checkStored(t, store, p2, shared)
	checkContent(t, p1, later)
	checkStored(t, store, p1, later)
}
