package live

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// WorkspaceIDFile, in a store's folder on this machine (Store.Dir), names
// the workspace whose store.sqlite this machine's mounts project. On a
// team store every machine has its own folder, its own native files (so
// its own store.sqlite) and so its own id, while live_pipelines is shared.
const WorkspaceIDFile = "live-workspace-id"

// workspaceID returns the id kept in dir, creating it (random) when
// missing. The file appears whole (written aside, then linked in place),
// and two processes creating it at once agree: the loser reads the
// winner's.
func workspaceID(dir string) (string, error) {
	p := filepath.Join(dir, WorkspaceIDFile)
	if id, err := readWorkspaceID(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return id, err
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	id := hex.EncodeToString(raw[:])
	tmp, err := os.CreateTemp(dir, WorkspaceIDFile+".*")
	if err != nil {
		return "", fmt.Errorf("workspace id: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.WriteString(id + "\n")
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		return "", fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := os.Link(tmp.Name(), p); errors.Is(err, fs.ErrExist) {
		return readWorkspaceID(p)
	} else if err != nil {
		return "", fmt.Errorf("workspace id: %w", err)
	}
	return id, nil
}

func readWorkspaceID(p string) (string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(string(b))
	if id == "" {
		return "", fmt.Errorf("%s: empty", p)
	}
	return id, nil
}

// CopyWorkspaceID gives the new store in dstDir the workspace id of the
// store in srcDir (`n4ws migrate`, which also copies live_pipelines and
// the native store.sqlite): the migrated store's projection then owns the
// pipelines the old one projected. A source without one copies nothing.
func CopyWorkspaceID(srcDir, dstDir string) error {
	id, err := readWorkspaceID(filepath.Join(srcDir, WorkspaceIDFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	p := filepath.Join(dstDir, WorkspaceIDFile)
	if err := os.WriteFile(p, []byte(id+"\n"), 0o644); err != nil {
		return fmt.Errorf("workspace id: %w", err)
	}
	return nil
}
