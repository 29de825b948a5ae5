package backing

import (
	"context"
	"fmt"
)

// Exclusive work across mounts: some derived work (the catalog's refresh)
// must be done by one process at a time over every machine that shares the
// index, so that a change is handled once rather than once per mount. It
// is not the write lock: the work reads for a while and writes only at the
// end, and writers must not wait for its reads.

// exclusiveEngine is an index engine that can hold a named lock across
// processes and machines (PostgreSQL's advisory locks); an engine without
// it (SQLite, one machine) leaves the work to each process's own lock.
type exclusiveEngine interface {
	// Exclusive waits until it holds the lock named name, and returns
	// what releases it. The lock goes with the process if it dies.
	Exclusive(ctx context.Context, name string) (release func(), err error)
}

// Exclusive waits until this process is the only one, over every machine
// sharing the store's index, doing the work called name, and returns what
// ends that. With an index only this machine opens, it returns at once:
// the caller's own mutex is enough there.
func (s *Store) Exclusive(ctx context.Context, name string) (release func(), err error) {
	e, ok := s.idx.(exclusiveEngine)
	if !ok {
		return func() {}, nil
	}
	release, err = e.Exclusive(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("wait for %s: %w", name, err)
	}
	return release, nil
}
