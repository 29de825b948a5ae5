//go:build linux

// Command fsload is the workload client of the n4ws benchmark. It runs one
// workload against a directory and prints one JSON line {"ops","bytes","seconds"}.
//
// It is a separate process from both the benchmark driver and the n4ws
// server, so that the client's cost does not mix with the server's
// (STYLE.md §10, like go-fuse benchmark/stat_test.go shelling out to bulkstat).
// Only the workload itself is timed: setup such as mkdir is not.
//
//	fsload write FILE SIZE_MB     create FILE, write SIZE_MB MiB, close
//	fsload read FILE              read FILE to the end
//	fsload create DIR N SIZE      create DIR/f00000.. (N files of SIZE bytes)
//	fsload stat DIR N             lstat DIR/f00000.. one by one (no readdir)
//	fsload readsmall DIR N        open, read to the end and close each file
//	fsload pipelines DIR N        write N pipeline folders (9 files, ~0.93 MB each)
//	fsload lightpipelines DIR N P write N folders of 5 small files, P per dataset DIR/dsNNN
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// result is what fsload prints; the driver decodes the same field names.
type result struct {
	Ops     int64   `json:"ops"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
}

const chunk = 1 << 20 // 1 MiB per write/read call for the sequential workloads

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: fsload write|read|create|stat|readsmall|pipelines PATH [ARGS]")
		os.Exit(2)
	}
	r, err := run(os.Args[1], os.Args[2], os.Args[3:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "fsload:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fmt.Fprintln(os.Stderr, "fsload:", err)
		os.Exit(1)
	}
}

func run(op, path string, args []string) (result, error) {
	nums, err := atoiAll(args)
	if err != nil {
		return result{}, fmt.Errorf("%s: %w", op, err)
	}
	need := map[string]int{"write": 1, "read": 0, "create": 2, "stat": 1, "readsmall": 1, "pipelines": 1, "lightpipelines": 2}
	n, ok := need[op]
	if !ok {
		return result{}, fmt.Errorf("unknown workload %q", op)
	}
	if len(nums) != n {
		return result{}, fmt.Errorf("%s: want %d numeric args, got %d", op, n, len(nums))
	}
	switch op {
	case "write":
		return writeSeq(path, int64(nums[0])<<20)
	case "read":
		return readSeq(path)
	case "create":
		return createFiles(path, nums[0], nums[1])
	case "stat":
		return statFiles(path, nums[0])
	case "pipelines":
		return writePipelines(path, nums[0])
	case "lightpipelines":
		return writeLightPipelines(path, nums[0], nums[1])
	default:
		return readFiles(path, nums[0])
	}
}

func atoiAll(args []string) ([]int, error) {
	out := make([]int, len(args))
	for i, a := range args {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad number %q", a)
		}
		out[i] = n
	}
	return out, nil
}

// fileName is shared by create, stat and readsmall so they address the same files.
func fileName(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("f%05d", i)) }

// writeSeq times open+write+close: on the mount the close is where the
// spool is hashed and turned into a blob, so it belongs to the cost.
func writeSeq(path string, size int64) (result, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return result{}, err
	}
	// Random bytes, with each chunk stamped by its index so no two chunks are
	// equal: neither side can win by compression or dedup.
	buf := make([]byte, chunk)
	rng := rand.NewChaCha8([32]byte{1})
	_, _ = rng.Read(buf)
	start := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return result{}, err
	}
	var done int64
	for i := uint64(0); done < size; i++ {
		binary.LittleEndian.PutUint64(buf, i)
		n := min(int64(chunk), size-done)
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return result{}, err
		}
		done += n
	}
	if err := f.Close(); err != nil {
		return result{}, err
	}
	return result{Ops: 1, Bytes: done, Seconds: time.Since(start).Seconds()}, nil
}

func readSeq(path string) (result, error) {
	buf := make([]byte, chunk)
	start := time.Now()
	n, err := readAll(path, buf)
	if err != nil {
		return result{}, err
	}
	return result{Ops: 1, Bytes: n, Seconds: time.Since(start).Seconds()}, nil
}

// readAll reads like cat does: open, read until EOF, close.
func readAll(path string, buf []byte) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	for {
		n, err := f.Read(buf)
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func createFiles(dir string, n, size int) (result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return result{}, err
	}
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = byte('a' + i%26)
	}
	start := time.Now()
	for i := range n {
		// Stamp the index so each file has its own content (no dedup win).
		copy(buf, fmt.Sprintf("%08d\n", i))
		if err := os.WriteFile(fileName(dir, i), buf, 0o644); err != nil {
			return result{}, err
		}
	}
	return result{Ops: int64(n), Bytes: int64(n) * int64(size), Seconds: time.Since(start).Seconds()}, nil
}

func statFiles(dir string, n int) (result, error) {
	start := time.Now()
	for i := range n {
		if _, err := os.Lstat(fileName(dir, i)); err != nil {
			return result{}, err
		}
	}
	return result{Ops: int64(n), Seconds: time.Since(start).Seconds()}, nil
}

func readFiles(dir string, n int) (result, error) {
	buf := make([]byte, 64<<10)
	var total int64
	start := time.Now()
	for i := range n {
		got, err := readAll(fileName(dir, i), buf)
		if err != nil {
			return result{}, err
		}
		total += got
	}
	return result{Ops: int64(n), Bytes: total, Seconds: time.Since(start).Seconds()}, nil
}
