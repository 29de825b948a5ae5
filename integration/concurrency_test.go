//go:build linux

package integration

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startWriter starts crashwriter in dir; acc collects what it reports.
// wait returns the writer's exit error and stderr.
func startWriter(t *testing.T, dir, mode string, seed uint64, acc *acceptable, env ...string) (wait func() (error, string)) {
	t.Helper()
	cmd, stderr, done := spawnWriter(t, dir, mode, seed, acc, env...)
	return func() (error, string) {
		<-done
		return cmd.Wait(), stderr.String()
	}
}

// spawnWriter starts crashwriter in dir with env added to ours; acc notes
// each line it prints. done closes once its output has ended; the caller
// then calls cmd.Wait.
func spawnWriter(t *testing.T, dir, mode string, seed uint64, acc *acceptable, env ...string) (cmd *exec.Cmd, stderr *strings.Builder, done <-chan struct{}) {
	t.Helper()
	mkdirAll(t, dir)
	cmd = exec.Command(crashWriterBin, dir, fmt.Sprint(seed), mode)
	cmd.Env = append(os.Environ(), env...)
	stderr = &strings.Builder{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			acc.note(dir, line)
		}
	}()
	return cmd, stderr, ended
}

// TestConcurrentPipelineNumbers: 8 processes make 100 pipeline folders
// each in one dataset (25 under CI: N4WS_CONCURRENT_EACH, which make crash
// sets to 100), taking the highest number plus one and retrying on EEXIST.
// They end with distinct numbers 0001..0800 and every metrics.json they
// closed is there.
func TestConcurrentPipelineNumbers(t *testing.T) {
	t.Parallel()
	const writers = 8
	each := 25
	if v := os.Getenv("N4WS_CONCURRENT_EACH"); v != "" {
		if _, err := fmt.Sscan(v, &each); err != nil || each < 1 {
			t.Fatalf("N4WS_CONCURRENT_EACH=%q: want a positive number", v)
		}
	}
	store := newStore(t)
	mnt := mountStore(t, store)
	ds := filepath.Join(mnt, "runs/race")
	mkdirAll(t, ds)
	acc := newAcceptable()
	var waits []func() (error, string)
	for w := range writers {
		waits = append(waits, startWriter(t, ds, fmt.Sprintf("claim:w%d:%d", w, each), uint64(w), acc))
	}
	for w, wait := range waits {
		if err, msg := wait(); err != nil {
			t.Errorf("writer %d: %v: %s", w, err, msg)
		}
	}
	var folders []string
	for _, name := range lsNames(t, ds) {
		if len(name) > 4 && name[4] == '_' {
			folders = append(folders, name)
		}
	}
	seen := map[string]string{}
	for _, f := range folders {
		if other, dup := seen[f[:4]]; dup {
			t.Errorf("number %s taken twice: %s and %s", f[:4], other, f)
		}
		seen[f[:4]] = f
	}
	for n := 1; n <= writers*each; n++ {
		if seen[fmt.Sprintf("%04d", n)] == "" {
			t.Errorf("no folder numbered %04d", n)
		}
	}
	if len(folders) != writers*each || acc.closed != writers*each {
		t.Errorf("%d folders, %d metrics.json closed; want %d each", len(folders), acc.closed, writers*each)
	}
	acc.check(t, ds)
	var sum runSummary
	pyJSON(t, filepath.Join(ds, "run_summary.json"), &sum)
	if sum.Pipelines != writers*each {
		t.Errorf("run_summary.json counts %d pipelines, want %d", sum.Pipelines, writers*each)
	}
	n4ws(t, store, "fsck")
	t.Logf("%d writers × %d pipeline folders: %d distinct numbers", writers, each, len(seen))
}

// TestConcurrentReadersSeeWholeContent: while a writer replaces a file
// again and again (write a temporary file, rename it over), readers that
// open and read it see one whole version every time, never a mix.
func TestConcurrentReadersSeeWholeContent(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	mnt := mountStore(t, store)
	dir := filepath.Join(mnt, "runs/readers")
	target := filepath.Join(dir, "model.bin")
	const versions = 60
	valid := map[string]int{}
	contents := make([][]byte, versions)
	for v := range versions {
		contents[v] = randBytes(uint64(7000+v), 256<<10+v*512)
		valid[sha(contents[v])] = v
	}
	writeFile(t, target, contents[0])
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	reads, torn := 0, 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				b, err := os.ReadFile(target)
				mu.Lock()
				reads++
				if _, ok := valid[sha(b)]; err != nil || !ok {
					if torn++; torn <= 5 {
						t.Errorf("read %d bytes (err %v): not one whole version", len(b), err)
					}
				}
				mu.Unlock()
			}
		}()
	}
	for v := 1; v < versions; v++ {
		tmp := filepath.Join(dir, fmt.Sprintf(".tmp%d", v))
		if err := os.WriteFile(tmp, contents[v], 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, target); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	if got := fileSHA(t, target); valid[got] != versions-1 {
		t.Errorf("after the last rename the file holds version %d, want %d", valid[got], versions-1)
	}
	t.Logf("%d reads during %d replacements, %d torn", reads, versions-1, torn)
}

// TestConcurrentCLIDuringWrites: gc, runs delete, library save and import
// run while writers fill the mount; no closed file is lost, nothing stored
// before changes (but the deleted folder), and fsck is clean.
func TestConcurrentCLIDuringWrites(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	n4ws(t, store, "demo", "--datasets", "1", "--pipelines", "8")
	var rows []runRowJSON
	n4wsJSON(t, store, &rows, "runs", "list", "--json")
	var pipes []runRowJSON
	for _, r := range rows {
		if r.Pipeline != "" {
			pipes = append(pipes, r)
		}
	}
	mnt := mountStore(t, store)
	n4ws(t, store, "library", "save", "--pipeline", "--from", pipes[0].Path, "--name", "all")
	victim := filepath.Join(mnt, pipes[len(pipes)-1].Path)
	before := storedFiles(t, mnt)
	for p := range before {
		if strings.HasPrefix(p, victim+"/") {
			delete(before, p)
		}
	}
	acc := newAcceptable()
	var waits []func() (error, string)
	for w := range 3 {
		dir := filepath.Join(mnt, "runs", fmt.Sprintf("busy%d", w))
		waits = append(waits, startWriter(t, dir, "files", uint64(100+w), acc, "CRASHWRITER_FILES=60"))
	}
	cli := [][]string{
		{"gc"},
		{"runs", "delete", pipes[0].Dataset + "/" + filepath.Base(victim), "--confirm"},
		{"library", "save", "--filtered", "--from", pipes[1].Path, "--name", "during"},
		{"import", "library/trained/pipeline/all.zip", "--dataset", "imported"},
		{"gc"},
	}
	for _, args := range cli {
		n4ws(t, store, args...)
	}
	for w, wait := range waits {
		if err, msg := wait(); err != nil {
			t.Errorf("writer %d: %v: %s", w, err, msg)
		}
	}
	mustNotExist(t, victim)
	zipCheck(t, filepath.Join(mnt, "library/trained/filtered/during.zip"))
	if got := len(lsNames(t, filepath.Join(mnt, "runs/imported"))); got < len(pipes) {
		t.Errorf("runs/imported has %d entries, want the %d pipelines at least", got, len(pipes))
	}
	acc.check(t)
	checkStillStored(t, before)
	n4ws(t, store, "gc")
	acc.check(t)
	n4ws(t, store, "fsck")
	t.Logf("3 writers closed %d files while %d CLI commands ran", acc.closed, len(cli))
}
