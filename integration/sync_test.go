//go:build linux

package integration

import (
	"path/filepath"
	"testing"
)

// n4ws sync works beside a running mount and without one, and the content
// closed before it is what the store holds (docs/RELIABILITY.md).
func TestSyncCommand(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	p := filepath.Join(mnt, "runs", "synced", "data.bin")
	data := randBytes(41, 300<<10)
	writeFile(t, p, data)
	n4ws(t, store, "sync")
	if got := fileSHA(t, p); got != sha(data) {
		t.Errorf("after n4ws sync, %s has sha %s, want %s", p, got, sha(data))
	}
	unmount(t, store, mnt, mustPID(t, store))
	n4ws(t, store, "sync")
	n4ws(t, store, "fsck")
}
