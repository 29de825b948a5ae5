//go:build linux

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// claim makes n pipeline folders in the dataset folder dir, as parallel
// nirs4all writers do: take the highest number in the folder plus one,
// mkdir it, and on EEXIST (another writer won that number) try the next.
// Each folder gets a metrics.json naming its writer. It returns nil after
// n folders.
func (w *writer) claim(worker string, n int) error {
	for i := 0; i < n; i++ {
		name, err := w.claimOne(fmt.Sprintf("_%s_i%03d", worker, i))
		if err != nil {
			return err
		}
		metrics := fmt.Sprintf(`{"task_type": "regression", "test": {"rmse": %.6f}, "writer": %q}`+"\n", 0.1+w.r.Float64(), worker)
		if err := w.write(name+"/metrics.json", []byte(metrics), 1<<20); err != nil {
			return err
		}
	}
	return nil
}

// claimOne lists the folder once, then walks up from the highest number
// on EEXIST, as `mkdir $(n4ws runs next-id)` in a retry loop would.
func (w *writer) claimOne(suffix string) (string, error) {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return "", err
	}
	next := 1
	for _, e := range entries {
		if len(e.Name()) > 4 && e.Name()[4] == '_' {
			if n, err := strconv.Atoi(e.Name()[:4]); err == nil && n >= next {
				next = n + 1
			}
		}
	}
	for ; next <= 9999; next++ {
		name := fmt.Sprintf("%04d%s", next, suffix)
		err := os.Mkdir(filepath.Join(w.dir, name), 0o755)
		if !errors.Is(err, fs.ErrExist) {
			return name, err
		}
	}
	return "", errors.New("no free number below 10000")
}
