package backing

import "sync"

// worker is a goroutine of the Store's (a committer) that Close stops:
// closing stop asks it to write what is left and end; finished closes
// when it has.
type worker struct {
	stop     chan struct{} // nil until started, and once halted
	finished chan struct{}
}

// startWorker returns the channels of a new worker.
func startWorker() worker { return worker{stop: make(chan struct{}), finished: make(chan struct{})} }

// halt stops w, read under mu so that one caller halts it, and waits for
// it to end; false when it was not running.
func halt(mu *sync.Mutex, w *worker) bool {
	mu.Lock()
	stop, finished := w.stop, w.finished
	w.stop = nil
	mu.Unlock()
	if stop == nil {
		return false
	}
	close(stop)
	<-finished
	return true
}
