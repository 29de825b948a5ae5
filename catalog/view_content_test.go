package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The merged Parquet files and the pieces kept for the next merge live in
// unnamed spill files of the store's spool folder, not in the heap, and a
// spill file is closed once no view or piece refers to it.
func TestParquetKeptOnDisk(t *testing.T) {
	f := newStatusFixture(t)
	f.pipeline("wheat", "0001_pls_aa", 0.5, 0.9)
	f.pipeline("corn", "0001_pls_bb", 0.5, 0.9)
	f.refresh()
	for _, name := range parquetFileNames {
		v := f.overlayFile("catalog", name)
		r, size, err := v.Reader()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.(*spillFile); !ok {
			t.Errorf("%s is kept as %T, not in a spill file", name, r)
		}
		if got, _ := v.ExactSize(); got != size || size < 12 {
			t.Errorf("%s: ExactSize %d, Reader size %d", name, got, size)
		}
	}
	f.cat.pieces.mu.Lock()
	for k, p := range f.cat.pieces.m {
		if p.part.body.file == nil {
			t.Errorf("piece %v kept in memory (%d bytes), not in the merged file", k, len(p.part.body.mem))
		}
	}
	f.cat.pieces.mu.Unlock()
	spool := filepath.Join(f.s.Dir(), "spool")
	if names, _ := os.ReadDir(spool); len(names) != 0 {
		t.Errorf("spill files left names in %s: %v", spool, names)
	}

	// Twenty more generations, each file read in each: the old spill
	// files are closed once unreachable, not kept open.
	for i := range 20 {
		f.pipeline("wheat", fmt.Sprintf("%04d_pls_n%d", i+2, i), 0.3, 0.7)
		f.refresh()
		f.renderParquetFiles()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		open := openSpills(t, spool)
		if open <= 6 { // this generation's three files, and the last one's at most
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d spill files still open after 21 generations", open)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// openSpills counts this process's descriptors of unnamed files in dir.
func openSpills(t *testing.T, dir string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	n := 0
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir+"/") && strings.HasSuffix(target, "(deleted)") {
			n++
		}
	}
	return n
}
