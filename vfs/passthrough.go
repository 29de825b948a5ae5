package vfs

import (
	"sync"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// ptState counts the open handles of one file by kind, to decide when a
// new read handle may use FUSE passthrough. It lives in the file's node,
// which outlives any one handle.
type ptState struct {
	mu       sync.Mutex     // protects the following
	open     int            // passthrough handles not yet released
	digest   backing.Digest // the blob they read
	other    int            // other handles not yet released (or in their grace time)
	poisoned bool           // go-fuse dropped the backing file early
}

// Passthrough bookkeeping. go-fuse (v2.12.1) registers one backing file
// per inode for its passthrough handles, reuses it for later ones, and drops
// its reference on the release of ANY handle of the inode, passthrough or
// not. So a non-passthrough handle released while passthrough handles are
// open unregisters their backing file early, and the next passthrough open
// would get a dead id or a second backing file: the kernel answers EIO.
// We therefore never offer passthrough while other handles are open, and
// after such an early drop ("poisoned") not until every passthrough handle
// of the inode is gone. go-fuse drops that reference just after our Release
// returns, so a non-passthrough handle stays counted for nonPTGrace longer.
const nonPTGrace = 100 * time.Millisecond

// startPassthrough reports whether a new handle reading blob d may use
// passthrough, and counts it as passthrough or not.
func (p *ptState) startPassthrough(d backing.Digest) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.poisoned || p.other > 0 || (p.open > 0 && p.digest != d) {
		p.other++
		return false
	}
	p.open++
	p.digest = d
	return true
}

// startOther counts a handle that is not passthrough.
func (p *ptState) startOther() {
	p.mu.Lock()
	p.other++
	p.mu.Unlock()
}

// endHandle uncounts a handle when it is released.
func (p *ptState) endHandle(passthrough bool) {
	if !passthrough {
		time.AfterFunc(nonPTGrace, func() { p.endHandleNow(false) })
		return
	}
	p.endHandleNow(true)
}

func (p *ptState) endHandleNow(passthrough bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if passthrough {
		p.open--
		if p.open == 0 {
			p.poisoned = false
		}
		return
	}
	p.other--
	if p.open > 0 {
		p.poisoned = true
	}
}
