//go:build linux

package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"
)

// A cold read is only cold if the file's pages really left the page cache.
// drop_caches drops clean pages only, and a page still mapped or pinned by
// a process stays: residentBytes checks, with mincore(2), what is left.
// It sees this machine's page cache only: a virtual disk may still be
// cached by the host (docs/PERFORMANCE.md, "Cold reads").

// residentBytes is how many bytes of the regular files below dir are in
// the page cache. Mapping a file does not fault its pages in.
func residentBytes(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		n, err := fileResident(path)
		total += n
		return err
	})
	return total, err
}

func fileResident(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return 0, err
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return 0, fmt.Errorf("mmap %s: %w", path, err)
	}
	defer syscall.Munmap(data)
	page := int64(os.Getpagesize())
	vec := make([]byte, (st.Size()+page-1)/page)
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&data[0])),
		uintptr(len(data)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return 0, fmt.Errorf("mincore %s: %w", path, e)
	}
	var n int64
	for _, v := range vec {
		n += int64(v & 1)
	}
	return n * page, nil
}

// coldAndCheck makes t's caches cold and fails if any page of the files
// under its backing folder survived.
func coldAndCheck(ctx context.Context, t target) error {
	if err := t.cold(ctx); err != nil {
		return err
	}
	n, err := residentBytes(t.backing)
	if err != nil {
		return fmt.Errorf("page cache check: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("%d bytes of %s still in the page cache after dropping it", n, t.backing)
	}
	return nil
}
