package vfs

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/n4ws/n4ws/backing"
)

// fallocate through the mount, on content held in memory (10 KiB) and in a
// spool file (200 KiB), against a model of what the bytes must become.
func TestFallocateModes(t *testing.T) {
	mnt, store := mountTest(t, Options{})
	for _, size := range []int{10 * kib, 200 * kib} {
		p := filepath.Join(mnt, "runs", "alloc")
		want := randBytes(21, size)
		writeFile(t, p, want)
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		fd := int(f.Fd())
		step := func(what string, mode uint32, off, n int64) {
			t.Helper()
			if err := unix.Fallocate(fd, mode, off, n); err != nil {
				t.Fatalf("size %d: %s: %v", size, what, err)
			}
		}
		zero := func(from, to int) { clear(want[from:min(to, len(want))]) }

		step("punch hole", unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 1000, 5000)
		zero(1000, 6000)
		step("zero range inside", unix.FALLOC_FL_ZERO_RANGE, 7000, 100)
		zero(7000, 7100)
		step("zero range past EOF, keep size", unix.FALLOC_FL_ZERO_RANGE|unix.FALLOC_FL_KEEP_SIZE, int64(size-10), 100)
		zero(size-10, size)
		step("keep size past EOF", unix.FALLOC_FL_KEEP_SIZE, 0, int64(size+50000))
		step("zero range growing the file", unix.FALLOC_FL_ZERO_RANGE, int64(size+100), 400)
		want = append(want, make([]byte, 500)...)
		step("allocate growing the file", 0, int64(len(want)), 3000)
		want = append(want, make([]byte, 3000)...)

		got := make([]byte, len(want)+10)
		n, err := f.ReadAt(got, 0)
		if n != len(want) || !bytes.Equal(got[:n], want) {
			t.Fatalf("size %d: read back %d bytes (%v), differ from the model of %d", size, n, err, len(want))
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		checkContent(t, p, want)
		checkStored(t, store, p, want)
	}
}

// Punching a hole in a file whose content was just committed must not touch
// the stored blob, which another file shares.
func TestPunchHoleKeepsSharedBlob(t *testing.T) {
	mnt, store := mountTest(t, Options{})
	p1, p2 := filepath.Join(mnt, "runs", "one"), filepath.Join(mnt, "runs", "two")
	shared := randBytes(22, 100*kib)
	writeFile(t, p2, shared)
	f, err := os.OpenFile(p1, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(shared); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil { // commit: the spool IS the shared blob now
		t.Fatal(err)
	}
	if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, 64*kib); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	punched := append(make([]byte, 64*kib), shared[64*kib:]...)
	checkStored(t, store, p1, punched)
	checkStored(t, store, p2, shared)
	checkContent(t, p2, shared)
}

// The kernel's FUSE client refuses the range-shifting modes itself; this
// pins down the reason fallocate.go gives for not implementing them.
func TestFallocateShiftModesRefusedByKernel(t *testing.T) {
	mnt, _ := mountTest(t, Options{})
	p := filepath.Join(mnt, "runs", "shift")
	writeFile(t, p, randBytes(23, 64*kib))
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, mode := range []uint32{unix.FALLOC_FL_COLLAPSE_RANGE, unix.FALLOC_FL_INSERT_RANGE} {
		err := unix.Fallocate(int(f.Fd()), mode, 4096, 4096)
		wantErrno(t, "fallocate shift mode", err, syscall.EOPNOTSUPP)
	}
}

// Beyond backing.MaxFileSize, truncate, ftruncate and writes fail with
// EFBIG and leave the file as it was (pjdfstest truncate/12.t).
func TestFileTooBig(t *testing.T) {
	mnt, store := mountTest(t, Options{})
	p := filepath.Join(mnt, "runs", "big")
	data := randBytes(24, 5000)
	writeFile(t, p, data)
	wantErrno(t, "truncate to 999999999999999", os.Truncate(p, 999999999999999), syscall.EFBIG)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "ftruncate past the limit", f.Truncate(backing.MaxFileSize+1), syscall.EFBIG)
	_, err = f.WriteAt([]byte("x"), backing.MaxFileSize)
	wantErrno(t, "write past the limit", err, syscall.EFBIG)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checkContent(t, p, data)
	checkStored(t, store, p, data)
}
