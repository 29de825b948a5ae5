package backing

import (
	"errors"
	"fmt"

	"github.com/mattn/go-sqlite3"
	"golang.org/x/sys/unix"
)

// ErrNoSpace says the store's file system is full (or the user's quota is
// used up): the index or a blob could not grow. vfs maps it to ENOSPC, so
// that writers see "No space left on device", not an I/O error.
var ErrNoSpace = errors.New("no space left in the store")

// noSpace wraps err with ErrNoSpace when it comes from a full disk: SQLite's
// SQLITE_FULL, or ENOSPC / EDQUOT from a system call. Other errors pass
// unchanged.
func noSpace(err error) error {
	if err == nil || errors.Is(err, ErrNoSpace) {
		return err
	}
	var se sqlite3.Error
	full := errors.As(err, &se) && (se.Code == sqlite3.ErrFull ||
		se.SystemErrno == unix.ENOSPC || se.SystemErrno == unix.EDQUOT)
	if full || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}
