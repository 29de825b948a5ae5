//go:build linux

// Command crashwriter writes files of 1 KiB..2 MiB into a folder until it
// fails or is killed. After each file is closed it prints "<sha256> <name>"
// on one line, so the test knows exactly which files must survive a crash.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: crashwriter DIR SEED")
		os.Exit(2)
	}
	dir := os.Args[1]
	seed, _ := strconv.ParseUint(os.Args[2], 10, 64)
	r := rand.New(rand.NewPCG(seed, seed+1))
	for i := 0; ; i++ {
		// A new sub-folder every 10 files exercises mkdir too.
		name := fmt.Sprintf("d%03d/f%05d.bin", i/10, i)
		if err := writeOne(filepath.Join(dir, name), r); err != nil {
			fmt.Fprintln(os.Stderr, "crashwriter:", err)
			os.Exit(1)
		}
	}
}

func writeOne(path string, r *rand.Rand) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	// Log-uniform sizes: many small files, some large ones.
	size := 1024 << r.IntN(12) // 1 KiB .. 2 MiB
	size = max(1024, size/2+r.IntN(size/2+1))
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	// Uneven chunks, as a real writer would produce.
	for off := 0; off < len(data); {
		n := min(len(data)-off, 1+r.IntN(256<<10))
		if _, err := f.Write(data[off : off+n]); err != nil {
			f.Close()
			return err
		}
		off += n
	}
	if err := f.Close(); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	rel := filepath.Join(filepath.Base(filepath.Dir(path)), filepath.Base(path))
	_, err = fmt.Printf("%s %s\n", hex.EncodeToString(sum[:]), rel)
	return err
}
