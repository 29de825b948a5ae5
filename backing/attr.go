package backing

import (
	"database/sql"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// NodeFlags mark the workspace skeleton.
type NodeFlags uint32

const (
	// FlagPinned: the node cannot be removed or renamed.
	FlagPinned NodeFlags = 1 << iota
	// FlagReadOnly: the directory's children cannot be added, removed or
	// renamed through the filesystem (computed or archive places).
	FlagReadOnly
)

// Attr is a node's metadata.
type Attr struct {
	Ino    uint64
	Mode   uint32 // st_mode: type bits | permissions
	Uid    uint32
	Gid    uint32
	Size   int64
	Nlink  uint32
	Atime  time.Time
	Mtime  time.Time
	Ctime  time.Time
	Rdev   uint32
	Flags  NodeFlags
	Blob   Digest // zero for empty files and non-files
	Target string // symlink target
}

// IsDir reports whether the node is a directory.
func (a *Attr) IsDir() bool { return a.Mode&syscall.S_IFMT == syscall.S_IFDIR }

// IsRegular reports whether the node is a regular file.
func (a *Attr) IsRegular() bool { return a.Mode&syscall.S_IFMT == syscall.S_IFREG }

// nodeColumns is the column list scanAttr expects, in order: the number,
// then nodeDataColumns, the columns an insert sets (nodeValues).
const (
	nodeColumns     = `ino, ` + nodeDataColumns
	nodeDataColumns = `mode, uid, gid, size, nlink, atime_ns, mtime_ns, ctime_ns, rdev, flags, blob, target`
)

type rowScanner interface{ Scan(dest ...any) error }

// scanAttr reads nodeColumns; lead receives any columns selected before them.
func scanAttr(r rowScanner, lead ...any) (Attr, error) {
	var a Attr
	var at, mt, ct int64
	var blob, target []byte
	err := r.Scan(append(lead, &a.Ino, &a.Mode, &a.Uid, &a.Gid, &a.Size, &a.Nlink, &at, &mt, &ct, &a.Rdev, &a.Flags, &blob, &target)...)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, err
	}
	a.Atime, a.Mtime, a.Ctime = time.Unix(0, at), time.Unix(0, mt), time.Unix(0, ct)
	a.Blob = digestFromBytes(blob)
	a.Target = string(target)
	return a, nil
}

// checkName rejects names that no directory may hold.
func checkName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("name %q: %w", name, ErrInvalid)
	case len(name) > 255:
		return fmt.Errorf("name of %d bytes: %w", len(name), ErrNameTooLong)
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return fmt.Errorf("name %q: %w", name, ErrInvalid)
		}
	}
	return nil
}
