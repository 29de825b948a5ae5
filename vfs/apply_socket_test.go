package vfs

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// A CLI command's "settle" makes the mount write its queued unlinks before
// the answer; "apply" still reaches the change watcher. Without a mount
// holding the store, neither waits.
func TestApplySocketRequests(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := filepath.Join(t.TempDir(), "store")
	if _, err := backing.Init(ctx, dir); err != nil {
		t.Fatal(err)
	}
	if err := SettleMount(dir, time.Second); err != nil {
		t.Fatalf("settle without a mount: %v", err)
	}
	s, err := backing.Open(ctx, dir, backing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	lock, err := s.LockForMount(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	var settled atomic.Int32
	reqs := make(chan chan<- error)
	if err := serveApplySocket(ctx, dir, reqs, func() { settled.Add(1) }, slog.Default()); err != nil {
		t.Fatal(err)
	}
	if err := SettleMount(dir, 2*time.Second); err != nil {
		t.Fatalf("settle: %v", err)
	}
	if settled.Load() != 1 {
		t.Errorf("the mount settled %d times for one request, want 1", settled.Load())
	}
	go func() { (<-reqs) <- nil }() // the change watcher's answer
	if err := WaitForMount(dir, 2*time.Second); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if settled.Load() != 1 {
		t.Errorf("an apply request settled the queue")
	}
}
