package vfs

import (
	"sync"
	"testing"
	"time"

	"github.com/n4ws/n4ws/backing"
)

// Layer 1: the passthrough bookkeeping of passthrough.go, without a mount.
// Its rules exist because go-fuse 2.12.1 shares one backing file per inode
// and drops it on the release of any handle (see the comment there).

func digestOf(b byte) backing.Digest {
	var d backing.Digest
	d[0] = b
	return d
}

// probe asks whether a new handle of blob d would get passthrough, then
// uncounts that handle again as if it had never been opened, so the probe
// leaves the state as it found it.
func probe(p *ptState, d backing.Digest) bool {
	ok := p.startPassthrough(d)
	p.mu.Lock()
	defer p.mu.Unlock()
	if ok {
		p.open--
	} else {
		p.other--
	}
	return ok
}

func counts(p *ptState) (open, other int, poisoned bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open, p.other, p.poisoned
}

// waitAllowed polls until a passthrough open of d would be allowed and
// returns how long that took, or fails after limit.
func waitAllowed(t *testing.T, p *ptState, d backing.Digest, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !probe(p, d) {
		if time.Since(start) > limit {
			open, other, poisoned := counts(p)
			t.Fatalf("passthrough still refused after %v (open=%d other=%d poisoned=%v)", limit, open, other, poisoned)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func TestPassthroughFirstAndSameDigest(t *testing.T) {
	var p ptState
	d := digestOf(1)
	if !p.startPassthrough(d) || !p.startPassthrough(d) {
		t.Fatal("two readers of one blob on a quiet file should both get passthrough")
	}
	p.endHandle(true)
	p.endHandle(true)
	if open, other, poisoned := counts(&p); open != 0 || other != 0 || poisoned {
		t.Errorf("after both released: open=%d other=%d poisoned=%v", open, other, poisoned)
	}
}

func TestPassthroughRefusedWhileOtherOpen(t *testing.T) {
	var p ptState
	d := digestOf(1)
	p.startOther() // a writer, or a small-file reader of the same node
	if probe(&p, d) {
		t.Fatal("passthrough offered while another handle is open")
	}
	// A refused start is counted as an "other" handle: it is served by us.
	if p.startPassthrough(d) {
		t.Fatal("passthrough offered while another handle is open")
	}
	if _, other, _ := counts(&p); other != 2 {
		t.Errorf("other = %d, want 2 (the open handle and the refused one)", other)
	}
	p.endHandle(false)
	p.endHandle(false)
	waitAllowed(t, &p, d, 2*time.Second)
}

// go-fuse drops the backing file just after our Release returns, so a
// released non-passthrough handle keeps blocking for nonPTGrace.
func TestPassthroughGraceAfterRelease(t *testing.T) {
	var p ptState
	d := digestOf(1)
	p.startOther()
	start := time.Now()
	p.endHandle(false)
	if probe(&p, d) {
		t.Fatal("passthrough offered right after a non-passthrough release")
	}
	time.Sleep(nonPTGrace / 2) // the grace timer cannot have fired yet
	if probe(&p, d) {
		t.Fatalf("passthrough offered %v after the release, grace is %v", time.Since(start), nonPTGrace)
	}
	waitAllowed(t, &p, d, 2*time.Second)
	if el := time.Since(start); el < nonPTGrace {
		t.Errorf("passthrough allowed after %v, before the grace of %v", el, nonPTGrace)
	}
}

// A non-passthrough release while passthrough handles are open made go-fuse
// drop their backing file: no passthrough until every one of them is gone.
func TestPassthroughPoisonedUntilAllEnd(t *testing.T) {
	var p ptState
	d := digestOf(1)
	if !p.startPassthrough(d) || !p.startPassthrough(d) {
		t.Fatal("first readers refused")
	}
	p.startOther()
	p.endHandle(false)
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, other, poisoned := counts(&p); other == 0 && poisoned {
			break
		}
		if time.Now().After(deadline) {
			open, other, poisoned := counts(&p)
			t.Fatalf("not poisoned after the grace: open=%d other=%d poisoned=%v", open, other, poisoned)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if probe(&p, d) {
		t.Fatal("passthrough offered on a poisoned node")
	}
	p.endHandle(true)
	if probe(&p, d) {
		t.Fatal("passthrough offered while one of the poisoned handles is still open")
	}
	p.endHandle(true)
	if !probe(&p, d) {
		t.Fatal("passthrough still refused after every passthrough handle ended")
	}
	if open, other, poisoned := counts(&p); open != 0 || other != 0 || poisoned {
		t.Errorf("final state: open=%d other=%d poisoned=%v", open, other, poisoned)
	}
}

// go-fuse shares the first handle's backing file: a handle for another blob
// (the file was rewritten meanwhile) would read the old content.
func TestPassthroughDigestMismatchRefused(t *testing.T) {
	var p ptState
	d1, d2 := digestOf(1), digestOf(2)
	if !p.startPassthrough(d1) {
		t.Fatal("first reader refused")
	}
	if probe(&p, d2) {
		t.Fatal("passthrough offered for another blob while the first is open")
	}
	if !probe(&p, d1) {
		t.Fatal("passthrough refused for the same blob")
	}
	p.endHandle(true)
	if !probe(&p, d2) {
		t.Fatal("passthrough refused for the new blob once the old handle ended")
	}
}

// Handles of one node open and close from many FUSE goroutines at once;
// the counts must come back to zero (and -race must stay quiet).
func TestPassthroughConcurrentBalance(t *testing.T) {
	var p ptState
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			d := digestOf(byte(g % 2))
			for i := range 200 {
				if i%3 == 0 {
					p.startOther()
					p.endHandle(false)
					continue
				}
				p.endHandle(p.startPassthrough(d))
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(2 * time.Second)
	for {
		open, other, poisoned := counts(&p)
		if open == 0 && other == 0 && !poisoned {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after all handles ended: open=%d other=%d poisoned=%v", open, other, poisoned)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
