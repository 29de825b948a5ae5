package vfs

import (
	"bytes"
	"context"
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

// Layer 3: concurrent clients of one mount, and a second process (the CLI)
// changing the store under it. Goroutines report errors on a channel;
// only the test goroutine may call t.Fatal.

func TestConcurrentWriters(t *testing.T) {
	mnt, store := mountTest(t, Options{Passthrough: true})
	const workers, files = 8, 10
	errs := make(chan error, workers*files)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			dir := filepath.Join(mnt, "runs", fmt.Sprintf("w%d", w))
			if err := os.Mkdir(dir, 0o755); err != nil {
				errs <- err
				return
			}
			for i := range files {
				// Sizes cover all three paths: memory, spool, passthrough.
				size := []int{100, 40 * kib, 150 * kib}[(w+i)%3]
				data := randBytes(uint64(w*1000+i), size)
				p := filepath.Join(dir, fmt.Sprintf("f%d", i))
				if err := os.WriteFile(p, data, 0o644); err != nil {
					errs <- fmt.Errorf("write %s: %w", p, err)
					continue
				}
				got, err := os.ReadFile(p)
				if err != nil {
					errs <- fmt.Errorf("read %s: %w", p, err)
				} else if !bytes.Equal(got, data) {
					errs <- fmt.Errorf("%s: read %d bytes differ from the %d written", p, len(got), len(data))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	for w := range workers {
		for i := range files {
			size := []int{100, 40 * kib, 150 * kib}[(w+i)%3]
			p := filepath.Join(mnt, "runs", fmt.Sprintf("w%d", w), fmt.Sprintf("f%d", i))
			checkStored(t, store, p, randBytes(uint64(w*1000+i), size))
		}
	}
}

// openCLI opens the mount's store a second time as the CLI does: another
// Store, logging its changes for the mount's watcher.
func openCLI(t *testing.T, store *backing.Store) *backing.Store {
	t.Helper()
	cli, err := backing.Open(context.Background(), store.Dir(),
		backing.Options{LogChanges: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// Changes made by the CLI reach the mount within the watcher's poll,
// although the kernel caches entries, negative lookups and attributes
// for 10 s.
func TestCLIChangeVisible(t *testing.T) {
	mnt, store := mountTest(t, Options{Passthrough: true})
	cli := openCLI(t, store)
	ctx := context.Background()
	p := filepath.Join(mnt, "runs", "cli.txt")
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) { // caches a negative entry
		t.Fatalf("stat before the CLI wrote: %v", err)
	}
	readIs := func(want string) func() bool {
		return func() bool {
			got, err := os.ReadFile(p)
			return err == nil && string(got) == want
		}
	}
	if _, err := cli.WriteFile(ctx, "runs/cli.txt", strings.NewReader("from the cli"), 0o644, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if !waitFor(2*time.Second, readIs("from the cli")) {
		t.Fatal("a file created by the CLI is not visible in the mount after 2 s")
	}
	// New content of another size: attributes and pages must both go.
	long := strings.Repeat("changed by the cli ", 100)
	if _, err := cli.WriteFile(ctx, "runs/cli.txt", strings.NewReader(long), 0o644, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if !waitFor(2*time.Second, readIs(long)) {
		got, err := os.ReadFile(p)
		t.Fatalf("content changed by the CLI not visible after 2 s: %d bytes %q (%v)", len(got), short(got), err)
	}
	// Same size, other bytes: only the blob tells them apart, and the
	// mount's memory of what the last open found must not hide it.
	same := strings.Repeat("CHANGED BY THE CLI ", 100)
	if _, err := cli.WriteFile(ctx, "runs/cli.txt", strings.NewReader(same), 0o644, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if !waitFor(2*time.Second, readIs(same)) {
		got, err := os.ReadFile(p)
		t.Fatalf("same-size content changed by the CLI not visible after 2 s: %q (%v)", short(got), err)
	}
	runs, err := cli.ResolvePath(ctx, "runs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Unlink(ctx, runs.Ino, "cli.txt"); err != nil {
		t.Fatal(err)
	}
	if !waitFor(2*time.Second, func() bool { _, err := os.Stat(p); return errors.Is(err, os.ErrNotExist) }) {
		t.Fatal("a file removed by the CLI is still visible in the mount after 2 s")
	}
}

// A reader holding a passthrough handle while the CLI replaces the file's
// content. The kernel keeps one backing file per inode while passthrough
// handles are open and refuses (EIO) any other open meanwhile: that is the
// documented limit of passthrough (README, known limits). The old reader
// keeps reading its blob, and once it closes, a new open reads the new
// content.
func TestCLIRewriteWhileReading(t *testing.T) {
	mnt, store := mountTest(t, Options{Passthrough: true})
	cli := openCLI(t, store)
	p := filepath.Join(mnt, "runs", "big")
	oldData, newData := randBytes(40, 200*kib), randBytes(41, 200*kib)
	writeFile(t, p, oldData)
	time.Sleep(nonPTGrace + 50*time.Millisecond) // let the writer's grace pass
	r, err := os.Open(p)                         // passthrough where the kernel has it
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, len(oldData))
	if _, err := r.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, oldData) {
		t.Fatalf("first reader: %v", err)
	}
	if _, err := cli.WriteFile(context.Background(), "runs/big", bytes.NewReader(newData), 0o644, time.Time{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * watchInterval) // the watcher drops the kernel's cached attributes
	if got, err := os.ReadFile(p); err == nil && !bytes.Equal(got, newData) {
		t.Fatalf("a new open while the old reader is open read stale content (%d bytes)", len(got))
	} else if err != nil && !errors.Is(err, syscall.EIO) {
		t.Fatalf("a new open while the old reader is open: %v, want EIO or the new content", err)
	}
	if _, err := r.ReadAt(buf, 0); err != nil || !bytes.Equal(buf, oldData) {
		t.Errorf("the first reader no longer reads its blob: %v", err)
	}
	r.Close()
	var got []byte
	ok := waitFor(2*time.Second, func() bool {
		got, err = os.ReadFile(p)
		return err == nil && bytes.Equal(got, newData)
	})
	if !ok {
		t.Fatalf("after the old reader closed: err %v, %d bytes (new content: %v)", err, len(got), bytes.Equal(got, newData))
	}
}
