package vfs

import (
	"crypto/sha256"
	"hash"
	"sync"
)

// pipeHasher hashes what a sequential writer writes on another goroutine,
// so that a WRITE request returns once its bytes are in the spool and the
// hashing of one chunk overlaps the transfer of the next (two cores: the
// kernel copying, this process hashing). Small writes are hashed inline:
// handing them over would cost more than hashing them.
type pipeHasher struct {
	h hash.Hash // used by the worker, or inline when no worker runs

	mu      sync.Mutex // protects the following
	work    chan []byte
	done    chan struct{}
	pending bool
}

// pipeMin is the smallest write handed to the worker.
const pipeMin = 256 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, 1<<20); return &b }}

func newPipeHasher() *pipeHasher { return &pipeHasher{h: sha256.New()} }

// Write adds p (copied: FUSE reuses its buffer) to the hash.
func (p *pipeHasher) Write(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(b) < pipeMin && !p.pending {
		p.h.Write(b)
		return
	}
	if !p.pending {
		p.work, p.done, p.pending = make(chan []byte, 4), make(chan struct{}), true
		go p.run(p.work, p.done)
	}
	buf := chunkPool.Get().(*[]byte)
	*buf = append((*buf)[:0], b...)
	p.work <- *buf
}

func (p *pipeHasher) run(work <-chan []byte, done chan<- struct{}) {
	for b := range work {
		p.h.Write(b)
		b = b[:0]
		chunkPool.Put(&b)
	}
	close(done)
}

// wait lets the worker finish what it was given. Call with p.mu held.
func (p *pipeHasher) wait() {
	if p.pending {
		close(p.work)
		<-p.done
		p.pending = false
	}
}

// Sum returns the digest of everything written.
func (p *pipeHasher) Sum(dst []byte) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wait()
	return p.h.Sum(dst)
}

// Reset starts over (the file was truncated to nothing).
func (p *pipeHasher) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wait()
	p.h.Reset()
}

// Close stops the worker, if any (the content stopped being written).
func (p *pipeHasher) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wait()
}
