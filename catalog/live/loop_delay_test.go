package live

import (
	"testing"
	"time"
)

// TestSustainedDelay: under sustained changes a pass starts the lag
// budget less the longest recent pass after the first change: soon after
// cheap passes, never sooner than the quiet delay after costly ones, never
// later than maxDelay, and a slow pass stops counting after recentPass
// others.
func TestSustainedDelay(t *testing.T) {
	l := newLoopState()
	record := func(d time.Duration) {
		l.took[l.tookNext%recentPass] = d
		l.tookNext++
	}
	if got := l.sustainedDelay(); got != maxDelay {
		t.Errorf("before any pass: %v, want %v", got, maxDelay)
	}
	record(200 * time.Millisecond)
	if got, want := l.sustainedDelay(), lagBudget-200*time.Millisecond; got != want {
		t.Errorf("after a 200 ms pass: %v, want %v", got, want)
	}
	record(1500 * time.Millisecond)
	if got := l.sustainedDelay(); got != quietDelay {
		t.Errorf("after a 1.5 s pass: %v, want %v", got, quietDelay)
	}
	for range recentPass {
		record(100 * time.Millisecond)
	}
	if got, want := l.sustainedDelay(), min(maxDelay, lagBudget-100*time.Millisecond); got != want {
		t.Errorf("after %d passes of 100 ms: %v, want %v", recentPass, got, want)
	}
}
