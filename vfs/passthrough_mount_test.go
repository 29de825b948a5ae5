package vfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// Layer 3: passthrough-sized files rewritten and read back in a loop. This
// guards a race we fixed: go-fuse 2.12.1 shares one backing file per inode
// and drops it on the release of any handle, so a read right after a
// rewrite could get EIO or the old blob (see passthrough.go). The same
// loops run with passthrough off, where reads are served by the mount.

var ptModes = []struct {
	name string
	on   bool
}{{"passthrough", true}, {"no-passthrough", false}}

// mountPT mounts with passthrough on or off and logs whether the kernel
// really offers it.
func mountPT(t *testing.T, on bool) (string, *backing.Store) {
	t.Helper()
	mnt, store, log := mountTestLog(t, Options{Passthrough: on})
	if on {
		t.Logf("kernel passthrough: %v", log.kernelPassthrough())
	}
	return mnt, store
}

func TestRewriteLoop(t *testing.T) {
	for _, m := range ptModes {
		t.Run(m.name, func(t *testing.T) {
			mnt, store := mountPT(t, m.on)
			p := filepath.Join(mnt, "runs", "model.bin")
			var data []byte
			for i := range 200 {
				data = randBytes(uint64(1000+i), 200*kib)
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatalf("iteration %d: write: %v", i, err)
				}
				checkContent(t, p, data)
				// Every 10th round also reads after the writer's grace, when
				// the read is served with passthrough (if on), then rewrites
				// while that reader's release is still in flight.
				if i%10 == 9 {
					time.Sleep(nonPTGrace + 20*time.Millisecond)
					checkContent(t, p, data)
					checkContent(t, p, data)
				}
			}
			checkStored(t, store, p, data)
		})
	}
}

// A long-lived reader keeps its handle open across many rewrites, as a
// training job reading a model while another job replaces it. Without
// passthrough neither side may get an error and new opens read the newest
// content. With passthrough the kernel refuses the write open (EIO) while
// the reader is open — the documented limit — and allows it once it closes.
func TestRewriteLoopWithOpenReader(t *testing.T) {
	for _, m := range ptModes {
		t.Run(m.name, func(t *testing.T) {
			mnt, _ := mountPT(t, m.on)
			p := filepath.Join(mnt, "runs", "model.bin")
			first := randBytes(2000, 200*kib)
			writeFile(t, p, first)
			time.Sleep(nonPTGrace + 20*time.Millisecond)
			r, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			buf := make([]byte, 200*kib)
			if m.on {
				// The documented passthrough limit: the kernel refuses a
				// write open while a passthrough reader has the file.
				err := os.WriteFile(p, randBytes(1999, 200*kib), 0o644)
				if !errors.Is(err, syscall.EIO) {
					t.Fatalf("write open beside a passthrough reader: %v, want EIO", err)
				}
				if _, err := r.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, first) {
					t.Fatalf("the reader after the refused write: %v", err)
				}
				r.Close()
				writeFile(t, p, randBytes(1998, 200*kib)) // allowed again
				return
			}
			for i := range 50 {
				data := randBytes(uint64(2001+i), 200*kib)
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatalf("iteration %d: write with a reader open: %v", i, err)
				}
				checkContent(t, p, data)
				if _, err := r.ReadAt(buf, 0); err != nil {
					t.Fatalf("iteration %d: the long-lived reader: %v", i, err)
				}
			}
		})
	}
}

// Readers open, read and close the file from goroutines while the test
// goroutine rewrites it. Neither side may get an error. A rewrite is not
// atomic (O_TRUNC, then write), and the kernel splits direct-I/O reads and
// writes into requests at offsets that depend on the buffers' alignment, so
// a reader may see a mix of versions, as on any file system. But each
// request is served under the file's lock, so what a reader gets at full
// length is a few runs of bytes, each from some version at its own offset.
func TestRewriteConcurrentReaders(t *testing.T) {
	for _, m := range ptModes {
		t.Run(m.name, func(t *testing.T) {
			mnt, _ := mountPT(t, m.on)
			p := filepath.Join(mnt, "runs", "model.bin")
			const rounds, size = 60, 200 * kib
			versions := make([][]byte, rounds)
			for i := range versions {
				versions[i] = randBytes(uint64(3000+i), size)
			}
			writeFile(t, p, versions[0])
			var stop atomic.Bool
			errs := make(chan error, 16)
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					for n := 0; !stop.Load(); n++ {
						got, err := os.ReadFile(p)
						if err != nil {
							errs <- fmt.Errorf("reader, read %d: %w", n, err)
							return
						}
						if off := foreignBytes(got, size, versions); off >= 0 {
							errs <- fmt.Errorf("reader, read %d: the bytes at %d are in no version written", n, off)
							return
						}
					}
				})
			}
			var werr error
			for i := 1; i < rounds && werr == nil; i++ {
				werr = os.WriteFile(p, versions[i], 0o644)
				if i%5 == 0 {
					time.Sleep(nonPTGrace) // let passthrough opens happen
				}
			}
			stop.Store(true)
			wg.Wait()
			close(errs)
			if werr != nil {
				t.Errorf("writer: %v", werr)
			}
			for err := range errs {
				t.Error(err)
			}
			checkContent(t, p, versions[rounds-1])
		})
	}
}

// foreignBytes returns the offset where b stops being a mix of at most 16
// runs taken from versions (at their own offsets), or -1. Random versions
// make a chance match of more than a few bytes unlikely, so bytes nobody
// wrote (zeros, a stale or shifted page) show up as too many short runs.
// Short reads (a rewrite caught between its truncate and its write) are not
// checked.
func foreignBytes(b []byte, size int, versions [][]byte) int {
	if len(b) != size {
		return -1
	}
	pos := 0
	for range 16 {
		best := 0
		for _, v := range versions {
			n := 0
			for pos+n < size && b[pos+n] == v[pos+n] {
				n++
			}
			best = max(best, n)
		}
		if pos += best; pos == size {
			return -1
		}
	}
	return pos
}

// Two readers of one file started at once, right after a rewrite, many
// times: the passthrough decision of one must not break the other's open.
func TestParallelOpensAfterRewrite(t *testing.T) {
	for _, m := range ptModes {
		t.Run(m.name, func(t *testing.T) {
			mnt, _ := mountPT(t, m.on)
			p := filepath.Join(mnt, "runs", "model.bin")
			for i := range 40 {
				data := randBytes(uint64(4000+i), 150*kib)
				writeFile(t, p, data)
				if i%2 == 1 {
					time.Sleep(nonPTGrace + 20*time.Millisecond)
				}
				errs := make(chan error, 4)
				var wg sync.WaitGroup
				for range 4 {
					wg.Go(func() {
						got, err := os.ReadFile(p)
						if err == nil && !bytes.Equal(got, data) {
							err = errors.New("read old or partial content")
						}
						errs <- err
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Fatalf("iteration %d: %v", i, err)
					}
				}
			}
		})
	}
}
