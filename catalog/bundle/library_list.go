package bundle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/n4ws/n4ws/catalog"
)

// LibraryDir is the library's folder; trained zips go in
// library/trained/<kind>/<name>.zip and templates in library/templates/.
const LibraryDir = "library"

// LibraryItem is one file of library/: a trained zip (saved by n4ws or
// copied there by a user) or a template.
type LibraryItem struct {
	Name  string    `json:"name"`
	Type  string    `json:"type"` // filtered | pipeline | fullrun | template | other
	Path  string    `json:"path"` // from the store's root
	Size  int64     `json:"size"`
	Mtime time.Time `json:"mtime"`
}

// LibraryPath is where a trained zip of kind and name lives.
func LibraryPath(kind, name string) string {
	return LibraryDir + "/trained/" + kind + "/" + name + ".zip"
}

// CheckLibraryName refuses names that cannot be one file of library/.
func CheckLibraryName(name string) error {
	switch {
	case name == "":
		return errors.New("--name is required")
	case strings.ContainsAny(name, "/\\\x00"):
		return fmt.Errorf("library name %q: no '/', '\\' or NUL allowed", name)
	case name == "." || name == ".." || strings.HasPrefix(name, "."):
		return fmt.Errorf("library name %q: must not start with '.'", name)
	case len(name) > 200:
		return fmt.Errorf("library name of %d bytes: at most 200", len(name))
	}
	return nil
}

// ListLibrary lists every file below library/, in path order.
func ListLibrary(ctx context.Context, t catalog.Tree) ([]LibraryItem, error) {
	files, err := walkTree(ctx, t, LibraryDir, LibraryDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []LibraryItem
	for _, f := range files {
		e, err := t.Stat(ctx, f.src)
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, LibraryItem{Name: libraryName(f.src), Type: libraryType(f.src), Path: f.src, Size: e.Size, Mtime: e.Mtime})
	}
	return out, nil
}

func libraryName(p string) string {
	base := path.Base(p)
	if ext := path.Ext(base); ext != "" && ext != base {
		return strings.TrimSuffix(base, ext)
	}
	return base
}

func libraryType(p string) string {
	parts := strings.Split(p, "/")
	switch {
	case len(parts) >= 2 && parts[1] == "templates":
		return "template"
	case len(parts) == 4 && parts[1] == "trained":
		for _, k := range LibraryKinds {
			if parts[2] == k && strings.HasSuffix(parts[3], ".zip") {
				return k
			}
		}
	}
	return "other"
}

// FindLibrary returns the library items named name (a file name with or
// without its extension, or a path below library/).
func FindLibrary(items []LibraryItem, name string) []LibraryItem {
	var out []LibraryItem
	for _, it := range items {
		rel := strings.TrimPrefix(it.Path, LibraryDir+"/")
		if it.Name == name || path.Base(it.Path) == name || rel == name || it.Path == name ||
			strings.TrimPrefix(rel, "trained/") == name+".zip" || strings.TrimPrefix(rel, "trained/") == name {
			out = append(out, it)
		}
	}
	return out
}

// ReadMeta returns n4ws_bundle.json of a checked zip, nil when the
// zip has none (a zip a user made).
func ReadMeta(entries []*ZipEntry) (*Meta, error) {
	for _, e := range entries {
		if e.Path != MetaFile {
			continue
		}
		if e.Size > bundleMetaMaxSize {
			return nil, fmt.Errorf("%s of %d bytes: too large", MetaFile, e.Size)
		}
		r, err := e.Open()
		if err != nil {
			return nil, err
		}
		defer r.Close()
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", MetaFile, err)
		}
		var m Meta
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", MetaFile, err)
		}
		return &m, nil
	}
	return nil, nil
}
