package backing

import "errors"

// Sentinel errors. Callers test them with errors.Is; vfs maps them to errno.
var (
	ErrNotFound    = errors.New("not found")
	ErrExists      = errors.New("already exists")
	ErrNotEmpty    = errors.New("directory not empty")
	ErrNotDir      = errors.New("not a directory")
	ErrIsDir       = errors.New("is a directory")
	ErrReadOnly    = errors.New("read-only place")
	ErrPermission  = errors.New("operation not permitted")
	ErrInvalid     = errors.New("invalid argument")
	ErrNameTooLong = errors.New("name too long")
	ErrFileTooBig  = errors.New("file too large")
	ErrCorrupt     = errors.New("content does not match its digest")
	ErrLocked      = errors.New("store is locked by another process")
	ErrNoStore     = errors.New("no store here")
	// ErrUnavailable: a team store's server (index or blobs) cannot be
	// reached; the error's text says why.
	ErrUnavailable = errors.New("store server unavailable")
)
