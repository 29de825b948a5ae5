//go:build linux

// Command crashwriter writes into a folder until it fails or is killed, in
// one of several patterns (MODE, default "files"). Before it starts a file
// whose final name will hold new content it prints "open <sha256> <name>";
// once that content is durable under its final name (close, or the rename
// that publishes it, returned) it prints "<sha256> <name>". Names are
// relative to DIR. The test therefore knows, for every final name, which
// contents are acceptable after a crash.
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) < 3 || len(os.Args) > 4 {
		fmt.Fprintln(os.Stderr, "usage: crashwriter DIR SEED [files|large|small|rename|pipelines|claim:WORKER:N]")
		os.Exit(2)
	}
	dir := os.Args[1]
	seed, _ := strconv.ParseUint(os.Args[2], 10, 64)
	mode := "files"
	if len(os.Args) == 4 {
		mode = os.Args[3]
	}
	w := &writer{dir: dir, r: rand.New(rand.NewPCG(seed, seed+1))}
	var err error
	switch mode {
	case "files":
		err = w.files()
	case "large":
		err = w.large()
	case "small":
		err = w.small()
	case "rename":
		err = w.renames()
	case "pipelines":
		err = w.pipelines()
	default:
		var worker string
		var n int
		if _, serr := fmt.Sscanf(strings.ReplaceAll(mode, ":", " "), "claim %s %d", &worker, &n); serr == nil {
			if err = w.claim(worker, n); err == nil {
				os.Exit(0)
			}
			break
		}
		err = fmt.Errorf("unknown mode %q", mode)
	}
	fmt.Fprintln(os.Stderr, "crashwriter:", err)
	os.Exit(1)
}

type writer struct {
	dir string
	r   *rand.Rand
}

// files: 1 KiB..2 MiB files, a new sub-folder every 10 files; it stops
// after $CRASHWRITER_FILES files when that is set.
func (w *writer) files() error {
	limit, _ := strconv.Atoi(os.Getenv("CRASHWRITER_FILES"))
	for i := 0; ; i++ {
		if limit > 0 && i == limit {
			os.Exit(0)
		}
		// Log-uniform sizes: many small files, some large ones.
		size := 1024 << w.r.IntN(12) // 1 KiB .. 2 MiB
		size = max(1024, size/2+w.r.IntN(size/2+1))
		if err := w.write(fmt.Sprintf("d%03d/f%05d.bin", i/10, i), w.random(size), 256<<10); err != nil {
			return err
		}
	}
}

// large: 64 MiB files written in 1 MiB chunks, so a kill lands mid-file.
func (w *writer) large() error {
	for i := 0; ; i++ {
		if err := w.write(fmt.Sprintf("big%02d.bin", i), w.random(64<<20), 1<<20); err != nil {
			return err
		}
	}
}

// small: a burst of 100..4000-byte files, 200 per folder.
func (w *writer) small() error {
	for i := 0; ; i++ {
		if err := w.write(fmt.Sprintf("s%03d/f%05d.txt", i/200, i), w.random(100+w.r.IntN(3900)), 1<<20); err != nil {
			return err
		}
	}
}

// renames: the usual safe-save pattern in a storm. Each new content goes
// to a temporary name and is renamed over one of 40 final names (so most
// renames replace a file); every 7th step also moves a final file to the
// other folder, as a "mv a/x b/x" would.
func (w *writer) renames() error {
	for _, d := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(w.dir, d), 0o755); err != nil {
			return err
		}
	}
	for i := 0; ; i++ {
		data := w.random(200 + w.r.IntN(20000))
		final := fmt.Sprintf("a/f%02d", w.r.IntN(40))
		tmp := fmt.Sprintf("a/.tmp%05d", i)
		if err := w.writeFile(tmp, data, 1<<20); err != nil {
			return err
		}
		w.say("open", data, final)
		if err := os.Rename(filepath.Join(w.dir, tmp), filepath.Join(w.dir, final)); err != nil {
			return err
		}
		w.say("", data, final)
		if i%7 == 6 {
			if err := w.move(final, "b/"+filepath.Base(final), data); err != nil {
				return err
			}
		}
	}
}

// move renames from to to. While the rename is under way, a kill may
// land before or after it commits: from may hold data or be free, and to
// may hold data or what it held; afterwards to holds data.
func (w *writer) move(from, to string, data []byte) error {
	w.say("open", data, to)
	w.say("gone", data, from)
	if err := os.Rename(filepath.Join(w.dir, from), filepath.Join(w.dir, to)); err != nil {
		return err
	}
	w.say("", data, to)
	return nil
}

// write creates name with data under its final name and reports it.
func (w *writer) write(name string, data []byte, chunk int) error {
	w.say("open", data, name)
	if err := w.writeFile(name, data, chunk); err != nil {
		return err
	}
	w.say("", data, name)
	return nil
}

// writeFile writes data in uneven chunks of at most chunk bytes, as a real
// writer would.
func (w *writer) writeFile(name string, data []byte, chunk int) error {
	path := filepath.Join(w.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	for off := 0; off < len(data); {
		n := min(len(data)-off, 1+w.r.IntN(chunk))
		if _, err := f.Write(data[off : off+n]); err != nil {
			f.Close()
			return err
		}
		off += n
	}
	return f.Close()
}

// say prints one line for the test: "<verb> <sha> <name>", or "<sha> <name>"
// for a closed file (the format the original crash test reads).
func (w *writer) say(verb string, data []byte, name string) {
	sum := sha256.Sum256(data)
	if verb != "" {
		verb += " "
	}
	if _, err := fmt.Printf("%s%s %s\n", verb, hex.EncodeToString(sum[:]), name); err != nil {
		os.Exit(1) // the test is gone
	}
}

// random returns n pseudo-random bytes, 8 at a time: 64 MiB must take a
// fraction of the time to the kill, or the kill lands before any write.
func (w *writer) random(n int) []byte {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], w.r.Uint64())
	}
	return b[:n]
}
