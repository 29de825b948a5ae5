package backing

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/mattn/go-sqlite3"
	"golang.org/x/sys/unix"
)

// A full disk reaches callers as ErrNoSpace, whether SQLite or a system
// call found it; other errors are left alone.
func TestNoSpaceClassifies(t *testing.T) {
	full := []error{
		fmt.Errorf("commit: %w", sqlite3.Error{Code: sqlite3.ErrFull}),
		sqlite3.Error{Code: sqlite3.ErrIoErr, SystemErrno: unix.ENOSPC},
		&os.PathError{Op: "write", Path: "spool/1", Err: unix.ENOSPC},
		&os.PathError{Op: "write", Path: "spool/1", Err: unix.EDQUOT},
	}
	for _, err := range full {
		if got := noSpace(err); !errors.Is(got, ErrNoSpace) || !errors.Is(got, err) {
			t.Errorf("noSpace(%v) = %v: want ErrNoSpace wrapping it", err, got)
		}
	}
	for _, err := range []error{nil, ErrNotFound, sqlite3.Error{Code: sqlite3.ErrBusy}, unix.EIO} {
		if got := noSpace(err); got != err {
			t.Errorf("noSpace(%v) = %v: want it unchanged", err, got)
		}
	}
}
