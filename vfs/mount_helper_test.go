package vfs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// Layer 2: an in-process mount of a fresh store, as go-fuse fs/mem_test.go
// testMount does. Tests drive it with plain os/syscall calls from Go; they
// never exec anything that lives on the mount, nor set a child's working
// directory inside it (go-fuse fs/api.go "Deadlocks").

// requireFUSE skips a test on a developer machine without /dev/fuse, and
// fails it under CI, where a missing /dev/fuse means the runner is broken.
func requireFUSE(tb testing.TB) {
	tb.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("CI=true but no FUSE: %v", err)
		}
		tb.Skipf("no FUSE here: %v", err)
	}
}

// testLog keeps the mount's info, warning and error lines, to print them
// when a test fails. It never calls tb.Log itself: the mount's goroutines may still log
// after the test has returned.
type testLog struct {
	mu   sync.Mutex
	recs []string
}

func (l *testLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelInfo }
func (l *testLog) WithAttrs([]slog.Attr) slog.Handler            { return l }
func (l *testLog) WithGroup(string) slog.Handler                 { return l }
func (l *testLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.mu.Lock()
	l.recs = append(l.recs, b.String())
	l.mu.Unlock()
	return nil
}

func (l *testLog) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.recs)
}

// mountTest mounts a fresh store in a temporary directory and returns the
// mountpoint and the store the mount serves. Cleanup unmounts (failing the
// test if the mount stays) and closes the store.
func mountTest(tb testing.TB, opts Options) (mnt string, store *backing.Store) {
	tb.Helper()
	mnt, store, _ = mountTestLog(tb, opts)
	return mnt, store
}

// mountTestLog is mountTest that also returns the mount's warning log.
func mountTestLog(tb testing.TB, opts Options) (string, *backing.Store, *testLog) {
	tb.Helper()
	requireFUSE(tb)
	ctx, cancel := context.WithCancel(context.Background())
	// TempDir first: its removal is registered before the unmount and so
	// runs after it, never through a live mount.
	root := tb.TempDir()
	dir, mnt := filepath.Join(root, "store"), filepath.Join(root, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		tb.Fatal(err)
	}
	if _, err := backing.Init(ctx, dir); err != nil {
		tb.Fatalf("init store: %v", err)
	}
	log := &testLog{}
	store, err := backing.Open(ctx, dir, backing.Options{Logger: slog.New(log)})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(log)
	}
	server, err := Mount(ctx, mnt, store, opts)
	if err != nil {
		cancel()
		store.Close()
		tb.Fatalf("mount: %v", err)
	}
	tb.Cleanup(func() {
		cancel() // stops the change watcher
		var uerr error
		for range 20 {
			if uerr = server.Unmount(); uerr == nil {
				break
			}
			time.Sleep(100 * time.Millisecond) // EBUSY: a handle is closing
		}
		if isMounted(mnt) {
			tb.Errorf("%s still mounted after 20 unmount attempts: %v", mnt, uerr)
			// Our own mount only: detach it so that TempDir removal cannot
			// walk into a live file system.
			syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
		if err := store.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
		if tb.Failed() {
			for _, l := range log.lines() {
				tb.Log("mount log: " + l)
			}
		}
	})
	return mnt, store, log
}

// kernelPassthrough reports whether the kernel granted FUSE passthrough to
// the mount, from the mount's "mounted" log line. Tests log it: without it
// their passthrough variants only exercise the mount's own reads.
func (l *testLog) kernelPassthrough() bool {
	for _, line := range l.lines() {
		if strings.Contains(line, " mounted ") && strings.Contains(line, "passthrough_kernel=true") {
			return true
		}
	}
	return false
}

func isMounted(mnt string) bool {
	data, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == mnt {
			return true
		}
	}
	return false
}

// randBytes returns n pseudo-random bytes, the same for the same seed.
func randBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	r.Read(b)
	return b
}

func writeFile(tb testing.TB, p string, data []byte) {
	tb.Helper()
	if err := os.WriteFile(p, data, 0o644); err != nil {
		tb.Fatalf("write %s: %v", p, err)
	}
}

// checkContent reads p through the mount and compares it with want.
func checkContent(tb testing.TB, p string, want []byte) {
	tb.Helper()
	got, err := os.ReadFile(p)
	if err != nil {
		tb.Fatalf("read %s: %v", p, err)
	}
	if !bytes.Equal(got, want) {
		tb.Fatalf("%s: read %d bytes %s, want %d bytes %s", p, len(got), short(got), len(want), short(want))
	}
}

func short(b []byte) string {
	if len(b) > 16 {
		return string(b[:16]) + "…"
	}
	return string(b)
}

// inoOf returns the inode number the mount reports for p, which is the
// node's number in the store.
func inoOf(tb testing.TB, p string) uint64 {
	tb.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		tb.Fatalf("lstat %s: %v", p, err)
	}
	return st.Ino
}

// checkStored checks what the store holds for the file at p: the size, a
// digest equal to sha256(want), and blob bytes equal to want. The digest is
// computed by the mount, incrementally or at commit; this catches a wrong
// incremental hash as well as wrong bytes.
func checkStored(tb testing.TB, store *backing.Store, p string, want []byte) {
	tb.Helper()
	ctx := context.Background()
	a, err := store.GetAttr(ctx, inoOf(tb, p))
	if err != nil {
		tb.Fatalf("store getattr %s: %v", p, err)
	}
	if a.Size != int64(len(want)) {
		tb.Fatalf("%s: stored size %d, want %d", p, a.Size, len(want))
	}
	if len(want) == 0 {
		if !a.Blob.IsZero() {
			tb.Fatalf("%s: empty file has blob %s", p, a.Blob)
		}
		return
	}
	if wantD := backing.Digest(sha256.Sum256(want)); a.Blob != wantD {
		tb.Fatalf("%s: stored digest %s, want sha256 of the content %s", p, a.Blob, wantD)
	}
	got, err := store.ReadBlob(ctx, a.Blob, a.Size)
	if err != nil {
		tb.Fatalf("%s: read blob: %v", p, err)
	}
	if !bytes.Equal(got, want) {
		tb.Fatalf("%s: blob bytes differ from the content written", p)
	}
}

// waitFor polls cond until it holds or d has passed.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// wantErrno fails unless err carries errno want.
func wantErrno(tb testing.TB, what string, err error, want ...syscall.Errno) {
	tb.Helper()
	for _, w := range want {
		if errors.Is(err, w) {
			return
		}
	}
	tb.Errorf("%s: got %v, want %v", what, err, want)
}

func TestMountSmoke(t *testing.T) {
	mnt, _ := mountTest(t, Options{})
	names, err := os.ReadDir(mnt)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range names {
		got = append(got, e.Name())
	}
	for _, want := range []string{"runs", "exports", "library", "catalog"} {
		if !slices.Contains(got, want) {
			t.Errorf("root lists %v, missing %s", got, want)
		}
	}
}
